/**
 * The peer table (`mesh.peers`, the planner's view of the mesh): every trusted key, merged with
 * what membership knows of the peers that connected — state, kind, role, capabilities, latency —
 * and the posture of the link each is reached over.
 */
import { peerIdFromString } from '@libp2p/peer-id'
import { describeLinkPosture } from '../../protocol/link-posture.ts'
import type { PeerEntry } from '../../protocol/rpc/methods.ts'
import type { StaticPeer } from '../../protocol/static-peer.ts'
import type { TrustStore } from '../../runtime/trust/trust-store.ts'
import type { NodeLibp2p } from '../libp2p/create-node-libp2p.ts'
import type { Membership } from './membership.ts'

export interface PeerTableInit {
  trust: TrustStore
  membership: Membership
  libp2p: NodeLibp2p
  /** The local CLI key: a connected admin is listed as trusted though it is not in the store. */
  localAdminId: string
  staticPeers: readonly StaticPeer[]
  /** Whether mDNS runs, and the trusted peers it announced. */
  discovery: boolean
  discovered: ReadonlySet<string>
}

export function createPeerTable(init: PeerTableInit): () => PeerEntry[] {
  const { trust, membership, libp2p } = init
  const staticPeerById = new Map(init.staticPeers.map((peer) => [peer.deviceId, peer]))
  return () => {
    const entries = new Map<string, PeerEntry>()
    for (const trusted of trust.list()) {
      entries.set(trusted.deviceId, {
        deviceId: trusted.deviceId,
        ...(trusted.name === undefined ? {} : { name: trusted.name }),
        trusted: true,
        state: 'disconnected',
        capabilities: [],
        addresses: [],
      })
    }
    for (const record of membership.entries()) {
      const existing = entries.get(record.deviceId)
      const entry: PeerEntry = existing ?? {
        deviceId: record.deviceId,
        trusted: record.deviceId === init.localAdminId,
        state: record.state,
        capabilities: [],
        addresses: [],
      }
      entry.state = record.state
      entry.lastSeen = record.lastSeen
      if (record.agent !== undefined) entry.kind = record.agent.kind
      if (record.refusal !== undefined) entry.refusal = record.refusal
      if (record.latencyMs !== undefined) entry.latencyMs = record.latencyMs
      if (record.info !== undefined) {
        entry.name = record.info.name
        entry.role = record.info.role
        entry.capabilities = record.info.capabilities
      }
      const connection = libp2p.getConnections(peerIdFromString(record.deviceId))[0]
      if (connection !== undefined) {
        entry.posture = describeLinkPosture(
          connection.remoteAddr.toString(),
          staticPeerById.get(record.deviceId),
          init.discovery && init.discovered.has(record.deviceId),
        )
      }
      entry.addresses = libp2p
        .getConnections()
        .filter((connection) => connection.remotePeer.toString() === record.deviceId)
        .map((connection) => connection.remoteAddr.toString())
      entries.set(record.deviceId, entry)
    }
    return [...entries.values()]
  }
}
