/**
 * Proposals this node tracks, with their lifecycle state, the approvals collected so far and how
 * they ended. Every change is one fsynced line in `<stateDir>/safety/proposals.journal.jsonl` (the
 * whole record, numbered), written before the change's promise resolves; concurrent changes share a
 * write (group commit). The journal is folded into the snapshot `<stateDir>/safety/proposals.json`
 * (atomic rewrite) every PROPOSAL_JOURNAL_COMPACT_LINES changes and at open. The
 * protocol's `transition` decides every move, so the store cannot put a proposal in a state the
 * state machine forbids. After a restart, expired proposals are closed and approved or executing
 * ones are handed back through `resumable()` for the runtime to finish.
 */
import { open as openFile } from 'node:fs/promises'
import { join } from 'node:path'
import { z } from 'zod'
import { type Frame, frameSchema } from '../../protocol/context/index.ts'
import {
  type ApprovalCertificate,
  approvalCertificateSchema,
  COLLECTING_PROPOSAL_STATES,
  COMMAND_MAX_APPROVALS,
  COMMAND_MAX_EVIDENCE_FRAMES,
  type OperatorCertificate,
  type OperatorLink,
  PROPOSAL_NOTE_MAX_LENGTH,
  type Proposal,
  ProposalDeduplicator,
  type ProposalEvent,
  type ProposalRefusal,
  type ProposalState,
  proposalHash,
  proposalRecordSchema,
  proposalSchema,
  TERMINAL_PROPOSAL_STATES,
  type TransitionRejection,
  transition,
} from '../../protocol/safety/index.ts'
import { describeIssues } from '../../protocol/safety/schemas.ts'
import { readJsonFile, StateFileError, writeJsonAtomic } from '../../runtime/state/atomic-file.ts'
import { PROPOSAL_JOURNAL_COMPACT_LINES, PROPOSAL_STORE_MAX_TERMINAL } from './constants.ts'
import { GroupCommitFile, readJsonLines } from './durable-append.ts'

export function proposalStorePath(stateDir: string): string {
  return join(stateDir, 'safety', 'proposals.json')
}

export function proposalJournalPath(stateDir: string): string {
  return join(stateDir, 'safety', 'proposals.journal.jsonl')
}

/** The wire record (`protocol/safety/proposal-record.ts`) and the evidence frames kept for the command. */
const storedProposalSchema = proposalRecordSchema.extend({
  /** The cited frames as this command center held them when the proposal was made, each still
   * signed by its origin: the command carries them, so an actuator (and this node after a crash
   * that lost its world model) can check the evidence whatever its world model holds now. */
  evidenceFrames: z.array(frameSchema).max(COMMAND_MAX_EVIDENCE_FRAMES).optional(),
})
export type StoredProposal = z.infer<typeof storedProposalSchema>

const journalSeqSchema = z.number().int().nonnegative()

const proposalFileSchema = z.strictObject({
  version: z.literal(1),
  /** The last journal line folded into this snapshot; replay starts after it. */
  journalSeq: journalSeqSchema.optional(),
  proposals: z.array(storedProposalSchema),
})

const journalLineSchema = z.strictObject({ seq: journalSeqSchema, record: storedProposalSchema })

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

export type DecideResult =
  | { readonly outcome: 'accept'; readonly record: StoredProposal; readonly written: Promise<void> }
  | Extract<AddApprovalResult, { outcome: 'reject' }>
  | Extract<MoveProposalResult, { outcome: 'reject' }>

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
  readonly compactAfterLines?: number
  /**
   * Keeps the permanent record of a proposal that just ended (the runtime appends an `outcome`
   * evidence entry): called with the ended record alongside its journal line, and awaited with it,
   * so when a change that ends a proposal resolves, both are on disk. The store keeps only the
   * newest PROPOSAL_STORE_MAX_TERMINAL ended proposals; this record keeps them all. It must not
   * throw: a failure is the caller's to count (the ending is logged again at the next start).
   */
  readonly recordOutcome?: (record: StoredProposal) => Promise<void>
}

export interface MoveOptions {
  readonly at?: number
  readonly reason?: string
  readonly outcome?: string
  /** The hop's refusal, when one ended the proposal (shown with its code on the console's card). */
  readonly refusal?: ProposalRefusal
}

/** Applies journal lines numbered after `afterSeq` onto `latest` (file order; each line is a whole
 * record) and returns the highest number seen. A line that is not a journal record is a
 * StateFileError: skipping it could lose an approved proposal. */
function foldJournalLines(
  path: string,
  lines: readonly string[],
  afterSeq: number,
  latest: Map<string, StoredProposal>,
): number {
  let seq = afterSeq
  for (const [index, line] of lines.entries()) {
    let parsed: z.infer<typeof journalLineSchema>
    try {
      parsed = journalLineSchema.parse(JSON.parse(line))
    } catch {
      throw new StateFileError(
        path,
        `proposal journal at ${path}: line ${index + 1} is not a journal record. It was left untouched: ` +
          'restore it or move it aside (approved proposals recorded there would be lost).',
      )
    }
    seq = Math.max(seq, parsed.seq)
    if (parsed.seq <= afterSeq) continue
    latest.set(parsed.record.hash, parsed.record)
  }
  return seq
}

/**
 * The records a state dir holds, as `ProposalStore.open` would load them (snapshot, then the journal
 * after it), read without writing anything: no compaction, no expiry, a torn last journal line
 * skipped rather than cut. For auditors of a stopped node's records (the chaos loop's invariant
 * checker, test/tools/chaos-invariants.ts).
 */
export async function readStoredProposals(stateDir: string): Promise<StoredProposal[]> {
  const file = await readJsonFile(proposalStorePath(stateDir), proposalFileSchema, 'proposal store')
  const latest = new Map((file?.proposals ?? []).map((record) => [record.hash, record]))
  const journal = proposalJournalPath(stateDir)
  foldJournalLines(journal, (await readJsonLines(journal)).lines, file?.journalSeq ?? 0, latest)
  return [...latest.values()].sort((a, b) => a.receivedAt - b.receivedAt)
}

/** States the runtime must pick up again after a restart: allowed but not known to have ended. */
const RESUMABLE_STATES: ReadonlySet<ProposalState> = new Set(['approved', 'executing'])

export class ProposalStore {
  readonly path: string
  readonly #now: () => number
  readonly #maxTerminal: number
  readonly #deduplicator: ProposalDeduplicator
  readonly #byHash = new Map<string, StoredProposal>()
  readonly #hashById = new Map<string, string>()
  readonly #listeners = new Set<ProposalStoreListener>()
  readonly #journal: GroupCommitFile
  readonly #compactAfterLines: number
  readonly #recordOutcome: ((record: StoredProposal) => Promise<void>) | undefined
  /** Number of the last journal line handed out, and lines in the journal file since the last fold. */
  #seq = 0
  #journalLines = 0
  #compacting: Promise<void> | undefined

  private constructor(init: ProposalStoreInit) {
    this.path = proposalStorePath(init.stateDir)
    this.#journal = new GroupCommitFile(proposalJournalPath(init.stateDir))
    this.#compactAfterLines = init.compactAfterLines ?? PROPOSAL_JOURNAL_COMPACT_LINES
    this.#recordOutcome = init.recordOutcome
    this.#now = init.now ?? Date.now
    this.#maxTerminal = init.maxTerminal ?? PROPOSAL_STORE_MAX_TERMINAL
    this.#deduplicator = new ProposalDeduplicator(
      init.dedupWindowMs === undefined ? {} : { windowMs: init.dedupWindowMs },
    )
  }

  /** Loads the snapshot and replays the journal (a corrupt one is a StateFileError, left untouched),
   * folds the journal into the snapshot, and expires what is due. */
  static async open(init: ProposalStoreInit): Promise<ProposalStore> {
    const store = new ProposalStore(init)
    const file = await readJsonFile(store.path, proposalFileSchema, 'proposal store')
    const latest = new Map((file?.proposals ?? []).map((record) => [record.hash, record]))
    const replayed = await store.#replayJournal(file?.journalSeq ?? 0, latest)
    const records = [...latest.values()].sort((a, b) => a.receivedAt - b.receivedAt)
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
    store.#pruneTerminal()
    if (replayed > 0) await store.compact()
    await store.expireDue()
    return store
  }

  /** Applies journal lines numbered after the snapshot's `journalSeq`, in order. A last line without
   * its newline is a write a crash cut short: its change never resolved, so it is dropped. */
  async #replayJournal(afterSeq: number, latest: Map<string, StoredProposal>): Promise<number> {
    const path = this.#journal.path
    const { lines, torn } = await readJsonLines(path)
    if (torn !== undefined) {
      const text = lines.map((line) => `${line}\n`).join('')
      const handle = await openFile(path, 'r+')
      try {
        await handle.truncate(Buffer.byteLength(text))
        await handle.sync()
      } finally {
        await handle.close()
      }
    }
    this.#seq = foldJournalLines(path, lines, afterSeq, latest)
    this.#journalLines = lines.length
    return lines.length
  }

  /**
   * Folds the journal into the snapshot: writes every record (as of now) atomically, then empties
   * the journal. Lines still waiting to be written carry numbers the snapshot already covers, so a
   * replay skips them; a crash between the two steps replays lines the snapshot also holds, which
   * is harmless (each line is a whole record, and its number orders it).
   */
  compact(): Promise<void> {
    this.#compacting ??= this.#journal
      .exclusive(async () => {
        const journalSeq = this.#seq
        await writeJsonAtomic(this.path, { version: 1, journalSeq, proposals: [...this.#byHash.values()] })
        const handle = await openFile(this.#journal.path, 'a')
        try {
          await handle.truncate(0)
          await handle.sync()
        } finally {
          await handle.close()
        }
        this.#journalLines = 0
      })
      .finally(() => {
        this.#compacting = undefined
      })
    return this.#compacting
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
  async create(
    candidate: unknown,
    at: number = this.#now(),
    authorCertificate?: OperatorCertificate,
    evidenceFrames: readonly Frame[] = [],
  ): Promise<CreateProposalResult> {
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
      // The original may have been pruned from the store; then this one is simply new. A cancelled
      // one (withdrawn, stopped) must not swallow a fresh request for the same action either.
      if (original !== undefined && original.state !== 'cancelled') return this.#merge(original, proposal, at)
    }
    const record: StoredProposal = {
      hash,
      proposal,
      state: 'proposed',
      approvals: [],
      mergedCount: 0,
      receivedAt: at,
      updatedAt: at,
      ...(authorCertificate === undefined ? {} : { authorCertificate }),
      ...(evidenceFrames.length === 0
        ? {}
        : { evidenceFrames: evidenceFrames.slice(0, COMMAND_MAX_EVIDENCE_FRAMES) }),
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
      ...(options.reason === undefined ? {} : { reason: options.reason.slice(0, PROPOSAL_NOTE_MAX_LENGTH) }),
      ...(options.outcome === undefined
        ? {}
        : { outcome: options.outcome.slice(0, PROPOSAL_NOTE_MAX_LENGTH) }),
      ...(options.refusal === undefined ? {} : { refusal: options.refusal }),
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
  async addApproval(
    hash: string,
    candidate: unknown,
    at: number = this.#now(),
    observedLink?: OperatorLink,
  ): Promise<AddApprovalResult> {
    const record = this.get(hash)
    if (record === undefined)
      return { outcome: 'reject', reason: 'unknown-proposal', detail: `no proposal ${hash}` }
    const checked = this.#checkApproval(record, candidate)
    if (checked.outcome === 'reject') return checked
    const { approval } = checked
    const next: StoredProposal = {
      ...withObservedLink(record, approval.body.nonce, observedLink),
      approvals: [...record.approvals, approval],
      updatedAt: at,
    }
    this.#index(next)
    await this.#commit({ kind: 'approval', record: next, approval })
    return { outcome: 'accept', record: next }
  }

  /**
   * Keeps an approval (if any) and moves the proposal through `events` in order, as ONE journal
   * line holding the final record: the runtime uses it when the policy allowed a proposal and it is
   * about to send the command (approval → `approved` → `executing`). Each step is checked as
   * `addApproval` and `move` check it, and nothing changes unless every step is legal. Listeners
   * hear each step, after the line is on disk. Why one line is enough for crash recovery: before it
   * is durable nothing was answered or sent (a crash loses an approval nobody was told was kept);
   * after it, the record is `executing` with its approvals, which a restart resumes exactly as it
   * would resume `approved` (and the actuator's ledger refuses a second run).
   *
   * Answers at once whether the decision is kept (so the caller can start its evidence entries in
   * the same tick and share their fsync); `written` resolves once the line is on disk.
   */
  decide(
    hash: string,
    candidate: unknown,
    events: readonly ProposalEvent[],
    at: number = this.#now(),
    observedLink?: OperatorLink,
  ): DecideResult {
    const record = this.get(hash)
    if (record === undefined)
      return { outcome: 'reject', reason: 'unknown-proposal', detail: `no proposal ${hash}` }
    const changes: ProposalStoreChange[] = []
    let next: StoredProposal = record
    if (candidate !== undefined) {
      const checked = this.#checkApproval(record, candidate)
      if (checked.outcome === 'reject') return checked
      next = {
        ...withObservedLink(next, checked.approval.body.nonce, observedLink),
        approvals: [...next.approvals, checked.approval],
        updatedAt: at,
      }
      changes.push({ kind: 'approval', record: next, approval: checked.approval })
    }
    for (const event of events) {
      const verdict = transition(next.state, event)
      if (verdict.outcome === 'reject') return verdict
      const from = next.state
      next = { ...next, state: verdict.next, updatedAt: at }
      changes.push({
        kind: 'transition',
        record: next,
        from,
        event,
        resolved: TERMINAL_PROPOSAL_STATES.has(next.state),
      })
    }
    this.#index(next)
    this.#pruneTerminal()
    return { outcome: 'accept', record: next, written: this.#commitAll(next, changes) }
  }

  #checkApproval(
    record: StoredProposal,
    candidate: unknown,
  ):
    | { readonly outcome: 'accept'; readonly approval: ApprovalCertificate }
    | Extract<AddApprovalResult, { outcome: 'reject' }> {
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
    if (!COLLECTING_PROPOSAL_STATES.has(record.state)) {
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
    return { outcome: 'accept', approval }
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

  /** Appends the changed record to the journal (durable when this resolves), then tells listeners. */
  #commit(change: ProposalStoreChange): Promise<void> {
    return this.#commitAll(change.record, [change])
  }

  /** One journal line for `record` (the state after all `changes`) — with its outcome record when
   * a change ended the proposal, written in parallel — then each change to listeners. */
  async #commitAll(record: StoredProposal, changes: readonly ProposalStoreChange[]): Promise<void> {
    this.#seq += 1
    const ended = changes.some((change) => change.kind === 'transition' && change.resolved)
    await Promise.all([
      this.#journal.append(JSON.stringify({ seq: this.#seq, record })),
      ended ? this.#recordOutcome?.(record) : undefined,
    ])
    this.#journalLines += 1
    if (this.#journalLines >= this.#compactAfterLines && this.#compacting === undefined) {
      // Off the caller's path; a failed fold leaves the journal as it is, to be folded later.
      void this.compact().catch(() => undefined)
    }
    for (const change of changes) {
      for (const listener of this.#listeners) {
        try {
          listener(change)
        } catch {
          // A failing listener (an event sink) must not undo or block a change already on disk.
        }
      }
    }
  }
}

function withObservedLink(
  record: StoredProposal,
  nonce: string,
  link: OperatorLink | undefined,
): StoredProposal {
  if (link === undefined) return record
  return { ...record, observedLinks: { ...record.observedLinks, [nonce]: link } }
}
