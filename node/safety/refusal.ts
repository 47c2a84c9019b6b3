/**
 * How a hop refuses a proposal: counted (`safety.refused.<code>`), appended to the evidence log,
 * pushed as a mesh event, and thrown as POLICY_DENIED with the code in its data. The forwarder
 * (`sender`, `forwarder`) and the actuator gate (`actuator`) refuse the same way.
 */
import { ClawMeshError } from '../../protocol/errors.ts'
import {
  PROPOSAL_NOTE_MAX_LENGTH,
  type Proposal,
  type ProposalRefusal,
  proposalHash,
  proposalRefusalSchema,
} from '../../protocol/safety/index.ts'
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
  throw new ClawMeshError('POLICY_DENIED', `${hop} refused (${code}): ${detail}`, {
    data: { code, hop, detail },
  })
}

/** The refusal a hop's error names (POLICY_DENIED, STALE_LEADER_TERM, … with `data.code`), as the
 * proposal record keeps it; undefined for an error that is not a refusal (a device failure, a
 * timeout). A command the actuator refused carries no `hop` when it came from an older node: it is
 * the actuator's. */
export function refusalOf(error: unknown): ProposalRefusal | undefined {
  if (!(error instanceof ClawMeshError) || typeof error.data?.['code'] !== 'string') return undefined
  const parsed = proposalRefusalSchema.safeParse({
    code: error.data['code'],
    hop: error.data['hop'] ?? 'actuator',
    detail: String(error.data['detail'] ?? error.message).slice(0, PROPOSAL_NOTE_MAX_LENGTH),
  })
  return parsed.success ? parsed.data : undefined
}
