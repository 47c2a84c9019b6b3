/** Proposals and the commands that carry them out: create, list, read, approve, reject, execute. */
import { z } from 'zod'
import { frameSchema } from '../../context/frame.ts'
import {
  DEVICE_ID_FIELD_MAX_LENGTH,
  OPERATION_NAME_MAX_LENGTH,
  PROPOSAL_MIN_TTL_MS,
  PROPOSAL_REF_MAX_LENGTH,
} from '../../limits.ts'
import { capabilitySchema } from '../../roles.ts'
import { approvalCertificateSchema, OPERATOR_LINKS } from '../../safety/approval.ts'
import { certifiedCommandSchema } from '../../safety/command.ts'
import {
  PROPOSAL_MAX_EVIDENCE,
  PROPOSAL_MAX_LIFETIME_MS,
  SAFETY_ID_MAX_LENGTH,
} from '../../safety/constants.ts'
import { APPROVAL_LEVELS } from '../../safety/proposal.ts'
import {
  type ProposalRecord,
  proposalRecordSchema,
  proposalStateSchema,
} from '../../safety/proposal-record.ts'
import { signed } from '../signed.ts'
import { method } from './define.ts'

export { proposalRecordSchema }
/** The proposal record as answers carry it (`protocol/safety/proposal-record.ts`). */
export type ProposalRecordWire = ProposalRecord

export const proposalCreateParamsSchema = z
  .object({
    capability: capabilitySchema,
    operation: z.string().nonempty().max(OPERATION_NAME_MAX_LENGTH),
    args: z.record(z.string(), z.json()).optional(),
    /** Defaults to the node the site model assigns the capability to, else a live provider. */
    targetNode: z.string().max(DEVICE_ID_FIELD_MAX_LENGTH).optional(),
    /** Defaults to the level the capability manifest declares for the operation. */
    level: z.enum(APPROVAL_LEVELS).optional(),
    /** Frame IDs cited as evidence; their tiers are read from this node's world model, never taken from the caller. */
    evidence: z.array(z.string().max(SAFETY_ID_MAX_LENGTH)).max(PROPOSAL_MAX_EVIDENCE).optional(),
    ttlMs: z.number().int().min(PROPOSAL_MIN_TTL_MS).max(PROPOSAL_MAX_LIFETIME_MS).optional(),
  })
  .strict()
export type ProposalCreateParams = z.infer<typeof proposalCreateParamsSchema>

const proposalRefSchema = z.object({ id: z.string().nonempty().max(PROPOSAL_REF_MAX_LENGTH) }).strict()

/** The approval is the operator's signed decision; the policy verifies it and answers a bad one
 * with a refusal verdict (counted, and kept in the evidence log), so it crosses as a signed record. */
export const proposalDecisionParamsSchema = z
  .object({
    id: z.string().nonempty().max(PROPOSAL_REF_MAX_LENGTH),
    approval: signed(approvalCertificateSchema),
    /** Set only by a planner forwarding the decision to the leader: the link it observed the
     * approval arrive over. Believed only from a command center the receiver obeys. */
    observedLink: z.enum(OPERATOR_LINKS).optional(),
  })
  .strict()
export type ProposalDecisionParams = z.infer<typeof proposalDecisionParamsSchema>

export const proposalDecisionResultSchema = z.object({
  proposal: proposalRecordSchema,
  verdict: z.enum(['allow', 'pending', 'rejected']),
  detail: z.string(),
  /** When the approval let the proposal run: the actuator's `execution` frame, handed back with the
   * answer (verifiable on its own: origin signature and batch proof). */
  executionFrame: frameSchema.optional(),
})

/** The certified command is checked by the actuator's own policy run, which refuses a bad one with
 * a verdict: it crosses as a signed record. */
export const actuatorExecuteParamsSchema = z.object({ command: signed(certifiedCommandSchema) }).strict()
export const actuatorExecuteResultSchema = z.object({
  proposalHash: z.string(),
  status: z.enum(['completed', 'failed']),
  result: z.record(z.string(), z.unknown()),
  executionFrameId: z.string().optional(),
  /** The `execution` frame itself (signed by the actuator, with its batch proof). */
  executionFrame: frameSchema.optional(),
})

export const PROPOSAL_METHODS = {
  'proposal.create': method({
    params: proposalCreateParamsSchema,
    result: z.object({ proposal: proposalRecordSchema, merged: z.boolean() }),
    access: 'peer',
    description: 'Creates a proposal authored by the caller (merged with a duplicate inside the window).',
  }),
  'proposal.list': method({
    params: z.object({ state: proposalStateSchema.optional() }).strict().optional(),
    result: z.object({
      proposals: z.array(proposalRecordSchema),
      /** More proposals than fit in one answer (RPC_ANSWER_FRAMES_MAX_BYTES): the open ones are all
       * there, and the newest ended ones that fit; ask by `state` for the rest. */
      truncated: z.boolean().optional(),
    }),
    access: 'peer',
    description: 'Proposals known to this command center, newest first.',
  }),
  'proposal.get': method({
    params: proposalRefSchema,
    result: z.object({ proposal: proposalRecordSchema }),
    access: 'peer',
    description: 'One proposal by id or hash.',
  }),
  'proposal.approve': method({
    params: proposalDecisionParamsSchema,
    result: proposalDecisionResultSchema,
    access: 'peer',
    description:
      'Adds an operator-signed approval; when the policy allows, the runtime executes the proposal.',
  }),
  'proposal.reject': method({
    params: proposalDecisionParamsSchema,
    result: proposalDecisionResultSchema,
    access: 'peer',
    description: 'Adds an operator-signed rejection; the proposal is rejected and nothing moves.',
  }),
  'actuator.execute': method({
    params: actuatorExecuteParamsSchema,
    result: actuatorExecuteResultSchema,
    access: 'peer',
    description: 'Executes a certified command on this actuator node after running the policy itself.',
  }),
} as const
