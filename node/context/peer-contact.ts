/**
 * When this node last heard each peer on the context topic, and when a gap in what it heard must be
 * filled with a catch-up (`context.sync` from that peer).
 *
 * Catch-up used to run only when a peer (re)connected, asking for frames since the disconnect. Both
 * halves lost frames under a partition (test/faults/partition.test.ts): libp2p's connection monitor
 * aborts a link only after a ping times out, so the disconnect is stamped seconds after the cut and
 * frames published in between were never asked for; and a cut shorter than that leaves the
 * connection up, so no catch-up ran at all while gossipsub, whose message cache is a few heartbeats
 * long, resent nothing. Now the reference point is the last time the peer was *heard*, and hearing
 * a peer again after CATCHUP_AFTER_SILENCE_MS of silence starts a catch-up as a reconnect does.
 * Time is injected.
 */
import { BoundedLru } from '../../protocol/lru.ts'
import { CATCHUP_AFTER_SILENCE_MS, PEER_CONTACT_MAX_PEERS } from './constants.ts'

export interface PeerContactInit {
  readonly now?: () => number
  /** Silence after which hearing a peer again means frames may have been missed. */
  readonly silenceMs?: number
}

/** What hearing a peer means: nothing to do, or a gap since `since` to fill from it. */
export type Contact = { readonly gap: false } | { readonly gap: true; readonly since: number }

export class PeerContact {
  readonly #now: () => number
  readonly #silenceMs: number
  readonly #lastHeard = new BoundedLru<string, number>(PEER_CONTACT_MAX_PEERS)

  constructor(init: PeerContactInit = {}) {
    this.#now = init.now ?? Date.now
    this.#silenceMs = init.silenceMs ?? CATCHUP_AFTER_SILENCE_MS
  }

  /** Records that a peer was heard now (any gossip message it forwarded, valid or not: the link
   * carried it). A peer heard before and silent for at least the silence bound has a gap to fill
   * since it was last heard; a peer never heard before has none here (its connect starts the
   * catch-up). */
  heard(peer: string): Contact {
    const now = this.#now()
    const last = this.#lastHeard.get(peer)
    this.#lastHeard.set(peer, now)
    if (last === undefined || now - last < this.#silenceMs) return { gap: false }
    return { gap: true, since: last }
  }

  /** When the peer was last heard, if ever: where a catch-up on reconnect starts from. */
  lastHeard(peer: string): number | undefined {
    return this.#lastHeard.get(peer)
  }

  get size(): number {
    return this.#lastHeard.size
  }
}
