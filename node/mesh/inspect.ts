/** `mesh.inspect`: the node's libp2p internals as an operator debugging a link needs them. */
import { transportOf } from '../../protocol/link-posture.ts'
import type { MeshInspect } from '../../protocol/rpc/methods.ts'
import type { NodeLibp2p } from '../libp2p/create-node-libp2p.ts'
import { siteSteeringOf } from '../libp2p/gossip-site.ts'

export function inspect(libp2p: NodeLibp2p): MeshInspect {
  const pubsub = libp2p.services.pubsub
  // Scores and mesh peers live on the implementation class, not the published interface.
  const internals = pubsub as unknown as {
    getScore?(peer: string): number
    getMeshPeers?(topic: string): string[]
  }
  const site = siteSteeringOf(pubsub)
  const connections = libp2p.getConnections()
  const scores: Record<string, number> = {}
  for (const connection of connections) {
    const deviceId = connection.remotePeer.toString()
    scores[deviceId] = internals.getScore?.(deviceId) ?? 0
  }
  return {
    connections: connections.map((connection) => ({
      deviceId: connection.remotePeer.toString(),
      remoteAddr: connection.remoteAddr.toString(),
      direction: connection.direction,
      transport: transportOf(connection.remoteAddr.toString()),
      limited: connection.limits !== undefined,
      ...(connection.encryption === undefined ? {} : { encryption: connection.encryption }),
      ...(connection.multiplexer === undefined ? {} : { multiplexer: connection.multiplexer }),
      streams: connection.streams.map((stream) => ({
        ...(stream.protocol === undefined ? {} : { protocol: stream.protocol }),
        direction: stream.direction,
      })),
    })),
    gossipsub: {
      topics: pubsub.getTopics().map((topic) => ({
        topic,
        meshPeers: internals.getMeshPeers?.(topic) ?? [],
        subscribers: pubsub.getSubscribers(topic).map((peer) => peer.toString()),
      })),
      scores,
      site: { role: site?.role ?? 'none', hubsInMesh: site?.hubsInMesh() ?? [] },
    },
    protocols: libp2p.getProtocols(),
    relayReservations: libp2p
      .getMultiaddrs()
      .map((address) => address.toString())
      .filter((address) => address.includes('/p2p-circuit')),
  }
}
