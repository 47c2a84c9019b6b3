/**
 * How a proposal ended, as the `outcome` evidence entry records it: the node that tracks proposals
 * (a command center) appends one each time a proposal reaches a terminal state. Its proposal store
 * keeps only the recent ones (node/safety/constants.ts, PROPOSAL_STORE_MAX_TERMINAL); this entry is
 * the permanent record an auditor, `clawmesh evidence` and the chaos loop's invariant checker read
 * for older ones. Written here once because the node writes it and auditors read it.
 */
import { z } from 'zod'
import { PROPOSAL_NOTE_MAX_LENGTH } from './constants.ts'
import { proposalRefusalSchema, proposalStateSchema } from './proposal-record.ts'
import { type ProposalState, TERMINAL_PROPOSAL_STATES } from './proposal-state.ts'
import { opaqueIdSchema, sha256HexSchema, timestampSchema } from './schemas.ts'

export const proposalOutcomeEntrySchema = z.strictObject({
  hash: sha256HexSchema,
  proposalId: opaqueIdSchema,
  state: proposalStateSchema.refine((state) => TERMINAL_PROPOSAL_STATES.has(state), {
    message: 'an outcome names a terminal proposal state',
  }),
  /** Why it failed, expired, was rejected or cancelled. */
  reason: z.string().max(PROPOSAL_NOTE_MAX_LENGTH).optional(),
  /** What the execution reported (a completed one). */
  outcome: z.string().max(PROPOSAL_NOTE_MAX_LENGTH).optional(),
  refusal: proposalRefusalSchema.optional(),
  /** When the proposal store recorded the ending (the entry's own `at` is when it was logged). */
  endedAt: timestampSchema,
  /** Logged at the node's next start: it crashed after the store recorded the ending and before
   * this entry was on disk. */
  loggedAtRestart: z.literal(true).optional(),
})
export type ProposalOutcomeEntry = z.infer<typeof proposalOutcomeEntrySchema>

/** The fields of an ended proposal record the entry keeps. */
export interface EndedProposal {
  readonly hash: string
  readonly proposal: { readonly id: string }
  readonly state: ProposalState
  readonly reason?: string | undefined
  readonly outcome?: string | undefined
  readonly refusal?: ProposalOutcomeEntry['refusal'] | undefined
  readonly updatedAt: number
}

export function proposalOutcomeEntry(
  record: EndedProposal,
  options: { loggedAtRestart?: boolean } = {},
): ProposalOutcomeEntry {
  return {
    hash: record.hash,
    proposalId: record.proposal.id,
    state: record.state,
    ...(record.reason === undefined ? {} : { reason: record.reason }),
    ...(record.outcome === undefined ? {} : { outcome: record.outcome }),
    ...(record.refusal === undefined ? {} : { refusal: record.refusal }),
    endedAt: record.updatedAt,
    ...(options.loggedAtRestart === true ? { loggedAtRestart: true as const } : {}),
  }
}
