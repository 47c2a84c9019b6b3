/**
 * How a hop refuses a proposal: counted (`safety.refused.<code>`), appended to the evidence log,
 * pushed as a mesh event, and thrown as POLICY_DENIED with the code in its data. The forwarder
 * (`sender`, `forwarder`) and the actuator gate (`actuator`) refuse the same way.
 */
import { ClawMeshError } from '../../protocol/errors.ts'
import { type Proposal, proposalHash } from '../../protocol/safety/index.ts'
import type { Counters } from '../../runtime/counters.ts'
import type { EventRing } from '../mesh/event-ring.ts'
import type { EvidenceLogWriter } from './evidence-log-writer.ts'

export interface RefusalRecords {
  counters: Pick<Counters, 'increment'>
  events: Pick<EventRing, 'push'>
  evidence: Pick<EvidenceLogWriter, 'append'>
}

export async function refuseProposal(
  records: RefusalRecords,
  hop: string,
  proposal: Proposal,
  code: string,
  detail: string,
): Promise<never> {
  records.counters.increment(`safety.refused.${code}`)
  await records.evidence.append('refusal', {
    hop,
    proposalId: proposal.id,
    hash: proposalHash(proposal),
    code,
    detail,
  })
  records.events.push({
    level: 'warn',
    type: `safety.refused.${code}`,
    message: `${hop} refused proposal ${proposal.id}: ${detail}`,
  })
  throw new ClawMeshError('POLICY_DENIED', `${hop} refused (${code}): ${detail}`, { data: { code } })
}
