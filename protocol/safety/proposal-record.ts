/**
 * A proposal as a command center keeps it and answers it over RPC: the signed-for proposal, where
 * the state machine has it, the approvals collected so far and how it ended. The node's store adds
 * the evidence frames it keeps for the command (`node/safety/proposal-store.ts`); answers leave
 * them out so a list of proposals stays small.
 */
import { z } from 'zod'
import { approvalCertificateSchema, OPERATOR_LINKS } from './approval.ts'
import {
  COMMAND_MAX_APPROVALS,
  PROPOSAL_NOTE_MAX_LENGTH,
  PROPOSAL_REFUSAL_CODE_MAX_LENGTH,
} from './constants.ts'
import { operatorCertificateSchema } from './operator-certificate.ts'
import { proposalSchema } from './proposal.ts'
import { PROPOSAL_STATES } from './proposal-state.ts'
import { sha256HexSchema, timestampSchema } from './schemas.ts'

export const proposalStateSchema = z.enum(PROPOSAL_STATES)

/** Why a hop refused the proposal, as the hop said it: its code (a policy denial code such as
 * `stale-evidence` or `guard-failed`, or a hop's own such as `unbound-target`), which hop, and the
 * detail. Kept apart from `reason` so a console or the CLI shows the code without parsing a sentence. */
export const proposalRefusalSchema = z.strictObject({
  code: z
    .string()
    .regex(/^[a-z0-9-]+$/)
    .max(PROPOSAL_REFUSAL_CODE_MAX_LENGTH),
  hop: z.enum(['sender', 'forwarder', 'actuator']),
  detail: z.string().max(PROPOSAL_NOTE_MAX_LENGTH),
})
export type ProposalRefusal = z.infer<typeof proposalRefusalSchema>

export const proposalRecordSchema = z.strictObject({
  hash: sha256HexSchema,
  proposal: proposalSchema,
  state: proposalStateSchema,
  approvals: z.array(approvalCertificateSchema).max(COMMAND_MAX_APPROVALS),
  /** Why it was rejected, failed or expired. */
  reason: z.string().max(PROPOSAL_NOTE_MAX_LENGTH).optional(),
  /** Set when a hop refused it (the actuator at execution, an operator's rejection). */
  refusal: proposalRefusalSchema.optional(),
  /** What the execution reported. */
  outcome: z.string().max(PROPOSAL_NOTE_MAX_LENGTH).optional(),
  /** Duplicates merged into this proposal. */
  mergedCount: z.number().int().nonnegative(),
  /** Per approval nonce, the link this command center observed the approval arrive over. */
  observedLinks: z.record(z.string(), z.enum(OPERATOR_LINKS)).optional(),
  /** The certificate this command center holds on record for an operator author, carried to the
   * actuator so it can check an L1 or safe-state author itself. */
  authorCertificate: operatorCertificateSchema.optional(),
  receivedAt: timestampSchema,
  updatedAt: timestampSchema,
})
export type ProposalRecord = z.infer<typeof proposalRecordSchema>
