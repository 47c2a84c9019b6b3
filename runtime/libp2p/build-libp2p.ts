/**
 * The one builder of a ClawMesh libp2p stack, for every process that runs one in Node: mesh nodes
 * (node/libp2p/create-node-libp2p.ts), the signaling relay, the CLI's client and pairing, and
 * tests. Each gets the same tuned WebSocket, Noise and yamux parts (tuned-stack.ts), identify, and
 * the agent announcement other ClawMesh peers read (protocol/mesh.ts formatAgentVersion); a caller
 * adds only what is its own — more transports, services, discovery, connection limits.
 *
 * Building a stack installs nothing process-wide beyond the tuned parts' own patches: native crypto
 * is installed by each composition root (native-crypto.ts).
 */
import { type Identify, identify } from '@libp2p/identify'
import type { ConnectionGater, Libp2p, PrivateKey, ServiceMap } from '@libp2p/interface'
import type { WebSocketsInit } from '@libp2p/websockets'
import { createLibp2p, type Libp2pOptions, type ServiceFactoryMap } from 'libp2p'
import { type AgentKind, formatAgentVersion, type MeshIdentity } from '../../protocol/mesh.ts'
import { CLAWMESH_VERSION } from '../version.ts'
import { tunedNoise, tunedWebSockets, tunedYamux } from './tuned-stack.ts'

export interface BuildLibp2pInit<T extends ServiceMap> {
  readonly privateKey: PrivateKey
  /** libp2p's node name (`clawmesh`, `clawmesh-relay`, `clawmesh-cli`, ...) and what the process
   * announces in identify: its kind and the mesh it belongs to. */
  readonly agent: { readonly name: string; readonly kind: AgentKind; readonly mesh: MeshIdentity }
  readonly gater: ConnectionGater
  readonly listen?: readonly string[]
  readonly announce?: readonly string[]
  /** Options of the WebSocket transport, e.g. `https` to listen on WSS. */
  readonly webSockets?: WebSocketsInit
  /** Transports after the WebSocket one (WebRTC, circuit relay). */
  readonly transports?: NonNullable<Libp2pOptions['transports']>
  readonly connectionManager?: Libp2pOptions['connectionManager']
  /** libp2p's connection monitor (pings every link, aborts one whose ping times out); its defaults
   * when absent. The scale bench relaxes it to tell CPU starvation from gossip (docs/scale.md). */
  readonly connectionMonitor?: Libp2pOptions['connectionMonitor']
  readonly peerDiscovery?: NonNullable<Libp2pOptions['peerDiscovery']>
  /** Services beside identify, which every stack runs. */
  readonly services?: ServiceFactoryMap<T>
}

/** The gater of a client that only dials the node its user names (the CLI's client and pairing):
 * every address may be dialled, loopback and private ones included, since that is where a site's
 * nodes are; the node it dials decides whether to serve it. */
export const DIAL_ANY_ADDRESS: ConnectionGater = { denyDialMultiaddr: () => false }

export type ClawMeshLibp2p<T extends ServiceMap> = Libp2p<T & { identify: Identify }>

export function buildLibp2p<T extends ServiceMap = Record<string, never>>(
  init: BuildLibp2pInit<T>,
): Promise<ClawMeshLibp2p<T>> {
  // identify's factory takes fewer components than the map's type demands; that is safe.
  const services = { identify: identify(), ...init.services } as ServiceFactoryMap<T & { identify: Identify }>
  return createLibp2p({
    privateKey: init.privateKey,
    nodeInfo: {
      name: init.agent.name,
      version: CLAWMESH_VERSION,
      userAgent: formatAgentVersion({ ...init.agent.mesh, kind: init.agent.kind, version: CLAWMESH_VERSION }),
    },
    addresses: { listen: [...(init.listen ?? [])], announce: [...(init.announce ?? [])] },
    transports: [tunedWebSockets(init.webSockets), ...(init.transports ?? [])],
    connectionEncrypters: [tunedNoise()],
    streamMuxers: [tunedYamux()],
    connectionGater: init.gater,
    ...(init.connectionManager === undefined ? {} : { connectionManager: init.connectionManager }),
    ...(init.connectionMonitor === undefined ? {} : { connectionMonitor: init.connectionMonitor }),
    peerDiscovery: [...(init.peerDiscovery ?? [])],
    services,
  })
}
