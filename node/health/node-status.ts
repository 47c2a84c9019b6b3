/** `mesh.status`: who this node is, how long it has run, its links, static peers, planner and leader. */
import { transportOf } from '../../protocol/link-posture.ts'
import type { MeshIdentity } from '../../protocol/mesh.ts'
import type { MeshStatus } from '../../protocol/rpc/methods.ts'
import type { TrustStore } from '../../runtime/trust/trust-store.ts'
import { CLAWMESH_VERSION } from '../../runtime/version.ts'
import type { NodeConfig } from '../config.ts'
import type { NodeLibp2p } from '../libp2p/create-node-libp2p.ts'
import type { Membership } from '../mesh/membership.ts'
import type { StaticPeerDialer } from '../mesh/static-peer-dialer.ts'
import type { PlannerElection } from '../planner/election.ts'
import type { PlannerRuntime } from '../planner/planner-runtime.ts'

export interface NodeStatusInit {
  deviceId: string
  config: Pick<NodeConfig, 'name' | 'role' | 'discovery'>
  mesh: MeshIdentity
  startedAt: number
  capabilities: readonly string[]
  libp2p: NodeLibp2p
  trust: TrustStore
  membership: Membership
  staticPeerDialer: StaticPeerDialer
  planner: PlannerRuntime
  election: PlannerElection
}

export function createStatusReport(init: NodeStatusInit): () => MeshStatus {
  const { libp2p, membership, config, mesh, startedAt } = init
  const kindOf = (deviceId: string) => {
    const kind = membership.agentOf(deviceId)?.kind
    return kind === undefined ? {} : { kind }
  }
  const leaderStatus = () => {
    const leader = init.election.status()
    return leader === undefined ? {} : { leader }
  }
  return () => ({
    deviceId: init.deviceId,
    name: config.name,
    role: config.role,
    meshName: mesh.meshName,
    generation: mesh.generation,
    version: CLAWMESH_VERSION,
    startedAt,
    uptimeMs: Date.now() - startedAt,
    listenAddrs: libp2p.getMultiaddrs().map((address) => address.toString()),
    capabilities: [...init.capabilities],
    connections: libp2p.getConnections().map((connection) => ({
      deviceId: connection.remotePeer.toString(),
      remoteAddr: connection.remoteAddr.toString(),
      direction: connection.direction,
      transport: transportOf(connection.remoteAddr.toString()),
      ...kindOf(connection.remotePeer.toString()),
      openedAt: connection.timeline.open,
    })),
    trustedPeerCount: init.trust.size,
    discovery: config.discovery ? 'mdns' : 'off',
    staticPeers: init.staticPeerDialer.states(),
    ...(init.planner.session === undefined ? {} : { planner: init.planner.status() }),
    ...leaderStatus(),
  })
}
