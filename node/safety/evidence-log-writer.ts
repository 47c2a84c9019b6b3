/**
 * The node's evidence log, `<stateDir>/evidence/evidence.jsonl`: every proposal, decision,
 * approval, refusal and execution, one protocol evidence entry per line, hash-chained and signed by
 * this node. Entries are signed in call order and each append resolves only once its line is
 * fsynced; appends made while a write is on its way share the next write and its fsync (group
 * commit). `head.json` beside it records a recent entry so removing entries from the end is detected
 * too; it is rewritten after the entries are durable, off the caller's path (see docs/safety.md). A
 * log that does not verify is a startup error and is never rewritten: it is the record someone will
 * want to inspect.
 */
import { join } from 'node:path'
import { z } from 'zod'
import {
  appendEntry,
  type EvidenceChainFault,
  type EvidenceChainVerdict,
  type EvidenceEntry,
  type EvidenceEntryType,
  entryHash,
  evidenceEntrySchema,
  verifyEvidenceChain,
} from '../../protocol/safety/index.ts'
import { sha256HexSchema } from '../../protocol/safety/schemas.ts'
import type { Signer } from '../../protocol/signing.ts'
import { readJsonFile, writeJsonAtomic } from '../../runtime/state/atomic-file.ts'
import { statePaths } from '../../runtime/state/state-dir.ts'
import { GroupCommitFile, readJsonLines, SerialQueue } from './durable-append.ts'

export function evidenceLogPaths(stateDir: string) {
  const evidenceDir = statePaths(stateDir).evidenceDir
  return { log: join(evidenceDir, 'evidence.jsonl'), head: join(evidenceDir, 'head.json') } as const
}

export class EvidenceLogError extends Error {
  static readonly NAME = 'EvidenceLogError'
  override readonly name = EvidenceLogError.NAME
  readonly path: string
  readonly verdict: Extract<EvidenceChainVerdict, { outcome: 'broken' }>
  constructor(path: string, verdict: Extract<EvidenceChainVerdict, { outcome: 'broken' }>) {
    super(
      `evidence log at ${path} is broken at entry ${verdict.index} (line ${verdict.index + 1}): ` +
        `${verdict.reason}: ${verdict.detail}. It was left untouched; run \`clawmesh evidence verify\` ` +
        'for details, and move it aside (keep it as evidence) before starting this node again.',
    )
    this.path = path
    this.verdict = verdict
  }
}

const evidenceHeadSchema = z.strictObject({
  version: z.literal(1),
  seq: z.number().int().nonnegative(),
  hash: sha256HexSchema,
})
export type EvidenceHead = { readonly seq: number; readonly hash: string }

type BrokenVerdict = Extract<EvidenceChainVerdict, { outcome: 'broken' }>

function broken(index: number, reason: EvidenceChainFault, detail: string): BrokenVerdict {
  return { outcome: 'broken', index, reason, detail }
}

/** Reads the log's lines as JSON; a line that is not JSON is reported as malformed at its index. */
async function readEntries(path: string): Promise<{ outcome: 'ok'; entries: unknown[] } | BrokenVerdict> {
  const { lines, torn } = await readJsonLines(path)
  const entries: unknown[] = []
  for (const [index, line] of lines.entries()) {
    try {
      entries.push(JSON.parse(line))
    } catch {
      return broken(index, 'malformed', `line ${index + 1} is not JSON`)
    }
  }
  if (torn !== undefined) {
    return broken(lines.length, 'malformed', `line ${lines.length + 1} is incomplete (no newline at its end)`)
  }
  return { outcome: 'ok', entries }
}

export interface VerifyEvidenceFileResult {
  readonly verdict: EvidenceChainVerdict
  /** Parsed entries when the chain verified, for callers that go on to list them. */
  readonly entries: readonly EvidenceEntry[]
}

/**
 * Verifies an evidence log file, and the recorded head when `head.json` exists: the log must still
 * contain that entry unchanged. Used by the writer on open and by `clawmesh evidence verify`.
 */
export async function verifyEvidenceFile(
  stateDir: string,
  options: { nodeId?: string } = {},
): Promise<VerifyEvidenceFileResult> {
  return verifyEvidenceLogAt(evidenceLogPaths(stateDir), options)
}

/** `verifyEvidenceFile` for a log anywhere (an auditor's copy), with the head file beside it if any. */
export async function verifyEvidenceLogAt(
  paths: { readonly log: string; readonly head: string },
  options: { nodeId?: string } = {},
): Promise<VerifyEvidenceFileResult> {
  const read = await readEntries(paths.log)
  if (read.outcome === 'broken') return { verdict: read, entries: [] }
  const verdict = await verifyEvidenceChain(
    read.entries,
    options.nodeId === undefined ? {} : { nodeId: options.nodeId },
  )
  if (verdict.outcome === 'broken') return { verdict, entries: [] }
  const entries = read.entries.map((raw) => evidenceEntrySchema.parse(raw))
  const head = await readJsonFile(paths.head, evidenceHeadSchema, 'evidence log head')
  if (head !== undefined) {
    const headVerdict = checkRecordedHead(entries, head)
    if (headVerdict !== undefined) return { verdict: headVerdict, entries: [] }
  }
  return { verdict, entries }
}

/** The head is written after its entry is durable, so the log may be ahead of it (the entries of the
 * last moments before a crash), never behind. */
function checkRecordedHead(entries: readonly EvidenceEntry[], head: EvidenceHead): BrokenVerdict | undefined {
  const recorded = entries[head.seq]
  if (recorded === undefined) {
    const last = entries.at(-1)
    return broken(
      entries.length,
      'truncated',
      `log ends at seq ${last?.seq ?? 'none'}, the recorded head is seq ${head.seq}`,
    )
  }
  if (entryHash(recorded) !== head.hash) {
    return broken(
      head.seq,
      'broken-link',
      `seq ${head.seq} is not the entry recorded as head: the log was replaced from there on`,
    )
  }
  return undefined
}

export interface EvidenceLogWriterInit {
  readonly stateDir: string
  /** The node's device key; every entry is signed with it. */
  readonly signer: Signer
  readonly now?: () => number
}

export interface ListEvidenceOptions {
  readonly type?: EvidenceEntryType
  /** The newest `limit` matching entries. */
  readonly limit?: number
}

export class EvidenceLogWriter {
  readonly path: string
  readonly #headPath: string
  readonly #stateDir: string
  readonly #signer: Signer
  readonly #now: () => number
  /** Signing is serialised: each entry links to the one signed before it. */
  readonly #signing = new SerialQueue()
  readonly #file: GroupCommitFile
  #last: EvidenceEntry | undefined
  /** The newest durable entry not yet recorded in head.json, and the head write in flight. */
  #headDue: EvidenceEntry | undefined
  #headWrite: Promise<void> | undefined
  readonly #durableListeners = new Set<(entry: EvidenceEntry) => void>()

  private constructor(init: EvidenceLogWriterInit, last: EvidenceEntry | undefined) {
    const paths = evidenceLogPaths(init.stateDir)
    this.path = paths.log
    this.#file = new GroupCommitFile(paths.log)
    this.#headPath = paths.head
    this.#stateDir = init.stateDir
    this.#signer = init.signer
    this.#now = init.now ?? Date.now
    this.#last = last
  }

  /** Opens the log, verifying it from the first entry; throws EvidenceLogError if it is broken. */
  static async open(init: EvidenceLogWriterInit): Promise<EvidenceLogWriter> {
    return (await EvidenceLogWriter.openReading(init)).writer
  }

  /** `open`, also handing back the entries it verified, for a caller that checks what the log holds
   * at start (node/safety/proposal-outcomes.ts) without reading and verifying it a second time. */
  static async openReading(
    init: EvidenceLogWriterInit,
  ): Promise<{ writer: EvidenceLogWriter; entries: readonly EvidenceEntry[] }> {
    const { verdict, entries } = await verifyEvidenceFile(init.stateDir, { nodeId: init.signer.id })
    if (verdict.outcome === 'broken') throw new EvidenceLogError(evidenceLogPaths(init.stateDir).log, verdict)
    return { writer: new EvidenceLogWriter(init, entries.at(-1)), entries }
  }

  get head(): EvidenceHead | undefined {
    return this.#last === undefined ? undefined : { seq: this.#last.seq, hash: entryHash(this.#last) }
  }

  /**
   * Signs and appends one entry; resolves once it is on disk. A failed write stops the writer (every
   * later append is refused): an entry after a lost one would break the chain.
   */
  async append(type: EvidenceEntryType, data: unknown, at: number = this.#now()): Promise<EvidenceEntry> {
    const { entry, written } = await this.#signing.run(async () => {
      if (this.#file.failed) await this.#recover()
      const signed = await appendEntry(this.#last, this.#signer, type, data, at)
      this.#last = signed
      // Queued in signing order, within the signing turn, so lines reach the file in chain order.
      return { entry: signed, written: this.#file.append(JSON.stringify(signed)) }
    })
    written.catch(() => undefined)
    await written
    this.#recordHead(entry)
    for (const listener of this.#durableListeners) listener(entry)
    return entry
  }

  /**
   * After a failed write (a full disk): once every queued line has settled, and only if the failed
   * write was cut back out of the file, the chain continues from the last entry on disk — the
   * entries that were lost are not linked to, so the log has no hole — and appends resume: the
   * node recovers when space returns, without a restart. Otherwise the writer stays stopped.
   */
  async #recover(): Promise<void> {
    await this.#file.idle()
    const { lines, torn } = await readJsonLines(this.path)
    if (torn !== undefined) return
    const lastLine = lines.at(-1)
    const last = lastLine === undefined ? undefined : evidenceEntrySchema.parse(JSON.parse(lastLine))
    if (this.#file.resume()) this.#last = last
  }

  /** Calls `listener` with each entry once it is on disk (evidence checkpoints name only those). */
  onDurable(listener: (entry: EvidenceEntry) => void): () => void {
    this.#durableListeners.add(listener)
    return () => this.#durableListeners.delete(listener)
  }

  /** Resolves when every entry appended so far is on disk and head.json records the newest. */
  async flush(): Promise<void> {
    await this.#signing.idle()
    await this.#file.idle()
    while (this.#headWrite !== undefined) await this.#headWrite
  }

  /** One head write at a time, each taking the newest durable entry: a burst of appends costs one
   * or two head writes, none of them on an append's path. A failed head write is retried with the
   * next append; the log itself is the record, the head only guards its end. */
  #recordHead(entry: EvidenceEntry): void {
    if (this.#headDue === undefined || entry.seq > this.#headDue.seq) this.#headDue = entry
    if (this.#headWrite !== undefined) return
    this.#headWrite = (async () => {
      while (this.#headDue !== undefined) {
        const due = this.#headDue
        this.#headDue = undefined
        await writeJsonAtomic(this.#headPath, { version: 1, seq: due.seq, hash: entryHash(due) }).catch(
          () => undefined,
        )
      }
      this.#headWrite = undefined
    })()
  }

  /** Entries on disk, oldest first; the newest `limit` when a limit is given. */
  async list(options: ListEvidenceOptions = {}): Promise<EvidenceEntry[]> {
    await this.flush()
    const { verdict, entries } = await verifyEvidenceFile(this.#stateDir, { nodeId: this.#signer.id })
    if (verdict.outcome === 'broken') throw new EvidenceLogError(this.path, verdict)
    return selectEntries(entries, options)
  }

  /** Re-reads and verifies the whole file, including that it still ends at this writer's head. */
  async verify(): Promise<EvidenceChainVerdict> {
    await this.flush()
    const { verdict, entries } = await verifyEvidenceFile(this.#stateDir, { nodeId: this.#signer.id })
    if (verdict.outcome === 'broken') return verdict
    const head = this.head
    if (head !== undefined) {
      const headVerdict = checkRecordedHead(entries, head)
      if (headVerdict !== undefined) return headVerdict
    }
    return verdict
  }
}

export function selectEntries(
  entries: readonly EvidenceEntry[],
  options: ListEvidenceOptions,
): EvidenceEntry[] {
  const matching =
    options.type === undefined ? [...entries] : entries.filter((entry) => entry.type === options.type)
  return options.limit === undefined ? matching : matching.slice(Math.max(0, matching.length - options.limit))
}
