import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { BATCH_COALESCE_WINDOW_MAX_MS, BATCH_COALESCE_WINDOW_MS } from '../../protocol/context/constants.ts'
import {
  COALESCE_PRESSURE_HIGH,
  COALESCE_PRESSURE_LOW,
  COALESCE_RATE_HIGH,
  COALESCE_RATE_LOW,
  PublishCoalescer,
  pressureWindowMs,
} from './publish-coalescer.ts'

const WINDOW_MS = 5

let clock = 0
let batches: number[][] = []
let coalescer: PublishCoalescer<number>

/** Lets queued microtasks run (the "after the current task" flush). */
const afterCurrentTask = () => Promise.resolve()

beforeEach(() => {
  vi.useFakeTimers()
  clock = 1_000
  batches = []
  coalescer = new PublishCoalescer<number>({
    send: (items) => batches.push(items),
    windowMs: WINDOW_MS,
    maxItems: 4,
    now: () => clock,
  })
})

afterEach(() => {
  vi.useRealTimers()
})

function advance(ms: number): void {
  clock += ms
  vi.advanceTimersByTime(ms)
}

describe('PublishCoalescer', () => {
  it('sends at once when idle, with everything published in the same task', async () => {
    coalescer.push(1)
    coalescer.push(2)
    expect(batches).toEqual([])
    await afterCurrentTask()
    expect(batches).toEqual([[1, 2]])
  })

  it('under load holds frames until one window after the last batch, then sends them together', async () => {
    coalescer.push(1)
    await afterCurrentTask()
    advance(1)
    coalescer.push(2)
    await afterCurrentTask()
    advance(2)
    coalescer.push(3)
    await afterCurrentTask()
    expect(batches).toEqual([[1]])
    advance(WINDOW_MS - 3 - 1)
    expect(batches).toEqual([[1]])
    advance(1)
    expect(batches).toEqual([[1], [2, 3]])
  })

  it('sends immediately again once a window has passed without a batch', async () => {
    coalescer.push(1)
    await afterCurrentTask()
    advance(WINDOW_MS)
    coalescer.push(2)
    await afterCurrentTask()
    expect(batches).toEqual([[1], [2]])
  })

  it('sends a full batch without waiting for the window', async () => {
    coalescer.push(0)
    await afterCurrentTask()
    for (const item of [1, 2, 3, 4, 5]) coalescer.push(item)
    expect(batches).toEqual([[0], [1, 2, 3, 4]])
    advance(WINDOW_MS)
    expect(batches).toEqual([[0], [1, 2, 3, 4], [5]])
  })

  it('lets an urgent frame skip the window, taking queued frames along', async () => {
    coalescer.push(1)
    await afterCurrentTask()
    coalescer.push(2)
    coalescer.push(3, true)
    await afterCurrentTask()
    expect(batches).toEqual([[1], [2, 3]])
    advance(WINDOW_MS)
    expect(batches).toEqual([[1], [2, 3]])
  })

  it('returns what is still queued when stopped and sends nothing later', async () => {
    coalescer.push(1)
    await afterCurrentTask()
    coalescer.push(2)
    expect(coalescer.stop()).toEqual([2])
    advance(WINDOW_MS)
    expect(batches).toEqual([[1]])
  })
})

describe('PublishCoalescer with a window that follows the load', () => {
  it('asks for the window at every push and holds frames to the window of the moment', async () => {
    let windowMs = 5
    coalescer = new PublishCoalescer<number>({
      send: (items) => batches.push(items),
      windowMs: () => windowMs,
      maxItems: 64,
      now: () => clock,
    })
    coalescer.push(1)
    await afterCurrentTask()
    windowMs = 20
    advance(6)
    coalescer.push(2)
    await afterCurrentTask()
    expect(coalescer.windowMs).toBe(20)
    // With the base window this frame would have gone out at once (6 ms > 5 ms since the last batch).
    expect(batches).toEqual([[1]])
    advance(20 - 6 - 1)
    expect(batches).toEqual([[1]])
    advance(1)
    expect(batches).toEqual([[1], [2]])
    // Back to the base window: one window after the last batch a frame goes out at once again.
    windowMs = 5
    advance(5)
    coalescer.push(3)
    await afterCurrentTask()
    expect(batches).toEqual([[1], [2], [3]])
  })
})

describe('PublishCoalescer with a regular publisher', () => {
  const WINDOW = 12
  const TICK = 5
  /** Advances in half-millisecond steps, so a timer's batch is stamped when it fell due. */
  function advanceFinely(ms: number): void {
    for (let step = 0; step < ms; step += 0.5) advance(Math.min(0.5, ms - step))
  }
  /** Pushes one item per tick (`gaps[i]` ms after the previous one); returns each batch with the
   * time it left and every item's wait. */
  async function publishEvery(gaps: readonly number[]) {
    const sent: Array<{ at: number; items: number[] }> = []
    const pushedAt = new Map<number, number>()
    const publisher = new PublishCoalescer<number>({
      send: (items) => sent.push({ at: clock, items }),
      windowMs: WINDOW,
      maxItems: 64,
      now: () => clock,
    })
    for (const [item, gap] of gaps.entries()) {
      advanceFinely(gap)
      pushedAt.set(item, clock)
      publisher.push(item)
      await afterCurrentTask()
    }
    advanceFinely(WINDOW)
    const waits = sent.flatMap(({ at, items }) => items.map((item) => at - (pushedAt.get(item) as number)))
    return { sent, waits, publisher }
  }

  /** The rule without early batches, for reference: a push one window or more after the last batch
   * goes at once, anything else leaves one window after the last batch. Returns each item's wait. */
  function plainRuleWaits(pushTimes: readonly number[]): { waits: number[]; batches: number } {
    const waits: number[] = []
    let lastSent = Number.NEGATIVE_INFINITY
    let queue: number[] = []
    let batches = 0
    const send = (at: number) => {
      for (const pushed of queue) waits.push(at - pushed)
      queue = []
      lastSent = at
      batches++
    }
    for (const at of pushTimes) {
      if (queue.length > 0 && lastSent + WINDOW <= at) send(lastSent + WINDOW)
      queue.push(at)
      if (lastSent + WINDOW <= at) send(at)
    }
    if (queue.length > 0) send(lastSent + WINDOW)
    return { waits, batches }
  }

  it('sends a batch with the last push before its window ends, keeping one batch per window', async () => {
    const pushes = 60
    const { sent, waits, publisher } = await publishEvery(new Array(pushes).fill(TICK))
    const plain = plainRuleWaits(Array.from({ length: pushes }, (_, item) => 1_000 + (item + 1) * TICK))
    const mean = (values: number[]) => values.reduce((sum, value) => sum + value, 0) / values.length
    // No more batches than the window allows, and no frame waits a window.
    expect(sent.length).toBeLessThanOrEqual(plain.batches)
    expect(Math.max(...waits)).toBeLessThan(WINDOW)
    // Most batches leave with a push instead of at the end of their window, and frames wait less
    // than under the plain rule (5.5 ms on average for 5 ms ticks and a 12 ms window).
    expect(publisher.earlyBatches.sent).toBeGreaterThan(sent.length / 2)
    expect(publisher.earlyBatches.missed).toBe(0)
    expect(mean(waits)).toBeLessThan(mean(plain.waits) - 0.5)
  })

  it('keeps the plain window for an irregular publisher', async () => {
    // Gaps of 1.5–9 ms: the mean deviation is most of the mean gap.
    const gaps = Array.from({ length: 60 }, (_, index) => [1.5, 9, 2, 8, 4][index % 5] as number)
    const { sent, publisher } = await publishEvery(gaps)
    expect(publisher.earlyBatches.sent).toBe(0)
    // Every batch after the first left at once or exactly one window after the one before.
    for (const [index, { at }] of sent.entries()) {
      if (index === 0) continue
      // (setTimeout counts whole milliseconds.)
      expect(at - (sent[index - 1] as { at: number }).at).toBeGreaterThanOrEqual(WINDOW - 1)
    }
  })

  it('costs a Poisson-like publisher next to no batches: its gaps predict nothing', async () => {
    // Exponential gaps with a 2 ms mean (500 frames/s), from a fixed seed, in whole milliseconds (as
    // setTimeout counts them, so the reference below holds exactly).
    let seed = 7
    const random = () => {
      seed = (seed * 1_103_515_245 + 12_345) % 2_147_483_648
      return seed / 2_147_483_648
    }
    const gaps = Array.from({ length: 3_000 }, () => Math.round(-Math.log(1 - random()) * 2))
    let at = 1_000
    const pushTimes = gaps.map((gap) => {
      at += gap
      return at
    })
    const { sent, publisher } = await publishEvery(gaps)
    const plain = plainRuleWaits(pushTimes)
    // An early batch a push undercuts costs one: they must stay rare.
    expect(sent.length).toBeLessThanOrEqual(plain.batches * 1.03)
    expect(publisher.earlyBatches.missed).toBeLessThanOrEqual(sent.length * 0.03)
  })

  it('holds a push that came sooner than predicted to the end of the window it missed', async () => {
    const sent: Array<{ at: number; items: number[] }> = []
    const publisher = new PublishCoalescer<number>({
      send: (items) => sent.push({ at: clock, items }),
      windowMs: WINDOW,
      maxItems: 64,
      now: () => clock,
    })
    // A regular publisher, until one of its pushes leaves early (before its window's end).
    let tick = 0
    for (; tick < 40; tick++) {
      advanceFinely(TICK)
      const early = publisher.earlyBatches.sent
      publisher.push(tick)
      await afterCurrentTask()
      if (tick > 10 && publisher.earlyBatches.sent > early) break
    }
    expect(tick).toBeLessThan(40)
    const early = sent.at(-1) as { at: number; items: number[] }
    const previous = sent.at(-2) as { at: number }
    expect(early.at).toBe(clock)
    const windowEnd = previous.at + WINDOW
    expect(windowEnd).toBeGreaterThan(clock)
    // 1 ms later, not the 5 the publisher's rhythm predicted: it waits, and goes when the early
    // batch's window ends — no sooner (that would be a batch more than the window allows), no
    // later (that is when it would have gone without the early batch).
    advanceFinely(1)
    publisher.push(100)
    await afterCurrentTask()
    expect(sent.at(-1)).toBe(early)
    expect(publisher.earlyBatches.missed).toBe(1)
    advanceFinely(windowEnd - clock - 0.5)
    expect(sent.at(-1)).toBe(early)
    advanceFinely(0.5)
    expect(sent.at(-1)).toEqual({ at: windowEnd, items: [100] })
  })
})

describe('PublishCoalescer with a window that follows the publishing rate', () => {
  /** Publishes at `perSecond` for `seconds` under full CPU pressure; returns the batch sizes. */
  async function publishAt(perSecond: number, seconds: number): Promise<number[]> {
    const sizes: number[] = []
    const loaded = new PublishCoalescer<number>({
      send: (items) => sizes.push(items.length),
      windowMs: (framesPerSecond) => pressureWindowMs(1, framesPerSecond),
      maxItems: 64,
      now: () => clock,
    })
    const gapMs = 1_000 / perSecond
    for (let frame = 0; frame < perSecond * seconds; frame++) {
      loaded.push(frame)
      await afterCurrentTask()
      advance(gapMs)
    }
    advance(BATCH_COALESCE_WINDOW_MAX_MS)
    expect(loaded.framesPerSecond).toBeGreaterThan(perSecond * 0.8)
    expect(loaded.framesPerSecond).toBeLessThan(perSecond * 1.2)
    return sizes
  }

  it('sends every frame at once at a low rate even when the machine is short of CPU', async () => {
    const sizes = await publishAt(100, 1)
    expect(sizes).toEqual(new Array(100).fill(1))
  })

  it('holds frames to the longest window at a high rate under CPU pressure', async () => {
    const sizes = await publishAt(1_000, 1)
    // Once the rate estimate has settled (a quarter second), a batch per 20 ms of 20 frames (the
    // last batch holds what was left when publishing stopped).
    const settled = sizes.slice(-21, -1)
    for (const size of settled) expect(size).toBeGreaterThanOrEqual(BATCH_COALESCE_WINDOW_MAX_MS - 1)
    expect(sizes.length).toBeLessThan(1_000 / BATCH_COALESCE_WINDOW_MAX_MS + 40)
  })
})

describe('pressureWindowMs', () => {
  it('keeps the base window at or below the low rate, whatever the pressure', () => {
    expect(pressureWindowMs(1, 0)).toBe(BATCH_COALESCE_WINDOW_MS)
    expect(pressureWindowMs(1, COALESCE_RATE_LOW)).toBe(BATCH_COALESCE_WINDOW_MS)
    const middle = (COALESCE_RATE_LOW + COALESCE_RATE_HIGH) / 2
    expect(pressureWindowMs(1, middle)).toBeCloseTo(
      (BATCH_COALESCE_WINDOW_MS + BATCH_COALESCE_WINDOW_MAX_MS) / 2,
    )
    expect(pressureWindowMs(1, COALESCE_RATE_HIGH)).toBe(BATCH_COALESCE_WINDOW_MAX_MS)
    expect(pressureWindowMs(0, COALESCE_RATE_HIGH * 10)).toBe(BATCH_COALESCE_WINDOW_MS)
  })

  it('keeps the base window when the pressure is low or unknown', () => {
    expect(pressureWindowMs(undefined)).toBe(BATCH_COALESCE_WINDOW_MS)
    expect(pressureWindowMs(0)).toBe(BATCH_COALESCE_WINDOW_MS)
    expect(pressureWindowMs(COALESCE_PRESSURE_LOW)).toBe(BATCH_COALESCE_WINDOW_MS)
  })

  it('grows linearly to the longest window at high pressure and no further', () => {
    const middle = (COALESCE_PRESSURE_LOW + COALESCE_PRESSURE_HIGH) / 2
    expect(pressureWindowMs(middle)).toBeCloseTo(
      (BATCH_COALESCE_WINDOW_MS + BATCH_COALESCE_WINDOW_MAX_MS) / 2,
    )
    expect(pressureWindowMs(COALESCE_PRESSURE_HIGH)).toBe(BATCH_COALESCE_WINDOW_MAX_MS)
    expect(pressureWindowMs(1)).toBe(BATCH_COALESCE_WINDOW_MAX_MS)
  })

  it('never shrinks as the pressure rises', () => {
    let previous = 0
    for (let share = 0; share <= 1; share += 0.01) {
      const window = pressureWindowMs(share)
      expect(window).toBeGreaterThanOrEqual(previous)
      previous = window
    }
  })
})
