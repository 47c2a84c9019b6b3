/**
 * Proposals this node tracks, with their lifecycle state, the approvals collected so far and how
 * they ended: `<stateDir>/safety/proposals.json`, rewritten atomically on every change. The
 * protocol's `transition` decides every move, so the store cannot put a proposal in a state the
 * state machine forbids. After a restart, expired proposals are closed and approved or executing
 * ones are handed back through `resumable()` for the runtime to finish.
 */
import { join } from 'node:path'
import { z } from 'zod'
import {
  type ApprovalCertificate,
  approvalCertificateSchema,
  COMMAND_MAX_APPROVALS,
  PROPOSAL_STATES,
  type Proposal,
  ProposalDeduplicator,
  type ProposalEvent,
  type ProposalState,
  proposalHash,
  proposalSchema,
  TERMINAL_PROPOSAL_STATES,
  type TransitionRejection,
  transition,
} from '../../protocol/safety/index.ts'
import { describeIssues, sha256HexSchema, timestampSchema } from '../../protocol/safety/schemas.ts'
import { readJsonFile, StateFileError, writeJsonAtomic } from '../state/atomic-file.ts'
import { PROPOSAL_STORE_MAX_TERMINAL } from './constants.ts'
import { SerialQueue } from './durable-append.ts'

export function proposalStorePath(stateDir: string): string {
  return join(stateDir, 'safety', 'proposals.json')
}

const NOTE_MAX_LENGTH = 1_000

const storedProposalSchema = z.strictObject({
  hash: sha256HexSchema,
  proposal: proposalSchema,
  state: z.enum(PROPOSAL_STATES),
  approvals: z.array(approvalCertificateSchema).max(COMMAND_MAX_APPROVALS),
  /** Why it was rejected, failed or expired. */
  reason: z.string().max(NOTE_MAX_LENGTH).optional(),
  /** What the execution reported. */
  outcome: z.string().max(NOTE_MAX_LENGTH).optional(),
  /** Duplicates merged into this proposal. */
  mergedCount: z.number().int().nonnegative(),
  receivedAt: timestampSchema,
  updatedAt: timestampSchema,
})
export type StoredProposal = z.infer<typeof storedProposalSchema>

const proposalFileSchema = z.strictObject({
  version: z.literal(1),
  proposals: z.array(storedProposalSchema),
})

export type CreateProposalResult =
  | { readonly outcome: 'created'; readonly merged: false; readonly record: StoredProposal }
  /** The same action was proposed within the dedup window (or the very same proposal again). */
  | { readonly outcome: 'merged'; readonly merged: true; readonly record: StoredProposal }
  | {
      readonly outcome: 'reject'
      readonly reason: 'malformed' | 'expired' | 'id-conflict'
      readonly detail: string
    }

export type MoveProposalResult =
  | { readonly outcome: 'accept'; readonly record: StoredProposal }
  | {
      readonly outcome: 'reject'
      readonly reason: TransitionRejection | 'unknown-proposal'
      readonly detail: string
    }

export type AddApprovalResult =
  | { readonly outcome: 'accept'; readonly record: StoredProposal }
  | {
      readonly outcome: 'reject'
      readonly reason:
        | 'unknown-proposal'
        | 'malformed'
        | 'wrong-proposal'
        | 'not-collecting-approvals'
        | 'duplicate'
        | 'too-many-approvals'
      readonly detail: string
    }

/** What changed; the runtime maps `created` to `planner.proposal` and resolved transitions to
 * `planner.proposal.resolved`. Listeners run after the change is on disk. */
export type ProposalStoreChange =
  | { readonly kind: 'created'; readonly record: StoredProposal }
  | { readonly kind: 'merged'; readonly record: StoredProposal; readonly duplicate: Proposal }
  | { readonly kind: 'approval'; readonly record: StoredProposal; readonly approval: ApprovalCertificate }
  | {
      readonly kind: 'transition'
      readonly record: StoredProposal
      readonly from: ProposalState
      readonly event: ProposalEvent
      /** True when the proposal reached a terminal state. */
      readonly resolved: boolean
    }
export type ProposalStoreListener = (change: ProposalStoreChange) => void

export interface ProposalStoreInit {
  readonly stateDir: string
  readonly now?: () => number
  readonly dedupWindowMs?: number
  readonly maxTerminal?: number
}

export interface MoveOptions {
  readonly at?: number
  readonly reason?: string
  readonly outcome?: string
}

/** States the runtime must pick up again after a restart: allowed but not known to have ended. */
const RESUMABLE_STATES: ReadonlySet<ProposalState> = new Set(['approved', 'executing'])
/** States in which approvals are still being collected. */
const COLLECTING_STATES: ReadonlySet<ProposalState> = new Set(['proposed', 'awaiting_approval'])

export class ProposalStore {
  readonly path: string
  readonly #now: () => number
  readonly #maxTerminal: number
  readonly #deduplicator: ProposalDeduplicator
  readonly #byHash = new Map<string, StoredProposal>()
  readonly #hashById = new Map<string, string>()
  readonly #listeners = new Set<ProposalStoreListener>()
  readonly #writes = new SerialQueue()

  private constructor(init: ProposalStoreInit) {
    this.path = proposalStorePath(init.stateDir)
    this.#now = init.now ?? Date.now
    this.#maxTerminal = init.maxTerminal ?? PROPOSAL_STORE_MAX_TERMINAL
    this.#deduplicator = new ProposalDeduplicator(
      init.dedupWindowMs === undefined ? {} : { windowMs: init.dedupWindowMs },
    )
  }

  /** Loads the file (a corrupt one is a StateFileError, left untouched) and expires what is due. */
  static async open(init: ProposalStoreInit): Promise<ProposalStore> {
    const store = new ProposalStore(init)
    const file = await readJsonFile(store.path, proposalFileSchema, 'proposal store')
    const records = [...(file?.proposals ?? [])].sort((a, b) => a.receivedAt - b.receivedAt)
    for (const record of records) {
      if (proposalHash(record.proposal) !== record.hash) {
        throw new StateFileError(
          store.path,
          `proposal store at ${store.path}: proposal ${record.proposal.id} does not match its recorded ` +
            'hash (the file was edited). It was left untouched: restore it or move it aside.',
        )
      }
      store.#index(record)
      store.#deduplicator.admit(record.proposal, record.receivedAt)
    }
    await store.expireDue()
    return store
  }

  onChange(listener: ProposalStoreListener): () => void {
    this.#listeners.add(listener)
    return () => this.#listeners.delete(listener)
  }

  get(hashOrId: string): StoredProposal | undefined {
    return this.#byHash.get(hashOrId) ?? this.#byHash.get(this.#hashById.get(hashOrId) ?? '')
  }

  list(filter: { state?: ProposalState } = {}): StoredProposal[] {
    const all = [...this.#byHash.values()]
    return filter.state === undefined ? all : all.filter((record) => record.state === filter.state)
  }

  /** Approved or executing proposals: after a crash the runtime resumes (or reports) each. */
  resumable(): StoredProposal[] {
    return this.list().filter((record) => RESUMABLE_STATES.has(record.state))
  }

  /** Records a new proposal in state `proposed`, or merges it into the one it duplicates. */
  async create(candidate: unknown, at: number = this.#now()): Promise<CreateProposalResult> {
    const parsed = proposalSchema.safeParse(candidate)
    if (!parsed.success)
      return { outcome: 'reject', reason: 'malformed', detail: describeIssues(parsed.error) }
    const proposal = parsed.data
    const hash = proposalHash(proposal)
    if (proposal.expiresAt <= at) {
      return {
        outcome: 'reject',
        reason: 'expired',
        detail: `proposal ${proposal.id} expired at ${proposal.expiresAt}`,
      }
    }
    const same = this.#byHash.get(hash)
    if (same !== undefined) return this.#merge(same, proposal, at)
    const conflicting = this.#hashById.get(proposal.id)
    if (conflicting !== undefined) {
      return {
        outcome: 'reject',
        reason: 'id-conflict',
        detail: `another proposal already uses id ${proposal.id}`,
      }
    }
    const dedup = this.#deduplicator.admit(proposal, at)
    if (dedup.outcome === 'duplicate') {
      const original = this.get(dedup.originalId)
      // The original may have been pruned from the store; then this one is simply new.
      if (original !== undefined) return this.#merge(original, proposal, at)
    }
    const record: StoredProposal = {
      hash,
      proposal,
      state: 'proposed',
      approvals: [],
      mergedCount: 0,
      receivedAt: at,
      updatedAt: at,
    }
    this.#index(record)
    await this.#commit({ kind: 'created', record })
    return { outcome: 'created', merged: false, record }
  }

  /** Moves a proposal with the protocol state machine; an illegal move is refused with its reason. */
  async move(hash: string, event: ProposalEvent, options: MoveOptions = {}): Promise<MoveProposalResult> {
    const record = this.get(hash)
    if (record === undefined) {
      return { outcome: 'reject', reason: 'unknown-proposal', detail: `no proposal ${hash}` }
    }
    const verdict = transition(record.state, event)
    if (verdict.outcome === 'reject') return verdict
    const next: StoredProposal = {
      ...record,
      state: verdict.next,
      updatedAt: options.at ?? this.#now(),
      ...(options.reason === undefined ? {} : { reason: options.reason.slice(0, NOTE_MAX_LENGTH) }),
      ...(options.outcome === undefined ? {} : { outcome: options.outcome.slice(0, NOTE_MAX_LENGTH) }),
    }
    this.#index(next)
    this.#pruneTerminal()
    await this.#commit({
      kind: 'transition',
      record: next,
      from: record.state,
      event,
      resolved: TERMINAL_PROPOSAL_STATES.has(next.state),
    })
    return { outcome: 'accept', record: next }
  }

  /**
   * Keeps an approval certificate with its proposal. Only its shape and proposal hash are checked
   * here; whether it counts is for the policy, which verifies signatures and roles.
   */
  async addApproval(hash: string, candidate: unknown, at: number = this.#now()): Promise<AddApprovalResult> {
    const record = this.get(hash)
    if (record === undefined)
      return { outcome: 'reject', reason: 'unknown-proposal', detail: `no proposal ${hash}` }
    const parsed = approvalCertificateSchema.safeParse(candidate)
    if (!parsed.success)
      return { outcome: 'reject', reason: 'malformed', detail: describeIssues(parsed.error) }
    const approval = parsed.data
    if (approval.body.proposalHash !== record.hash) {
      return {
        outcome: 'reject',
        reason: 'wrong-proposal',
        detail: 'the approval names another proposal hash',
      }
    }
    if (!COLLECTING_STATES.has(record.state)) {
      return {
        outcome: 'reject',
        reason: 'not-collecting-approvals',
        detail: `the proposal is already ${record.state}`,
      }
    }
    if (record.approvals.some((kept) => kept.body.nonce === approval.body.nonce)) {
      return { outcome: 'reject', reason: 'duplicate', detail: 'this approval was already received' }
    }
    if (record.approvals.length >= COMMAND_MAX_APPROVALS) {
      return {
        outcome: 'reject',
        reason: 'too-many-approvals',
        detail: `a proposal keeps at most ${COMMAND_MAX_APPROVALS} approvals`,
      }
    }
    const next: StoredProposal = { ...record, approvals: [...record.approvals, approval], updatedAt: at }
    this.#index(next)
    await this.#commit({ kind: 'approval', record: next, approval })
    return { outcome: 'accept', record: next }
  }

  /** Expires every proposal whose expiry passed and that the state machine lets expire
   * (an executing one does not: the actuator must report how it ended). */
  async expireDue(now: number = this.#now()): Promise<StoredProposal[]> {
    const expired: StoredProposal[] = []
    for (const record of [...this.#byHash.values()]) {
      if (record.proposal.expiresAt > now || transition(record.state, 'expire').outcome === 'reject') continue
      const moved = await this.move(record.hash, 'expire', {
        at: now,
        reason: 'expired before it was executed',
      })
      if (moved.outcome === 'accept') expired.push(moved.record)
    }
    return expired
  }

  async #merge(original: StoredProposal, duplicate: Proposal, at: number): Promise<CreateProposalResult> {
    const record: StoredProposal = { ...original, mergedCount: original.mergedCount + 1, updatedAt: at }
    this.#index(record)
    await this.#commit({ kind: 'merged', record, duplicate })
    return { outcome: 'merged', merged: true, record }
  }

  #index(record: StoredProposal): void {
    this.#byHash.set(record.hash, record)
    this.#hashById.set(record.proposal.id, record.hash)
  }

  #pruneTerminal(): void {
    const terminal = [...this.#byHash.values()]
      .filter((record) => TERMINAL_PROPOSAL_STATES.has(record.state))
      .sort((a, b) => a.updatedAt - b.updatedAt)
    for (const record of terminal.slice(0, Math.max(0, terminal.length - this.#maxTerminal))) {
      this.#byHash.delete(record.hash)
      if (this.#hashById.get(record.proposal.id) === record.hash) this.#hashById.delete(record.proposal.id)
    }
  }

  /** Writes the whole store (each write takes the state current when it runs, so the last one
   * written is the latest), then tells listeners. */
  async #commit(change: ProposalStoreChange): Promise<void> {
    await this.#writes.run(() =>
      writeJsonAtomic(this.path, { version: 1, proposals: [...this.#byHash.values()] }),
    )
    for (const listener of this.#listeners) {
      try {
        listener(change)
      } catch {
        // A failing listener (an event sink) must not undo or block a change already on disk.
      }
    }
  }
}
