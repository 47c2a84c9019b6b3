/**
 * How an actuator node says that it moved an actuator to its safe state on its own initiative — a
 * bounded action reaching its end, an action found past its end at start, the fail-safe watchdog:
 * an `execution` frame (T3, `trigger` names why; the console and the command center see it as any
 * execution), the actuator's state observations, an `execution` entry in the evidence log, a counter
 * `actuator.safe-state.<trigger>`, a mesh event and a log line.
 */
import type { Frame, LocalFrameFields } from '../../protocol/context/index.ts'
import type { Counters } from '../../runtime/counters.ts'
import type { SafeStateReport } from '../devices/action-timers.ts'
import type { EventRing } from '../mesh/event-ring.ts'
import type { EvidenceLogWriter } from './evidence-log-writer.ts'

export interface SafeStateRecordsInit {
  publish(fields: LocalFrameFields, options?: { urgent?: boolean }): Promise<Frame>
  evidence(): Pick<EvidenceLogWriter, 'append'>
  counters: Pick<Counters, 'increment'>
  events: Pick<EventRing, 'push'>
  log(line: string): void
}

export function createSafeStateRecords(
  init: SafeStateRecordsInit,
): (report: SafeStateReport) => Promise<void> {
  return async (report) => {
    const { capability, trigger, detail, outcome, action } = report
    init.counters.increment(`actuator.safe-state.${trigger}`)
    const data = {
      capability,
      operation: 'drive-safe',
      trigger,
      detail,
      status: 'completed',
      result: { open: outcome.state.open, changed: outcome.changed, state: outcome.state },
      // The proposal whose action this ended; named apart from `proposalId` so no one reads this
      // frame as that proposal's own execution.
      ...(action?.proposalId === undefined ? {} : { endsProposalId: action.proposalId }),
    }
    const [frame] = await Promise.all([
      init.publish(
        { kind: 'execution', data, trust: { tier: 'T3', sources: [capability] } },
        { urgent: true },
      ),
      ...outcome.observations.map((observation) =>
        init.publish({
          kind: 'observation',
          data: observation,
          trust: { tier: 'T3', sources: [capability] },
        }),
      ),
    ])
    await init.evidence().append('execution', { ...data, frameId: frame.frameId })
    init.events.push({
      level: trigger === 'action-ended' ? 'info' : 'warn',
      type: `actuator.safe-state.${trigger}`,
      message: `${capability} went to its safe state (${trigger}): ${detail}`,
    })
    init.log(`${capability} → safe state (${trigger}): ${detail}`)
  }
}
