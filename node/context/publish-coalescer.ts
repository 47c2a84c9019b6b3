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
 */

export interface PublishCoalescerInit<T> {
  /** Sends one batch. Called with 1 to `maxItems` items, in publish order. */
  send(items: T[]): void
  /** The longest a frame waits, and the shortest gap between two batches that are not full. */
  readonly windowMs: number
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
  #lastSentAt = Number.NEGATIVE_INFINITY

  constructor(init: PublishCoalescerInit<T>) {
    this.#init = init
    this.#now = init.now ?? (() => performance.now())
  }

  /** Items waiting to be sent. */
  get pending(): number {
    return this.#queue.length
  }

  push(item: T, urgent = false): void {
    this.#queue.push(item)
    if (this.#queue.length >= this.#init.maxItems) {
      this.#flush()
      return
    }
    const wait = urgent ? 0 : this.#lastSentAt + this.#init.windowMs - this.#now()
    if (wait <= 0) this.#flushSoon()
    else this.#timer ??= setTimeout(() => this.#flush(), wait)
  }

  /** Drops the schedule and returns the items still queued (at most `maxItems`). */
  stop(): T[] {
    clearTimeout(this.#timer)
    this.#timer = undefined
    const left = this.#queue
    this.#queue = []
    return left
  }

  #flushSoon(): void {
    if (this.#flushQueued) return
    this.#flushQueued = true
    queueMicrotask(() => {
      this.#flushQueued = false
      this.#flush()
    })
  }

  #flush(): void {
    clearTimeout(this.#timer)
    this.#timer = undefined
    while (this.#queue.length > 0) {
      const items = this.#queue.splice(0, this.#init.maxItems)
      this.#lastSentAt = this.#now()
      this.#init.send(items)
    }
  }
}
