/**
 * Assembles the libp2p stack of a mesh node on the shared builder (runtime/libp2p/build-libp2p.ts:
 * tuned WebSockets, Noise, yamux, identify): WebRTC and circuit-relay transports, ping and
 * gossipsub, mDNS, with the trust gater on every connection. What a gossip message costs per hop on
 * small nodes is cut by the tuned parts the relay shares and by IDONTWANT only for large messages
 * (IDONTWANT_MIN_BYTES). Native crypto is the composition root's to install
 * (runtime/libp2p/native-crypto.ts), not this builder's.
 */
import { circuitRelayTransport } from '@libp2p/circuit-relay-v2'
import { gossipsub, StrictNoSign, StrictSign } from '@libp2p/gossipsub'
import { createPeerScoreParams, createTopicScoreParams } from '@libp2p/gossipsub/score'
import type { ConnectionGater, PeerDiscovery, PeerId, PeerInfo, PrivateKey } from '@libp2p/interface'
import { mdns } from '@libp2p/mdns'
import { ping } from '@libp2p/ping'
import type { Multiaddr } from '@multiformats/multiaddr'
import { contextTopic, type MeshIdentity } from '../../protocol/mesh.ts'
import { type BuildLibp2pInit, buildLibp2p } from '../../runtime/libp2p/build-libp2p.ts'
import { nativeSha256 } from '../../runtime/libp2p/native-hash.ts'
import { type GossipSite, SiteSteering } from './gossip-site.ts'
import { wssCertificate } from './wss-certificate.ts'

export interface NodeLibp2pInit {
  privateKey: PrivateKey
  mesh: MeshIdentity
  listen: string[]
  gater: ConnectionGater
  /** LAN discovery with mDNS. Announcements use a mesh-specific service tag, so nodes of other meshes
   * are not even offered to us; untrusted announcers are ignored by the caller. */
  discovery?: boolean
  /** gossipsub's own message signing; off by default because every batch carries its origin's
   * signature. Benchmarks turn it on to measure what it costs. */
  gossipSigning?: 'off' | 'strict'
  /** A peer's gossip standing, as gossipsub's application score (see gossipScoreOf): `refuse`
   * graylists it (nothing published to it, nothing it sends processed: keys admitted only to pair,
   * refused hellos); `pending` (hello not decided yet) gets nothing published or gossiped to it,
   * while its subscriptions are still read; `accept` is a normal peer. Call refreshGossipStanding
   * when a standing changes. */
  gossipStanding?: (deviceId: string) => 'accept' | 'pending' | 'refuse'
  /** Added to a peer's application score: negative while the peer is penalised for flooding
   * (node/context/origin-throttle.ts). Call refreshGossipStanding when a penalty starts. */
  gossipPenalty?: (deviceId: string) => number
  /** gossipsub's mesh degree (target D, low and high water marks); gossipsub's defaults (6 / 4 /
   * 12) when absent. */
  gossipMeshDegree?: { D: number; Dlo: number; Dhi: number }
  /** A site's gossip runs through its command center (gossip-site.ts). Absent: every trusted peer is
   * an equal gossip neighbour. */
  gossipSite?: GossipSite
  /** Called for every peer mDNS announces (before trust is considered). */
  onLanPeer?: (peer: { id: PeerId; multiaddrs: Multiaddr[] }) => void
  /** Whether the WebRTC transport is loaded (always when a listen address is `/webrtc`): only a node
   * that uses a relay (a `--relay`, or a static peer reached through one) has a WebRTC path, and the transport (with its native DataChannel
   * library and X.509 code) costs ~20 MiB of an idle node's memory (docs/memory.md). */
  webrtc?: boolean
  /** ICE servers for WebRTC. Empty by default: no public STUN server is contacted unless configured. */
  iceServers?: Array<{ urls: string | string[]; username?: string; credential?: string }>
  /** libp2p's connection monitor settings; its defaults (ping every 10 s, abort a link whose ping
   * times out) when absent. Only benchmarks set it (test/bench/scale.bench.ts). */
  connectionMonitor?: BuildLibp2pInit<Record<string, never>>['connectionMonitor']
  /** PEM certificate (chain) and key: the WebSocket port then also speaks WSS (see wss-certificate.ts). */
  wssCertificate?: { cert: string; key: string }
}

export async function createNodeLibp2p(init: NodeLibp2pInit) {
  const topic = contextTopic(init.mesh)
  const site = new SiteSteering(init.gossipSite, topic)
  const degree = init.gossipMeshDegree ?? site.degree
  const libp2p = await buildLibp2p({
    privateKey: init.privateKey,
    agent: { name: 'clawmesh', kind: 'node', mesh: init.mesh },
    listen: init.listen,
    // After the tuned WebSocket transport every stack has.
    transports: [
      ...(init.webrtc === true || init.listen.some((address) => address.endsWith('/webrtc'))
        ? [
            (await import('@libp2p/webrtc')).webRTC({
              rtcConfiguration: { iceServers: init.iceServers ?? [] },
            }),
          ]
        : []),
      circuitRelayTransport(),
    ],
    gater: init.gater,
    connectionManager: { inboundConnectionThreshold: INBOUND_CONNECTIONS_PER_HOST_PER_SECOND },
    ...(init.connectionMonitor === undefined ? {} : { connectionMonitor: init.connectionMonitor }),
    peerDiscovery: init.discovery === true ? [lanDiscovery(init)] : [],
    services: {
      ping: ping(),
      wssCertificate: wssCertificate(init.wssCertificate),
      pubsub: gossipsub({
        allowPublishToZeroTopicPeers: true,
        ...(degree === undefined
          ? {}
          : {
              ...degree,
              // gossipsub requires Dout < Dlo and Dout ≤ D / 2, and Dscore ≤ D.
              Dout: Math.min(2, degree.Dlo - 1, Math.floor(degree.D / 2)),
              Dscore: Math.min(4, degree.D),
            }),
        emitSelf: false,
        // Every frame batch carries its origin's signature (protocol/context/batch.ts), so gossipsub's
        // own per-message signature would authenticate the same publisher twice; the message ID is
        // the hash of the content, which also collapses identical re-publications.
        globalSignaturePolicy: init.gossipSigning === 'strict' ? StrictSign : StrictNoSign,
        // The same SHA-256 of the message bytes as protocol's gossipMessageId (the console uses
        // that one), computed natively.
        msgIdFn: (message) => nativeSha256(message.data),
        // gossipsub tells its mesh peers IDONTWANT for every message of at least this size it receives,
        // before validating it. On these links it mostly arrives after the peer has forwarded its copy
        // anyway, so for small batches it is bytes and handling on every message for no saved copy
        // (1 KiB measured no better than 16 KiB); only large batches are worth announcing
        // (docs/benchmarks-fanout.md).
        idontwantMinDataSize: IDONTWANT_MIN_BYTES,
        scoreParams: createPeerScoreParams({
          appSpecificScore: (peer) => {
            const standing = init.gossipStanding?.(peer) ?? 'accept'
            const detour = standing === 'accept' ? site.scoreOf(peer) : 0
            return gossipScoreOf(standing) + (init.gossipPenalty?.(peer) ?? 0) + detour
          },
          appSpecificWeight: 1,
          IPColocationFactorWeight: IP_COLOCATION_SCORE_WEIGHT,
          topics: {
            [topic]: createTopicScoreParams({
              topicWeight: 1,
              // Time in mesh counts in seconds (the default quantum of 1 ms lets it swamp every
              // penalty within a second), worth at most 36 points after an hour.
              timeInMeshQuantum: 1_000,
              timeInMeshWeight: 0.01,
              timeInMeshCap: 3_600,
              // Most members never publish (only field nodes and planners do), so a mesh peer that
              // delivers few messages is normal here, not a sign of misbehaviour.
              meshMessageDeliveriesWeight: 0,
              meshFailurePenaltyWeight: 0,
              invalidMessageDeliveriesWeight: INVALID_MESSAGE_SCORE_WEIGHT,
              invalidMessageDeliveriesDecay: 0.9,
            }),
          },
        }),
      }),
    },
  })
  site.attach(libp2p.services.pubsub)
  return libp2p
}

/** Gossip messages at least this large are announced to mesh peers with IDONTWANT (gossipsub's
 * default is 512 bytes, which is every batch of even one frame). A batch this size holds ~30 frames. */
export const IDONTWANT_MIN_BYTES = 16 * 1024

/** How often a node re-asks the LAN who is there. A node that boots late is found within this time. */
export const MDNS_QUERY_INTERVAL_MS = 5_000

/** mDNS, with its announcements also reported to the node so it can decide (trust, who dials). */
function lanDiscovery(init: NodeLibp2pInit) {
  const factory = mdns({ serviceTag: mdnsServiceTag(init.mesh), interval: MDNS_QUERY_INTERVAL_MS })
  return (components: Parameters<typeof factory>[0]): PeerDiscovery => {
    const discovery = factory(components)
    discovery.addEventListener('peer', (event: CustomEvent<PeerInfo>) => init.onLanPeer?.(event.detail))
    return discovery
  }
}

export function mdnsServiceTag(mesh: MeshIdentity): string {
  return `_clawmesh-${mesh.meshName.replaceAll('.', '-')}-${mesh.generation}._udp.local`
}

/** Score weight of one invalid (rejected) gossip message: a few forged or malformed messages push a
 * peer below gossipsub's graylist threshold, after which its gossip is ignored. */
export const INVALID_MESSAGE_SCORE_WEIGHT = -50

/** gossipsub's IP-colocation penalty is off (gossipsub's default: −5 × (peers at one address − 10)²).
 * It defends open networks against one host posing as many peers (Sybils); here every peer is
 * admitted by the trust gater and its hello, while many honest ones share an address: a site behind
 * one NAT, every peer reached through one relay, a bench on loopback. With it, a command center
 * linked to 12 nodes at one address scores them all negative, prunes them from its mesh and relays
 * nothing between them (docs/scale.md; test/ip-colocation.test.ts). */
export const IP_COLOCATION_SCORE_WEIGHT = 0

/** New inbound connections accepted per second from one address. libp2p's default (5) is tuned
 * for public nodes; a site whose nodes share one NAT address, or a test bench on loopback, opens
 * more than that after a restart, and the trust gater already refuses strangers. */
export const INBOUND_CONNECTIONS_PER_HOST_PER_SECOND = 32

/** Far below gossipsub's graylist threshold (-80 by default). */
const UNTRUSTED_GOSSIP_SCORE = -10_000
/** Below gossipsub's publish (-50) and gossip (-10) thresholds, so no message, flood-published or
 * forwarded, and no IHAVE goes to the peer, and negative so it is not grafted into the mesh; above the
 * graylist threshold (-80), so the subscriptions it sends on connecting are still read — its hello
 * is usually decided a moment later, and gossipsub never resends them. */
const PENDING_HELLO_GOSSIP_SCORE = -60

function gossipScoreOf(standing: 'accept' | 'pending' | 'refuse'): number {
  if (standing === 'accept') return 0
  return standing === 'pending' ? PENDING_HELLO_GOSSIP_SCORE : UNTRUSTED_GOSSIP_SCORE
}

/** gossipsub caches a peer's score for a heartbeat (1 s). A hello decided within that second must
 * take effect at once — an accepted member's GRAFT would otherwise be pruned with a minute's backoff,
 * a refused peer would keep a stale standing — so the cached entry is dropped. The cache is
 * gossipsub's internal `score.scoreCache`; if a release renames it this does nothing and scores
 * catch up at the next heartbeat (test/mesh-isolation.test.ts would show a leak). */
export function refreshGossipStanding(libp2p: NodeLibp2p, deviceId: string): void {
  const internals = libp2p.services.pubsub as unknown as { score?: { scoreCache?: Map<string, unknown> } }
  internals.score?.scoreCache?.delete(deviceId)
}

export type NodeLibp2p = Awaited<ReturnType<typeof createNodeLibp2p>>

/** A peer's gossipsub score as this node computes it (for `mesh.health`), or undefined if a release
 * no longer has the method: the class has `getScore`, its exported interface does not. */
export function gossipScore(libp2p: NodeLibp2p, deviceId: string): number | undefined {
  const pubsub = libp2p.services.pubsub as unknown as { getScore?: (peer: string) => number }
  return pubsub.getScore?.(deviceId)
}
