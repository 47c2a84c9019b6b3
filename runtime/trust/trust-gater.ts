/**
 * The libp2p connection gater that makes the trust store a hard boundary: every connection, on
 * every transport (WebSockets, WebRTC, relayed), is refused right after the Noise handshake unless
 * the remote key is allowed. Refusals are reported so they are counted and visible.
 */
import type { ConnectionGater, PeerId } from '@libp2p/interface'

export interface TrustGaterInit {
  isAllowed(deviceId: string): boolean
  onRefused(direction: 'inbound' | 'outbound', deviceId: string): void
  /** Refuses any dial to a key, whatever asked for it (the static-peer dialer's TLS pin check). */
  refusesDialTo?(deviceId: string): boolean
}

export function createTrustGater(init: TrustGaterInit): ConnectionGater {
  const refuse = (direction: 'inbound' | 'outbound', peerId: PeerId): boolean => {
    const deviceId = peerId.toString()
    if (init.isAllowed(deviceId)) return false
    init.onRefused(direction, deviceId)
    return true
  }
  return {
    // Private and loopback addresses are normal on a field LAN and in tests; the default gater
    // would refuse them.
    denyDialMultiaddr: () => false,
    denyDialPeer: (peerId) => init.refusesDialTo?.(peerId.toString()) ?? false,
    denyInboundEncryptedConnection: (peerId) => refuse('inbound', peerId),
    denyOutboundEncryptedConnection: (peerId) => refuse('outbound', peerId),
  }
}
