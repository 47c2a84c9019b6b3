/**
 * Adaptive coalescing of the frames a node publishes into gossip messages. Per-message cost
 * (Noise, yamux, gossipsub bookkeeping, one batch signature) dominates on small nodes, so frames
 * published close together should share a message; but a fixed wait adds its full length to every
 * frame's latency even when the node publishes a few frames a second.
 *
 * The rule: a node sends at most one batch per window. A frame published when the last batch left
 * at least a window ago goes out at once (after the current task, so frames published in the same
 * task still share it); otherwise it waits for the window to end, together with everything
 * published meanwhile. An idle publisher adds no delay, a busy one sends a batch per window (or
 * earlier when a batch is full), and no frame waits longer than one window. Urgent frames (someone
 * is waiting for them) never wait for the window.
 *
 * A regular publisher (a sensor loop, a node's publish tick) does not leave the last frame of a
 * window waiting for the window's end: when its next push is due after the window ends, the batch
 * goes with the push that is in hand, and the window keeps its place — the next batch may leave no
 * earlier than it would have, so the number of batches stays what the window allows and every frame
 * of the batch is spared the dead end of the window. Whether the publisher is regular, and when its
 * next push is due, comes from its own recent gaps between pushes (`COALESCE_GAP_*`); a frame
 * that comes earlier than predicted waits, at most, for the end of the window it missed.
 *
 * The window itself may follow the machine's load and the publisher's own rate (`windowMs` as a
 * function of the rate, see `pressureWindowMs`): when the node is short of CPU every gossip message
 * costs a wait for a core on every node it reaches, so fewer, larger messages deliver sooner than
 * many small ones — but only once the publisher sends enough frames for the message count to
 * matter. A publisher of a hundred frames a second sends each at once whatever the pressure: the
 * window would add its length to the median and save few messages (docs/benchmarks-fanout.md,
 * "Where a frame's time goes at 10 processes").
 */
import { BATCH_COALESCE_WINDOW_MAX_MS, BATCH_COALESCE_WINDOW_MS } from '../../protocol/context/constants.ts'

/** At or below this CPU pressure (share of time a task waited for a CPU) the window is the base
 * window: the chain of 3 at 6,000 frames/s runs at 6–19 % on 2 cores and must keep its latency. */
export const COALESCE_PRESSURE_LOW = 0.25
/** At or above this the window is the longest: 10 processes on 2 cores at 100–500 frames/s run at
 * 70–100 %, where the wait for a core, not the window, is what frames spend their time on. */
export const COALESCE_PRESSURE_HIGH = 0.75

/** At or below this publishing rate (frames/s) the window is the base window whatever the pressure:
 * one gossip message per frame is at most this many messages a second, which a loaded 10-process
 * site carries (raw gossipsub, a message per frame, at 100/s: far p99 11–17 ms), and frames this far
 * apart (≥ 6.7 ms) outlast the base window, so each goes out at once. */
export const COALESCE_RATE_LOW = 150
/** At or above this rate the pressure decides the window alone: a message per frame at 500/s was
 * what set a 10-process site's tail (raw gossipsub far p99 60–110 ms). */
export const COALESCE_RATE_HIGH = 400
/** Horizon of the publishing rate estimate (exponentially decaying count of pushed frames): long
 * enough to smooth the publisher's ticks, short enough that a burst widens the window within it. */
export const COALESCE_RATE_HORIZON_MS = 250

/** Pushes closer together than this (ms) are one burst (frames published in one task or tick): the
 * gap between bursts is what predicts the next push. */
export const COALESCE_BURST_MS = 1
/** Weight of the newest gap in the running gap and deviation estimates. */
export const COALESCE_GAP_WEIGHT = 0.25
/** The next push is predicted no sooner than the mean gap minus this many mean deviations after the
 * last one. A periodic tick with timer jitter keeps most of its gap; Poisson-like pushes (mean
 * deviation ~0.74 of the mean gap) predict nothing, and keep the plain window — an early batch they
 * undercut would cost a message. */
export const COALESCE_GAP_MARGIN_DEVIATIONS = 2

const clamp01 = (value: number) => Math.min(1, Math.max(0, value))

/** The coalescing window for a CPU pressure share and the publisher's rate in frames/s. Pressure
 * alone: the base window up to `COALESCE_PRESSURE_LOW`, the longest at `COALESCE_PRESSURE_HIGH` and
 * above, linear between (a proportional response, so a longer window that relieves the pressure
 * settles rather than flapping). The rate scales the lengthening: none at or below
 * `COALESCE_RATE_LOW`, all of it at `COALESCE_RATE_HIGH` and above, linear between. Unknown pressure
 * = base; unknown rate = the pressure decides. */
export function pressureWindowMs(
  share: number | undefined,
  framesPerSecond = Number.POSITIVE_INFINITY,
): number {
  if (share === undefined || share <= COALESCE_PRESSURE_LOW) return BATCH_COALESCE_WINDOW_MS
  const pressure = clamp01((share - COALESCE_PRESSURE_LOW) / (COALESCE_PRESSURE_HIGH - COALESCE_PRESSURE_LOW))
  const rate = clamp01((framesPerSecond - COALESCE_RATE_LOW) / (COALESCE_RATE_HIGH - COALESCE_RATE_LOW))
  return (
    BATCH_COALESCE_WINDOW_MS + pressure * rate * (BATCH_COALESCE_WINDOW_MAX_MS - BATCH_COALESCE_WINDOW_MS)
  )
}

/** Batches sent before their window's end because the publisher's next push was due after it, and
 * pushes that came before such a window's end all the same (a prediction missed). */
export interface EarlyBatchCounts {
  readonly sent: number
  readonly missed: number
}

export interface PublishCoalescerInit<T> {
  /** Sends one batch. Called with 1 to `maxItems` items, in publish order. */
  send(items: T[]): void
  /** The longest a frame waits, and the shortest gap between two batches that are not full; a
   * function is asked again whenever a frame is pushed, with the publishing rate in frames/s
   * (estimated over `COALESCE_RATE_HORIZON_MS`, this frame included). */
  readonly windowMs: number | ((framesPerSecond: number) => number)
  readonly maxItems: number
  /** Monotonic clock in ms (tests inject one). */
  readonly now?: () => number
}

export class PublishCoalescer<T> {
  readonly #init: PublishCoalescerInit<T>
  readonly #now: () => number
  #queue: T[] = []
  #timer: ReturnType<typeof setTimeout> | undefined
  #flushQueued = false
  /** The window end a queued early flush keeps (see `#flushSoon`). */
  #flushWindowEnd = Number.NEGATIVE_INFINITY
  #lastSentAt = Number.NEGATIVE_INFINITY
  #windowMs: number
  /** Exponentially decaying count of pushed frames (horizon `COALESCE_RATE_HORIZON_MS`), and when
   * it was last updated: count ÷ horizon is the rate. */
  #recent = 0
  #recentAt = Number.NEGATIVE_INFINITY
  /** The last push, and the running mean gap between bursts of pushes and its mean deviation. */
  #lastPushAt = Number.NEGATIVE_INFINITY
  #gapMs: number | undefined
  #gapDeviationMs = 0
  /** Batches sent before their window's end because the next push was due after it, and pushes
   * that came before the end of a window sent early all the same (a prediction missed). */
  #early = 0
  #missed = 0

  constructor(init: PublishCoalescerInit<T>) {
    this.#init = init
    this.#now = init.now ?? (() => performance.now())
    this.#windowMs = this.#currentWindowMs()
  }

  /** The window the last pushed frame was held to. */
  get windowMs(): number {
    return this.#windowMs
  }

  /** The publishing rate in frames/s, as of the last pushed frame. */
  get framesPerSecond(): number {
    return (this.#recent / COALESCE_RATE_HORIZON_MS) * 1_000
  }

  get earlyBatches(): EarlyBatchCounts {
    return { sent: this.#early, missed: this.#missed }
  }

  /** Items waiting to be sent. */
  get pending(): number {
    return this.#queue.length
  }

  push(item: T, urgent = false): void {
    const at = this.#now()
    this.#recent = this.#recent * Math.exp((this.#recentAt - at) / COALESCE_RATE_HORIZON_MS) + 1
    this.#recentAt = at
    this.#noteGap(at)
    this.#queue.push(item)
    if (this.#queue.length >= this.#init.maxItems) {
      this.#flush()
      return
    }
    if (urgent) {
      this.#flushSoon()
      return
    }
    this.#windowMs = this.#currentWindowMs()
    if (at < this.#lastSentAt) {
      // This window's batch left early: the prediction missed, and this frame waits for the end of
      // the window it missed, as it would have without the early batch.
      if (this.#timer === undefined) this.#missed++
      this.#timer ??= setTimeout(() => this.#flush(), this.#lastSentAt - at)
      return
    }
    const windowEnd = this.#lastSentAt + this.#windowMs
    if (windowEnd <= at) this.#flushSoon()
    else if (this.#nextPushDueAfter(at, windowEnd)) this.#flushSoon(windowEnd)
    else this.#timer ??= setTimeout(() => this.#flush(), windowEnd - at)
  }

  /** Drops the schedule and returns the items still queued (at most `maxItems`). */
  stop(): T[] {
    clearTimeout(this.#timer)
    this.#timer = undefined
    const left = this.#queue
    this.#queue = []
    return left
  }

  #currentWindowMs(): number {
    const { windowMs } = this.#init
    return typeof windowMs === 'number' ? windowMs : windowMs(this.framesPerSecond)
  }

  /** A burst's first push updates the running gap estimates. */
  #noteGap(at: number): void {
    const gap = at - this.#lastPushAt
    this.#lastPushAt = at
    if (gap <= COALESCE_BURST_MS || !Number.isFinite(gap)) return
    if (this.#gapMs === undefined) {
      // One gap says nothing about regularity: start from a deviation that rules it out.
      this.#gapMs = gap
      this.#gapDeviationMs = gap
      return
    }
    this.#gapDeviationMs += COALESCE_GAP_WEIGHT * (Math.abs(gap - this.#gapMs) - this.#gapDeviationMs)
    this.#gapMs += COALESCE_GAP_WEIGHT * (gap - this.#gapMs)
  }

  /** True when the publisher's next push is due after `windowEnd`, by its own rhythm. */
  #nextPushDueAfter(at: number, windowEnd: number): boolean {
    if (this.#gapMs === undefined) return false
    return at + this.#gapMs - COALESCE_GAP_MARGIN_DEVIATIONS * this.#gapDeviationMs > windowEnd
  }

  /** Flushes after the current task. `windowEnd`: the batch leaves before its window ends, which
   * keeps its place — the next batch may leave no earlier than one window after it. */
  #flushSoon(windowEnd = Number.NEGATIVE_INFINITY): void {
    this.#flushWindowEnd = Math.max(this.#flushWindowEnd, windowEnd)
    if (this.#flushQueued) return
    this.#flushQueued = true
    queueMicrotask(() => {
      this.#flushQueued = false
      const end = this.#flushWindowEnd
      this.#flushWindowEnd = Number.NEGATIVE_INFINITY
      this.#flush(end)
    })
  }

  #flush(windowEnd = Number.NEGATIVE_INFINITY): void {
    clearTimeout(this.#timer)
    this.#timer = undefined
    if (this.#queue.length > 0 && windowEnd > this.#now()) this.#early++
    while (this.#queue.length > 0) {
      const items = this.#queue.splice(0, this.#init.maxItems)
      // Inside an early batch's window the window's end stays the mark, so a full or urgent batch
      // sent meanwhile does not move the next batch earlier either.
      this.#lastSentAt = Math.max(this.#now(), windowEnd, this.#lastSentAt)
      this.#init.send(items)
    }
  }
}
