/**
 * Evidence checkpoints between nodes: this node publishes signed heads of its own evidence log as
 * `checkpoint` frames (at start, every EVIDENCE_CHECKPOINT_EVERY_ENTRIES entries, and every
 * EVIDENCE_CHECKPOINT_INTERVAL_MS when the log moved), keeps the checkpoints of the peers it keeps
 * (a command center: every node's; a field node: its command centers'), and serves them over
 * `evidence.checkpoints`. A log cut or rewritten later no longer matches what peers hold.
 */
import type { Frame, LocalFrameFields } from '../../protocol/context/index.ts'
import {
  type EvidenceCheckpoint,
  type EvidenceEntry,
  entryHash,
  signEvidenceCheckpoint,
} from '../../protocol/safety/index.ts'
import type { Signer } from '../../protocol/signing.ts'
import type { Counters } from '../../runtime/counters.ts'
import type { RpcHandlers } from '../../runtime/rpc/rpc-server.ts'
import type { EventRing } from '../mesh/event-ring.ts'
import {
  EVIDENCE_CHECKPOINT_EVERY_ENTRIES,
  EVIDENCE_CHECKPOINT_INTERVAL_MS,
  EVIDENCE_CHECKPOINT_REFRESH_MS,
} from './constants.ts'
import type { EvidenceHead, EvidenceLogWriter } from './evidence-log-writer.ts'
import { PeerCheckpointBook } from './peer-checkpoint-book.ts'

export type EvidenceCheckpointHandlers = Pick<RpcHandlers, 'evidence.checkpoints'>

export interface EvidenceCheckpointsInit {
  readonly deviceId: string
  readonly signer: Signer
  readonly writer: Pick<EvidenceLogWriter, 'head' | 'onDurable'>
  readonly book: PeerCheckpointBook
  readonly publish: (fields: LocalFrameFields) => Promise<unknown>
  readonly onFrame: (listener: (frame: Frame) => void) => () => void
  /** Whose checkpoints this node keeps (its own records decide: configuration and role). */
  readonly keeps: (origin: string) => boolean
  readonly counters: Counters
  readonly log: (line: string) => void
  readonly now?: () => number
  readonly everyEntries?: number
  readonly intervalMs?: number
  readonly refreshMs?: number
}

export class EvidenceCheckpoints {
  readonly #init: EvidenceCheckpointsInit
  readonly #now: () => number
  readonly #everyEntries: number
  readonly #intervalMs: number
  readonly #refreshMs: number
  /** The newest entry known to be on disk: a checkpoint never names one that could still be lost. */
  #durableHead: EvidenceHead | undefined
  #published: EvidenceCheckpoint | undefined
  #entriesSincePublished = 0
  #publishing: Promise<void> | undefined
  #timer: ReturnType<typeof setInterval> | undefined
  #stops: (() => void)[] = []

  constructor(init: EvidenceCheckpointsInit) {
    this.#init = init
    this.#now = init.now ?? Date.now
    this.#everyEntries = init.everyEntries ?? EVIDENCE_CHECKPOINT_EVERY_ENTRIES
    this.#intervalMs = init.intervalMs ?? EVIDENCE_CHECKPOINT_INTERVAL_MS
    this.#refreshMs = init.refreshMs ?? EVIDENCE_CHECKPOINT_REFRESH_MS
    // Opened from disk and verified, so durable.
    this.#durableHead = init.writer.head
  }

  start(): void {
    this.#stops.push(
      this.#init.writer.onDurable((entry) => this.#noteDurable(entry)),
      this.#init.onFrame((frame) => {
        if (frame.kind !== 'checkpoint' || frame.origin === this.#init.deviceId) return
        if (!this.#init.keeps(frame.origin)) return
        void this.#init.book.offer(frame.data, frame.origin)
      }),
    )
    this.#timer = setInterval(() => this.#tick(), this.#intervalMs)
    this.#timer.unref()
    void this.publishNow()
  }

  async stop(): Promise<void> {
    clearInterval(this.#timer)
    for (const stop of this.#stops.splice(0)) stop()
    while (this.#publishing !== undefined) await this.#publishing
    await this.#init.book.flush()
  }

  handlers(): EvidenceCheckpointHandlers {
    return { 'evidence.checkpoints': (params) => this.#init.book.snapshot(params?.node) }
  }

  /** The last checkpoint this node published of its own log. */
  get published(): EvidenceCheckpoint | undefined {
    return this.#published
  }

  /** Publishes a checkpoint of the newest durable entry (nothing while the log is empty). One at a
   * time; a failed publish is counted and retried at the next tick. */
  async publishNow(): Promise<void> {
    while (this.#publishing !== undefined) await this.#publishing
    const head = this.#durableHead
    if (head === undefined) return
    this.#publishing = (async () => {
      try {
        const checkpoint = await signEvidenceCheckpoint(this.#init.signer, head, this.#now())
        await this.#init.publish({
          kind: 'checkpoint',
          data: checkpoint,
          trust: { tier: 'T3', sources: ['evidence-log'] },
        })
        this.#published = checkpoint
        this.#entriesSincePublished = Math.max(0, (this.#durableHead?.seq ?? 0) - head.seq)
        this.#init.counters.increment('evidence.checkpoint.published')
      } catch (error) {
        this.#init.counters.increment('evidence.checkpoint.publish.failed')
        this.#init.log(`could not publish an evidence checkpoint: ${(error as Error).message}`)
      } finally {
        this.#publishing = undefined
      }
    })()
    await this.#publishing
  }

  #noteDurable(entry: EvidenceEntry): void {
    if (this.#durableHead !== undefined && entry.seq <= this.#durableHead.seq) return
    this.#durableHead = { seq: entry.seq, hash: entryHash(entry) }
    this.#entriesSincePublished++
    if (this.#entriesSincePublished >= this.#everyEntries && this.#publishing === undefined)
      void this.publishNow()
  }

  #tick(): void {
    const head = this.#durableHead
    const published = this.#published
    if (head === undefined) return
    const moved = published === undefined || head.seq !== published.seq
    const aged = published !== undefined && this.#now() - published.at >= this.#refreshMs
    if (moved || aged) void this.publishNow()
  }
}

/** Opens the book of kept checkpoints (`evidence/peer-checkpoints.json`) and builds the service. */
export async function openEvidenceCheckpoints(
  init: Omit<EvidenceCheckpointsInit, 'book'> & {
    readonly stateDir: string
    readonly events: EventRing
  },
): Promise<EvidenceCheckpoints> {
  const book = await PeerCheckpointBook.open({
    stateDir: init.stateDir,
    holder: init.deviceId,
    counters: init.counters,
    events: init.events,
    log: init.log,
    ...(init.now === undefined ? {} : { now: init.now }),
  })
  return new EvidenceCheckpoints({ ...init, book })
}
