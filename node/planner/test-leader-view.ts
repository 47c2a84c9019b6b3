/**
 * Test helper: a LeaderView for a node that never leads, naming the best connected planner among
 * fixed candidates (role `planner` before `standby-planner`, then the lowest device ID, as the
 * election ranks them) at term 0. Nodes use the election (node/planner/election.ts).
 */
import type { NodeRole } from '../../protocol/roles.ts'
import type { LeaderInfo, LeaderView } from './leader-view.ts'

export interface PlannerCandidate {
  deviceId: string
  role: NodeRole | undefined
  connected: boolean
}

const RANK: Partial<Record<NodeRole, number>> = { planner: 0, 'standby-planner': 1 }

export function observedLeader(candidates: () => readonly PlannerCandidate[]): LeaderView {
  const leader = (): LeaderInfo | undefined => {
    const best = candidates()
      .filter(
        (candidate) =>
          candidate.connected && candidate.role !== undefined && RANK[candidate.role] !== undefined,
      )
      .sort(
        (a, b) =>
          (RANK[a.role as NodeRole] as number) - (RANK[b.role as NodeRole] as number) ||
          (a.deviceId < b.deviceId ? -1 : a.deviceId > b.deviceId ? 1 : 0),
      )[0]
    return best === undefined ? undefined : { deviceId: best.deviceId, term: 0 }
  }
  return { leader, isLeader: () => false, onChange: () => () => {} }
}
