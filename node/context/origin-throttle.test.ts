import { describe, expect, it } from 'vitest'
import { GOSSIP_FLOOD_PENALTY_SCORE } from '../../protocol/limits.ts'
import { ThrottledPeers } from '../health/throttled-peers.ts'
import { OriginThrottle } from './origin-throttle.ts'

const A = '12D3KooWPDgUCsmdPD9z8yMxtcBRYWEXZmr8byGpr2fFR4gnottJ'
const B = '12D3KooWCmrHq5eANWPYyn5fFN1QrrBXZfsdnoReyagm2TeLLLTN'

function throttleAt(limits = {}) {
  const clock = { now: 1_000_000 }
  const throttled = new ThrottledPeers(() => clock.now)
  const penalised: string[] = []
  const throttle = new OriginThrottle({
    throttled,
    now: () => clock.now,
    limits: {
      batchesPerSecond: 10,
      batchesBurst: 20,
      framesPerSecond: 100,
      framesBurst: 200,
      overrunsBeforePenalty: 5,
      penaltyMs: 1_000,
      ...limits,
    },
    onPenalty: (deviceId) => penalised.push(deviceId),
  })
  return { clock, throttled, throttle, penalised }
}

describe('OriginThrottle', () => {
  it('admits the burst, ignores the next batch, and refills at the batch rate', () => {
    const { clock, throttle, throttled } = throttleAt()
    for (let index = 0; index < 20; index++) expect(throttle.admit(A, 1, A).verdict).toBe('accept')
    expect(throttle.admit(A, 1, A)).toEqual({ verdict: 'ignore', reason: 'batches' })
    clock.now += 100 // one batch at 10/s
    expect(throttle.admit(A, 1, A).verdict).toBe('accept')
    expect(throttle.admit(A, 1, A).verdict).toBe('ignore')
    expect(throttled.get(A)).toMatchObject({ gossipMessages: 2, gossipFrames: 2, rpcRequests: 0 })
  })

  it('ignores a batch whose frames exceed the frame budget though batches remain', () => {
    const { throttle } = throttleAt()
    expect(throttle.admit(A, 150, A).verdict).toBe('accept')
    expect(throttle.admit(A, 51, A)).toEqual({ verdict: 'ignore', reason: 'frames' })
    expect(throttle.admit(A, 50, A).verdict).toBe('accept')
  })

  it('scores an origin down at the overrun threshold, once, and lifts it a penalty window later', () => {
    const { clock, throttle, throttled, penalised } = throttleAt()
    for (let index = 0; index < 20; index++) throttle.admit(A, 1, A)
    for (let index = 0; index < 4; index++) throttle.admit(A, 1, A)
    expect(throttle.penaltyOf(A)).toBe(0)
    throttle.admit(A, 1, A)
    expect(throttle.penaltyOf(A)).toBe(GOSSIP_FLOOD_PENALTY_SCORE)
    throttle.admit(A, 1, A)
    expect(penalised).toEqual([A])
    expect(throttled.get(A)?.scoredDown).toBe(true)
    clock.now += 1_001
    expect(throttle.penaltyOf(A)).toBe(0)
    expect(throttled.get(A)?.scoredDown).toBe(false)
  })

  it('keeps a relayed origin in the forwarder’s own bucket and scores nobody for it', () => {
    const { throttle, penalised } = throttleAt()
    // B relays (or forges) batches naming A: B's bucket for A drains, A's own does not.
    for (let index = 0; index < 40; index++) throttle.admit(A, 1, B)
    expect(throttle.admit(A, 1, B).verdict).toBe('ignore')
    expect(throttle.admit(A, 1, A).verdict).toBe('accept')
    expect(throttle.penaltyOf(A)).toBe(0)
    expect(throttle.penaltyOf(B)).toBe(0)
    expect(penalised).toEqual([])
  })

  it('counts per-forwarder overruns towards the penalty', () => {
    const { throttle, throttled } = throttleAt()
    for (let index = 0; index < 5; index++) throttle.forwarderOverrun(B)
    expect(throttle.penaltyOf(B)).toBe(GOSSIP_FLOOD_PENALTY_SCORE)
    expect(throttled.get(B)).toMatchObject({ gossipMessages: 5, scoredDown: true })
  })

  it('forgets overruns spread wider than the penalty window', () => {
    const { clock, throttle } = throttleAt()
    for (let index = 0; index < 4; index++) throttle.forwarderOverrun(B)
    clock.now += 1_001
    throttle.forwarderOverrun(B)
    expect(throttle.penaltyOf(B)).toBe(0)
  })
})
