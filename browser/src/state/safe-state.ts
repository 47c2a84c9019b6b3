/**
 * "Close this valve now" from the Twin: a proposal for the operation the actuator's manifest marks
 * `safeState`, authored by this operator (`proposal.create`), at the level the manifest gives it. It
 * takes the normal path: the command center runs the one policy as sender (a safe-state operation
 * by a certified operator needs no evidence and no second person — stopping is never blocked), the
 * actuator runs it again before it moves the device. Nothing here reaches the actuator directly.
 */
import type { SetStoreFunction } from 'solid-js/store'
import type { ConsoleSite } from '../../../protocol/console-config.ts'
import type { CommandCenterRpc } from '../mesh/command-center-rpc.ts'
import type { Refusal } from './command-center-refusal.ts'
import { type DecisionOutcome, decisionFailure } from './decisions.ts'
import type { ProposalEdits } from './mesh-polling.ts'
import type { MeshState } from './mesh-state.ts'
import { refusalSummary } from './proposal-refusal.ts'

export interface SafeStateTarget {
  readonly capability: string
  readonly operation: string
}

/** Per actuator (site ID, the `source` of its frames), what moves it to its safe state. */
export function safeStateTargets(site: ConsoleSite | undefined): ReadonlyMap<string, SafeStateTarget> {
  const targets = new Map<string, SafeStateTarget>()
  for (const zone of site?.zones ?? []) {
    for (const actuator of zone.actuators) {
      if (actuator.capability !== undefined && actuator.safeStateOperation !== undefined)
        targets.set(actuator.id, { capability: actuator.capability, operation: actuator.safeStateOperation })
    }
  }
  return targets
}

export interface SafeState {
  moveToSafeState(target: SafeStateTarget): Promise<DecisionOutcome>
}

export function createSafeState(init: {
  readonly rpc: Pick<CommandCenterRpc, 'call'>
  readonly setState: SetStoreFunction<MeshState>
  readonly proposalEdits: ProposalEdits
  readonly refusal: Refusal
}): SafeState {
  return {
    async moveToSafeState(target) {
      try {
        const { proposal: record } = await init.rpc.call('proposal.create', {
          capability: target.capability,
          operation: target.operation,
        })
        init.proposalEdits.mark()
        init.setState('proposals', (current) => [
          record,
          ...current.filter((entry) => entry.hash !== record.hash),
        ])
        const refused = refusalSummary(record)
        if (refused !== undefined) return { ok: false, message: `${refused.code}: ${refused.detail}` }
        const ok = record.state === 'completed' || record.state === 'executing' || record.state === 'approved'
        return {
          ok,
          message: `${target.operation} ${record.state.replace('_', ' ')}${record.reason === undefined ? '' : `: ${record.reason}`}`,
        }
      } catch (error) {
        init.refusal.note(error)
        return decisionFailure(error)
      }
    },
  }
}
