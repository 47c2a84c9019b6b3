import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { startPollLoop } from './poll-loop.ts'

beforeEach(() => {
  vi.useFakeTimers()
})
afterEach(() => {
  vi.useRealTimers()
})

describe('a poll loop', () => {
  it('ticks at once, then every interval after the tick ends', async () => {
    const ticks: number[] = []
    const loop = startPollLoop(1_000, () => {
      ticks.push(Date.now())
    })
    await vi.advanceTimersByTimeAsync(2_500)
    loop.stop()
    expect(ticks.map((at) => at - ticks[0]!)).toEqual([0, 1_000, 2_000])
  })

  it('stopping one loop leaves the other running, and a stopped loop never ticks again', async () => {
    let fast = 0
    let slow = 0
    const fastLoop = startPollLoop(1_000, () => {
      fast++
    })
    const slowLoop = startPollLoop(5_000, () => {
      slow++
    })
    await vi.advanceTimersByTimeAsync(500)
    fastLoop.stop()
    const fastAtStop = fast
    await vi.advanceTimersByTimeAsync(10_000)
    expect(fast).toBe(fastAtStop)
    expect(fastLoop.stopped).toBe(true)
    expect(slow).toBe(3)
    slowLoop.stop()
    await vi.advanceTimersByTimeAsync(10_000)
    expect(slow).toBe(3)
  })

  it('stopped in the middle of its wait, it ends at once rather than after the wait (no timer left)', async () => {
    const loop = startPollLoop(60_000, () => {})
    await vi.advanceTimersByTimeAsync(0)
    expect(vi.getTimerCount()).toBe(1)
    loop.stop()
    await vi.advanceTimersByTimeAsync(0)
    expect(vi.getTimerCount()).toBe(0)
  })

  it('a failing tick does not end the loop', async () => {
    let ticks = 0
    const loop = startPollLoop(1_000, async () => {
      ticks++
      throw new Error('the command center is unreachable')
    })
    await vi.advanceTimersByTimeAsync(2_500)
    loop.stop()
    expect(ticks).toBe(3)
  })
})
