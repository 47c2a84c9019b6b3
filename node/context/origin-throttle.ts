/**
 * Per-origin throttle on gossip context batches, applied by the gossip validator after a batch's
 * envelope is read and before any frame or signature of it is checked: a trusted peer publishing as
 * fast as it can costs this node a JSON parse per message, not a verification. Batches over the
 * limits are ignored (not rejected: they are not invalid, only too many), counted per origin, and a
 * peer that keeps overrunning has its gossipsub score pushed down (GOSSIP_FLOOD_PENALTY_SCORE), so
 * gossipsub graylists it and drops what it sends before hashing or validating it.
 *
 * The bucket belongs to the origin as it reached this node: the origin's own when the origin
 * delivered the batch itself, else "that origin via that forwarder". The origin is only claimed at
 * this point, so a peer relaying batches that name another origin drains its own bucket for that
 * origin, never the origin's. For the same reason only overruns a peer delivered itself count
 * towards its penalty: relayed ones score nobody down.
 */
import {
  GOSSIP_FLOOD_PENALTY_MS,
  GOSSIP_FLOOD_PENALTY_SCORE,
  GOSSIP_ORIGIN_BATCHES_BURST,
  GOSSIP_ORIGIN_BATCHES_PER_SECOND,
  GOSSIP_ORIGIN_FRAMES_BURST,
  GOSSIP_ORIGIN_FRAMES_PER_SECOND,
  GOSSIP_OVERRUNS_BEFORE_PENALTY,
} from '../../protocol/limits.ts'
import type { ThrottledPeers } from '../health/throttled-peers.ts'

export interface OriginThrottleLimits {
  readonly batchesPerSecond: number
  readonly batchesBurst: number
  readonly framesPerSecond: number
  readonly framesBurst: number
  readonly overrunsBeforePenalty: number
  readonly penaltyMs: number
}

export const DEFAULT_ORIGIN_THROTTLE_LIMITS: OriginThrottleLimits = {
  batchesPerSecond: GOSSIP_ORIGIN_BATCHES_PER_SECOND,
  batchesBurst: GOSSIP_ORIGIN_BATCHES_BURST,
  framesPerSecond: GOSSIP_ORIGIN_FRAMES_PER_SECOND,
  framesBurst: GOSSIP_ORIGIN_FRAMES_BURST,
  overrunsBeforePenalty: GOSSIP_OVERRUNS_BEFORE_PENALTY,
  penaltyMs: GOSSIP_FLOOD_PENALTY_MS,
}

export interface OriginThrottleInit {
  throttled: ThrottledPeers
  limits?: Partial<OriginThrottleLimits>
  /** Called when a peer's penalty starts, so its gossipsub score is recomputed at once. */
  onPenalty?(deviceId: string): void
  now?: () => number
}

export type ThrottleVerdict =
  | { readonly verdict: 'accept' }
  | { readonly verdict: 'ignore'; readonly reason: 'batches' | 'frames' }

interface Buckets {
  batches: number
  frames: number
  refilledAt: number
}

interface Overruns {
  count: number
  lastAt: number
  penalisedUntil: number
}

/** Buckets untouched this long are full again, so they are forgotten. */
const IDLE_BUCKET_EVICTION_MS = 60_000

export class OriginThrottle {
  readonly #limits: OriginThrottleLimits
  readonly #init: OriginThrottleInit
  readonly #now: () => number
  readonly #buckets = new Map<string, Buckets>()
  readonly #overruns = new Map<string, Overruns>()

  constructor(init: OriginThrottleInit) {
    this.#init = init
    this.#limits = { ...DEFAULT_ORIGIN_THROTTLE_LIMITS, ...init.limits }
    this.#now = init.now ?? Date.now
  }

  /** Whether a batch of `frames` frames claiming `origin`, delivered by `forwarder`, may be
   * verified. An ignored batch is counted and, when the origin delivered it itself, an overrun. */
  admit(origin: string, frames: number, forwarder: string): ThrottleVerdict {
    const now = this.#now()
    const key = origin === forwarder ? origin : `${origin} via ${forwarder}`
    const buckets = this.#refill(key, now)
    let reason: 'batches' | 'frames' | undefined
    if (buckets.batches < 1) reason = 'batches'
    else if (buckets.frames < frames) reason = 'frames'
    if (reason === undefined) {
      buckets.batches -= 1
      buckets.frames -= frames
      return { verdict: 'accept' }
    }
    this.#init.throttled.note(origin, { gossipMessages: 1, gossipFrames: frames })
    if (origin === forwarder) this.#overrun(forwarder)
    return { verdict: 'ignore', reason }
  }

  /** One gossip message `forwarder` delivered over the per-forwarder message rate
   * (context-service.ts): counted for it, and an overrun it is answerable for. */
  forwarderOverrun(forwarder: string): void {
    this.#init.throttled.note(forwarder, { gossipMessages: 1 })
    this.#overrun(forwarder)
  }

  /** An ignored message `deviceId` is answerable for: past the threshold within the penalty window,
   * its score is pushed down until GOSSIP_FLOOD_PENALTY_MS after its last overrun. */
  #overrun(deviceId: string): void {
    const now = this.#now()
    let record = this.#overruns.get(deviceId)
    if (record === undefined || now - record.lastAt > this.#limits.penaltyMs) {
      record = { count: 0, lastAt: now, penalisedUntil: 0 }
      this.#overruns.set(deviceId, record)
    }
    record.count += 1
    record.lastAt = now
    if (record.count < this.#limits.overrunsBeforePenalty) return
    const starting = record.penalisedUntil <= now
    record.penalisedUntil = now + this.#limits.penaltyMs
    this.#init.throttled.penalised(deviceId, record.penalisedUntil)
    if (starting) this.#init.onPenalty?.(deviceId)
  }

  /** The gossipsub application score to add for `deviceId`: the flood penalty while it lasts. */
  penaltyOf(deviceId: string): number {
    const record = this.#overruns.get(deviceId)
    return record !== undefined && record.penalisedUntil > this.#now() ? GOSSIP_FLOOD_PENALTY_SCORE : 0
  }

  #refill(key: string, now: number): Buckets {
    let buckets = this.#buckets.get(key)
    if (buckets === undefined) {
      this.#evictIdle(now)
      buckets = { batches: this.#limits.batchesBurst, frames: this.#limits.framesBurst, refilledAt: now }
      this.#buckets.set(key, buckets)
      return buckets
    }
    const elapsedSeconds = Math.max(0, now - buckets.refilledAt) / 1000
    buckets.batches = Math.min(
      this.#limits.batchesBurst,
      buckets.batches + elapsedSeconds * this.#limits.batchesPerSecond,
    )
    buckets.frames = Math.min(
      this.#limits.framesBurst,
      buckets.frames + elapsedSeconds * this.#limits.framesPerSecond,
    )
    buckets.refilledAt = now
    return buckets
  }

  #evictIdle(now: number): void {
    if (this.#buckets.size < 64) return
    for (const [key, buckets] of this.#buckets)
      if (now - buckets.refilledAt > IDLE_BUCKET_EVICTION_MS) this.#buckets.delete(key)
    for (const [deviceId, record] of this.#overruns)
      if (now - record.lastAt > this.#limits.penaltyMs && record.penalisedUntil <= now)
        this.#overruns.delete(deviceId)
  }
}
