/**
 * Which peers this node has throttled lately and how much of their traffic it turned away: gossip
 * messages and frames over the origin limits (node/context/origin-throttle.ts) and RPC requests
 * answered RATE_LIMITED (runtime/rpc/rpc-server.ts). `mesh.health` lists them and `clawmesh status`
 * prints them as the THROTTLED PEERS table, so a flood is visible by peer, not only as a counter.
 */
import { THROTTLED_PEER_LISTED_MS, THROTTLED_PEERS_MAX } from '../../protocol/limits.ts'
import type { ThrottledPeer } from '../../protocol/rpc/methods.ts'

export interface ThrottledAmounts {
  readonly gossipMessages?: number
  readonly gossipFrames?: number
  readonly rpcRequests?: number
}

interface Entry {
  gossipMessages: number
  gossipFrames: number
  rpcRequests: number
  lastAt: number
  penalisedUntil: number | undefined
}

export class ThrottledPeers {
  readonly #entries = new Map<string, Entry>()
  readonly #now: () => number

  constructor(now: () => number = Date.now) {
    this.#now = now
  }

  /** Adds what was turned away from `deviceId`. True when the peer starts a new episode (it was not
   * listed as throttled), so a caller raises one event per episode rather than one per refusal. */
  note(deviceId: string, amounts: ThrottledAmounts): boolean {
    const now = this.#now()
    let entry = this.#entries.get(deviceId)
    const fresh = entry === undefined || now - entry.lastAt > THROTTLED_PEER_LISTED_MS
    if (entry === undefined) {
      this.#evictOldest()
      entry = { gossipMessages: 0, gossipFrames: 0, rpcRequests: 0, lastAt: now, penalisedUntil: undefined }
      this.#entries.set(deviceId, entry)
    }
    entry.gossipMessages += amounts.gossipMessages ?? 0
    entry.gossipFrames += amounts.gossipFrames ?? 0
    entry.rpcRequests += amounts.rpcRequests ?? 0
    entry.lastAt = now
    return fresh
  }

  /** Records that the peer's gossip score is pushed down until `until`. */
  penalised(deviceId: string, until: number): void {
    this.note(deviceId, {})
    const entry = this.#entries.get(deviceId)
    if (entry !== undefined) entry.penalisedUntil = until
  }

  get(deviceId: string): ThrottledPeer | undefined {
    const entry = this.#entries.get(deviceId)
    return entry === undefined ? undefined : this.#view(deviceId, entry, this.#now())
  }

  /** Peers throttled within the listing window, most recent first. */
  list(): ThrottledPeer[] {
    const now = this.#now()
    return [...this.#entries]
      .filter(([, entry]) => now - entry.lastAt <= THROTTLED_PEER_LISTED_MS)
      .sort(([, a], [, b]) => b.lastAt - a.lastAt)
      .map(([deviceId, entry]) => this.#view(deviceId, entry, now))
  }

  #view(deviceId: string, entry: Entry, now: number): ThrottledPeer {
    return {
      deviceId,
      gossipMessages: entry.gossipMessages,
      gossipFrames: entry.gossipFrames,
      rpcRequests: entry.rpcRequests,
      lastAt: entry.lastAt,
      scoredDown: entry.penalisedUntil !== undefined && entry.penalisedUntil > now,
    }
  }

  #evictOldest(): void {
    if (this.#entries.size < THROTTLED_PEERS_MAX) return
    let oldest: [string, number] | undefined
    for (const [deviceId, entry] of this.#entries)
      if (oldest === undefined || entry.lastAt < oldest[1]) oldest = [deviceId, entry.lastAt]
    if (oldest !== undefined) this.#entries.delete(oldest[0])
  }
}
