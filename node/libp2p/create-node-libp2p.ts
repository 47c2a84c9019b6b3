/**
 * Assembles the libp2p stack of a mesh node: WebSockets, WebRTC and circuit-relay transports,
 * Noise, yamux, identify, ping and gossipsub, with the trust gater on every connection. Only this
 * file knows how the stack is put together.
 */
import { circuitRelayTransport } from '@libp2p/circuit-relay-v2'
import { gossipsub } from '@libp2p/gossipsub'
import { identify } from '@libp2p/identify'
import type { ConnectionGater, PrivateKey } from '@libp2p/interface'
import { mdns } from '@libp2p/mdns'
import { noise } from '@libp2p/noise'
import { ping } from '@libp2p/ping'
import { webRTC } from '@libp2p/webrtc'
import { webSockets } from '@libp2p/websockets'
import { yamux } from '@libp2p/yamux'
import { createLibp2p } from 'libp2p'
import { formatAgentVersion, type MeshIdentity } from '../../protocol/mesh.ts'
import { CLAWMESH_VERSION } from '../version.ts'

export interface NodeLibp2pInit {
  privateKey: PrivateKey
  mesh: MeshIdentity
  listen: string[]
  gater: ConnectionGater
  /** LAN discovery with mDNS. Announcements use a mesh-specific service tag, so nodes of other meshes
   * are not even offered to us; untrusted announcers are ignored by the caller. */
  discovery?: boolean
  /** ICE servers for WebRTC. Empty by default: no public STUN server is contacted unless configured. */
  iceServers?: Array<{ urls: string | string[]; username?: string; credential?: string }>
}

export async function createNodeLibp2p(init: NodeLibp2pInit) {
  return createLibp2p({
    privateKey: init.privateKey,
    nodeInfo: {
      name: 'clawmesh',
      version: CLAWMESH_VERSION,
      userAgent: formatAgentVersion({ ...init.mesh, kind: 'node', version: CLAWMESH_VERSION }),
    },
    addresses: { listen: init.listen },
    transports: [
      webSockets(),
      webRTC({ rtcConfiguration: { iceServers: init.iceServers ?? [] } }),
      circuitRelayTransport(),
    ],
    connectionEncrypters: [noise()],
    streamMuxers: [yamux()],
    connectionGater: init.gater,
    peerDiscovery:
      init.discovery === true
        ? [mdns({ serviceTag: mdnsServiceTag(init.mesh), interval: MDNS_QUERY_INTERVAL_MS })]
        : [],
    services: {
      identify: identify(),
      ping: ping(),
      pubsub: gossipsub({ allowPublishToZeroTopicPeers: true, emitSelf: false }),
    },
  })
}

/** How often a node re-asks the LAN who is there. A node that boots late is found within this time. */
export const MDNS_QUERY_INTERVAL_MS = 5_000

export function mdnsServiceTag(mesh: MeshIdentity): string {
  return `_clawmesh-${mesh.meshName.replaceAll('.', '-')}-${mesh.generation}._udp.local`
}

export type NodeLibp2p = Awaited<ReturnType<typeof createNodeLibp2p>>
