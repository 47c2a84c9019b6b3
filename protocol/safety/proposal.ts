/**
 * Proposals: what someone (the planner or an operator) wants an actuator to do, and why. The
 * proposal hash binds every field, so an approval for "open valve 1 for 60 s" can never be used to
 * open valve 2 or to keep valve 1 open for an hour.
 */
import { z } from 'zod'
import { canonicalHash, canonicalJson } from '../canonical.ts'
import { deviceIdSchema } from '../device-id.ts'
import { capabilitySchema } from '../roles.ts'
import {
  PROPOSAL_ARGS_MAX_BYTES,
  PROPOSAL_DEDUP_MAX_ENTRIES,
  PROPOSAL_DEDUP_WINDOW_MS,
  PROPOSAL_MAX_EVIDENCE,
  PROPOSAL_MAX_LIFETIME_MS,
  SAFETY_ID_MAX_LENGTH,
} from './constants.ts'
import { opaqueIdSchema, timestampSchema } from './schemas.ts'

/**
 * Approval levels, from harmless to dangerous:
 * - L0: read-only; runs without approval.
 * - L1: bounded auto-execute; only for operations whose capability manifest declares bounds, with
 *   arguments inside them, and never on LLM-only evidence.
 * - L2: one operator (role operator or admin) approves.
 * - L3: two distinct operators approve, at least one on a local or LAN link.
 */
export const APPROVAL_LEVELS = ['L0', 'L1', 'L2', 'L3'] as const
export const approvalLevelSchema = z.enum(APPROVAL_LEVELS)
export type ApprovalLevel = z.infer<typeof approvalLevelSchema>

/**
 * How far a piece of evidence can be trusted:
 * - T0: LLM-only or inferred — a model said so, nothing measured it. Never enough to actuate.
 * - T1: one sensor reading, not cross-checked (a single probe can be stuck or spoofed).
 * - T2: corroborated — independent sensors or nodes agree.
 * - T3: verified by a person on site, or confirmed by the actuator's own feedback.
 */
export const TRUST_TIERS = ['T0', 'T1', 'T2', 'T3'] as const
export const trustTierSchema = z.enum(TRUST_TIERS)
export type TrustTier = z.infer<typeof trustTierSchema>

export const evidenceRefSchema = z.strictObject({ frameId: opaqueIdSchema, tier: trustTierSchema })
export type EvidenceRef = z.infer<typeof evidenceRefSchema>

/** Recorded by the command center from its own records, never from the caller: `operator` when
 * the caller holds a certificate it verified, `planner` for its own planner, `device` for any other
 * trusted key. */
export const PROPOSAL_AUTHOR_KINDS = ['planner', 'operator', 'device'] as const
/** `id` is the planner node's device ID, the operator's ID or the device's ID (Ed25519 peer IDs). */
export const proposalAuthorSchema = z.strictObject({
  kind: z.enum(PROPOSAL_AUTHOR_KINDS),
  id: deviceIdSchema,
})

const operationSchema = z
  .string()
  .max(SAFETY_ID_MAX_LENGTH)
  .regex(/^[a-z][a-z0-9._-]*$/, 'operations are lowercase names such as "open"')

export const proposalArgsSchema = z
  .record(z.string().max(SAFETY_ID_MAX_LENGTH), z.json())
  .refine((args) => canonicalJson(args).length <= PROPOSAL_ARGS_MAX_BYTES, {
    message: `arguments must encode to at most ${PROPOSAL_ARGS_MAX_BYTES} bytes`,
  })

export const proposalSchema = z
  .strictObject({
    version: z.literal(1),
    id: opaqueIdSchema,
    capability: capabilitySchema,
    targetNode: deviceIdSchema,
    operation: operationSchema,
    args: proposalArgsSchema,
    level: approvalLevelSchema,
    evidence: z.array(evidenceRefSchema).max(PROPOSAL_MAX_EVIDENCE),
    author: proposalAuthorSchema,
    createdAt: timestampSchema,
    expiresAt: timestampSchema,
    /** Planner leader term at creation; actuators refuse terms older than the current one. */
    leaderTerm: z.number().int().nonnegative().optional(),
  })
  .refine((p) => p.expiresAt > p.createdAt, {
    message: 'expiresAt must be after createdAt',
    path: ['expiresAt'],
  })
  .refine((p) => p.expiresAt - p.createdAt <= PROPOSAL_MAX_LIFETIME_MS, {
    message: `a proposal may live at most ${PROPOSAL_MAX_LIFETIME_MS} ms`,
    path: ['expiresAt'],
  })
export type Proposal = z.infer<typeof proposalSchema>

/** The fields a proposal hash covers, picked explicitly so an extra property smuggled onto an
 * object can neither change the hash nor ride along unhashed. */
function hashedFields(proposal: Proposal): Proposal {
  return {
    version: proposal.version,
    id: proposal.id,
    capability: proposal.capability,
    targetNode: proposal.targetNode,
    operation: proposal.operation,
    args: proposal.args,
    level: proposal.level,
    evidence: proposal.evidence.map((ref) => ({ frameId: ref.frameId, tier: ref.tier })),
    author: { kind: proposal.author.kind, id: proposal.author.id },
    createdAt: proposal.createdAt,
    expiresAt: proposal.expiresAt,
    leaderTerm: proposal.leaderTerm,
  }
}

/** SHA-256 of the proposal's canonical JSON; approvals and commands name a proposal by this. */
export function proposalHash(proposal: Proposal): string {
  return canonicalHash({ kind: 'clawmesh-proposal', proposal: hashedFields(proposal) })
}

/** Same hash for proposals that would do the same thing, whoever proposed it and whenever. */
export function duplicateKey(
  proposal: Pick<Proposal, 'targetNode' | 'capability' | 'operation' | 'args'>,
): string {
  return canonicalHash({
    kind: 'clawmesh-proposal-action',
    targetNode: proposal.targetNode,
    capability: proposal.capability,
    operation: proposal.operation,
    args: proposal.args,
  })
}

/** True when every evidence item is T0, including when there is none: nothing measured backs it. */
export function isLlmOnlyEvidence(evidence: readonly EvidenceRef[]): boolean {
  return evidence.every((ref) => ref.tier === 'T0')
}

export type DeduplicationOutcome =
  | { readonly outcome: 'new' }
  | { readonly outcome: 'duplicate'; readonly originalId: string; readonly firstSeenAt: number }

export interface ProposalDeduplicatorInit {
  readonly windowMs?: number
  readonly maxEntries?: number
}

/**
 * Merges proposals that repeat an action seen within the window. Time is passed in, never read,
 * so behaviour is the same in tests, replays and on every node.
 */
export class ProposalDeduplicator {
  readonly #windowMs: number
  readonly #maxEntries: number
  /** duplicateKey → first proposal with that key; Map keeps insertion (= first-seen) order. */
  readonly #seen = new Map<string, { readonly id: string; readonly at: number }>()

  constructor(init: ProposalDeduplicatorInit = {}) {
    this.#windowMs = init.windowMs ?? PROPOSAL_DEDUP_WINDOW_MS
    this.#maxEntries = init.maxEntries ?? PROPOSAL_DEDUP_MAX_ENTRIES
  }

  /** Records the proposal if its action is new in the window; otherwise names the original. */
  admit(proposal: Proposal, now: number): DeduplicationOutcome {
    this.#forgetBefore(now - this.#windowMs)
    const key = duplicateKey(proposal)
    const original = this.#seen.get(key)
    if (original !== undefined && original.id !== proposal.id) {
      return { outcome: 'duplicate', originalId: original.id, firstSeenAt: original.at }
    }
    if (original === undefined) {
      if (this.#seen.size >= this.#maxEntries) {
        const oldest = this.#seen.keys().next()
        if (oldest.done !== true) this.#seen.delete(oldest.value)
      }
      this.#seen.set(key, { id: proposal.id, at: now })
    }
    return { outcome: 'new' }
  }

  get size(): number {
    return this.#seen.size
  }

  #forgetBefore(cutoff: number): void {
    // Scans every entry rather than stopping at the first fresh one: `now` from different callers
    // is not guaranteed to be monotonic, so insertion order need not be time order.
    for (const [key, entry] of this.#seen) {
      if (entry.at <= cutoff) this.#seen.delete(key)
    }
  }
}
