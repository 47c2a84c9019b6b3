/**
 * mDNS offers peers of our mesh (the service tag carries the mesh name). Untrusted announcers are
 * ignored and counted; for a trusted pair only the lower device ID dials, so two nodes that find
 * each other at the same moment do not open duplicate connections. Announcements that arrive
 * before the node has started (libp2p runs while the node is still being assembled) are ignored.
 */
import { peerIdFromString } from '@libp2p/peer-id'
import type { Multiaddr } from '@multiformats/multiaddr'
import type { Counters } from '../../runtime/counters.ts'
import type { TrustStore } from '../../runtime/trust/trust-store.ts'
import type { NodeLibp2p } from '../libp2p/create-node-libp2p.ts'
import type { Startable } from '../lifecycle.ts'

/** A LAN dial that has not connected by then has failed; mDNS announces the peer again. */
const LAN_DIAL_TIMEOUT_MS = 10_000

export interface LanPeersInit {
  deviceId: string
  trust: TrustStore
  counters: Counters
  /** libp2p is created (and running) after this part: it hands mDNS announcements to offer(). */
  libp2p: () => NodeLibp2p
}

export class LanPeers implements Startable {
  readonly name = 'lan-peers'
  /** Trusted peers mDNS announced: their link posture says `mdns`. */
  readonly discovered = new Set<string>()
  readonly #init: LanPeersInit
  readonly #dialling = new Set<string>()
  #running = false

  constructor(init: LanPeersInit) {
    this.#init = init
  }

  start(): void {
    this.#running = true
  }

  stop(): void {
    this.#running = false
  }

  offer(remote: string, addresses: Multiaddr[]): void {
    if (!this.#running) return
    const { deviceId, trust, counters } = this.#init
    if (remote === deviceId) return
    if (!trust.has(remote)) {
      counters.increment('discovery.ignored.untrusted')
      return
    }
    this.discovered.add(remote)
    const libp2p = this.#init.libp2p()
    if (libp2p.getConnections(peerIdFromString(remote)).length > 0 || this.#dialling.has(remote)) return
    if (deviceId > remote) return
    this.#dialling.add(remote)
    libp2p
      .dial(addresses.length > 0 ? addresses : peerIdFromString(remote), {
        signal: AbortSignal.timeout(LAN_DIAL_TIMEOUT_MS),
      })
      .catch(() => counters.increment('discovery.dial.failed'))
      .finally(() => this.#dialling.delete(remote))
  }
}
