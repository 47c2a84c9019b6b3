/**
 * Test helper: a LeaderView for a node that never leads, naming the leader the election would pick
 * among the connected candidates (the real ranking, `electLeader` of protocol/planner-election.ts)
 * at term 0. Nodes use the election itself (node/planner/election.ts).
 */

import type { LeaderInfo, LeaderView } from '../../node/planner/leader-view.ts'
import { electLeader } from '../../protocol/planner-election.ts'
import { isCommandCenterRole, type NodeRole } from '../../protocol/roles.ts'

export interface PlannerCandidate {
  deviceId: string
  role: NodeRole | undefined
  connected: boolean
}

export function observedLeader(candidates: () => readonly PlannerCandidate[]): LeaderView {
  const leader = (): LeaderInfo | undefined => {
    const best = electLeader(
      candidates().flatMap((candidate) =>
        candidate.connected && isCommandCenterRole(candidate.role)
          ? [{ deviceId: candidate.deviceId, role: candidate.role }]
          : [],
      ),
    )
    return best === undefined ? undefined : { deviceId: best.deviceId, term: 0 }
  }
  return { leader, isLeader: () => false, onChange: () => () => {} }
}
