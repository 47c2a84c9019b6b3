import { describe, expect, it } from 'vitest'
import { PeerLimiter } from './peer-limiter.ts'

describe('PeerLimiter', () => {
  it('limits a peer to its burst, refills over time, and leaves other peers alone', () => {
    let now = 0
    const limiter = new PeerLimiter({ ratePerSecond: 10, burst: 3, maxConcurrent: 100, now: () => now })
    const admitted = [1, 2, 3, 4].map(() => limiter.admit('noisy'))
    expect(admitted.map((a) => a.admitted)).toEqual([true, true, true, false])
    expect(limiter.admit('quiet').admitted).toBe(true)
    now += 100
    expect(limiter.admit('noisy').admitted).toBe(true)
  })

  it('caps concurrent requests until one is released', () => {
    const limiter = new PeerLimiter({ ratePerSecond: 1000, burst: 1000, maxConcurrent: 2, now: () => 0 })
    const first = limiter.admit('p')
    limiter.admit('p')
    expect(limiter.admit('p')).toEqual({ admitted: false, reason: 'concurrency' })
    if (first.admitted) first.release()
    expect(limiter.admit('p').admitted).toBe(true)
  })
})
