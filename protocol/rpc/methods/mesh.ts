/** `mesh.*` methods about the node itself: status, health, peers, events and libp2p internals. */
import { z } from 'zod'
import { deviceIdSchema } from '../../device-id.ts'
import { EVENT_RING_SIZE, THROTTLED_PEERS_MAX } from '../../limits.ts'
import { linkPostureSchema } from '../../link-posture.ts'
import { plannerStatusSchema } from '../../planner.ts'
import {
  LEADER_TERM_CHAIN_MAX,
  leaderTermSchema,
  signedLeaderAnnouncementSchema,
} from '../../planner-election.ts'
import { publishingStatusSchema } from '../../publishing.ts'
import { capabilitySchema, nodeRoleSchema } from '../../roles.ts'
import { TLS_POSTURES } from '../../tls-pin.ts'
import { signed } from '../signed.ts'
import { method, noParamsSchema } from './define.ts'

const connectionSchema = z.object({
  deviceId: deviceIdSchema,
  remoteAddr: z.string(),
  direction: z.enum(['inbound', 'outbound']),
  transport: z.string(),
  kind: z.string().optional(),
  openedAt: z.number(),
})

const counterTableSchema = z.record(z.string(), z.number().int().nonnegative())

/** A leader's signed claim as `mesh.status` hands it on: the peer reading it runs the same checks
 * as on one from gossip (and counts a refusal), so it crosses as a signed record. */
const leaderAnnouncementOnWireSchema = signed(signedLeaderAnnouncementSchema)

export const meshStatusResultSchema = z.object({
  deviceId: deviceIdSchema,
  name: z.string(),
  role: nodeRoleSchema,
  meshName: z.string(),
  generation: z.number().int(),
  version: z.string(),
  startedAt: z.number(),
  uptimeMs: z.number().nonnegative(),
  listenAddrs: z.array(z.string()),
  capabilities: z.array(capabilitySchema),
  connections: z.array(connectionSchema),
  trustedPeerCount: z.number().int().nonnegative(),
  discovery: z.enum(['mdns', 'off']),
  staticPeers: z.array(
    z.object({
      deviceId: deviceIdSchema,
      url: z.string(),
      label: z.string(),
      state: z.enum(['connecting', 'connected', 'backoff']),
      attempts: z.number().int().nonnegative(),
      lastError: z.string().optional(),
      /** What protects the link below Noise (protocol/tls-pin.ts); absent from older nodes. */
      tls: z.enum(TLS_POSTURES).optional(),
    }),
  ),
  /** Present on nodes that run a planner session (role planner or standby-planner). */
  planner: plannerStatusSchema.optional(),
  /** Planner election (docs/planner-election.md): the highest leader term this node has seen and
   * who claimed it; `live` is false while that leader is lost and no successor has announced yet.
   * `announcement` is the leader's signed claim, which a joining peer verifies and adopts. */
  leader: z
    .object({
      term: leaderTermSchema,
      deviceId: deviceIdSchema,
      live: z.boolean(),
      isSelf: z.boolean(),
      announcement: leaderAnnouncementOnWireSchema,
      /** Earlier claims this node held, one per term, oldest first: a peer that is behind climbs them
       * a step at a time (LEADER_TERM_CHAIN_MAX, docs/planner-election.md). */
      chain: z.array(leaderAnnouncementOnWireSchema).max(LEADER_TERM_CHAIN_MAX).optional(),
    })
    .optional(),
})
/** What a node reports; a reader gets the same with the leader's claims still to verify. */
export type MeshStatus = z.input<typeof meshStatusResultSchema>

export const healthStateSchema = z.enum(['ok', 'degraded', 'unhealthy'])

/** A peer this node throttled lately (node/health/throttled-peers.ts): what it turned away, and
 * whether the peer's gossip score is pushed down right now. */
export const throttledPeerSchema = z.object({
  deviceId: deviceIdSchema,
  /** Gossip messages ignored over the per-peer or per-origin limits. */
  gossipMessages: z.number().int().nonnegative(),
  /** Frames those messages carried, where they were read (over the per-origin frame limit). */
  gossipFrames: z.number().int().nonnegative(),
  /** RPC requests answered RATE_LIMITED. */
  rpcRequests: z.number().int().nonnegative(),
  lastAt: z.number(),
  scoredDown: z.boolean(),
  /** The peer's gossipsub score as this node computes it now (below -80: graylisted). */
  gossipScore: z.number().optional(),
  /** Whether this node has stopped reading the peer's gossip streams while its penalty lasts
   * (node/context/gossip-read-pause.ts). */
  gossipReadsPaused: z.boolean().optional(),
})
export type ThrottledPeer = z.infer<typeof throttledPeerSchema>

export const meshHealthResultSchema = z.object({
  status: healthStateSchema,
  reasons: z.array(z.string()),
  counters: counterTableSchema,
  eventLoopLagMs: z.number().nonnegative(),
  rssBytes: z.number().nonnegative(),
  heapUsedBytes: z.number().nonnegative(),
  /** How long this node holds the context frames it publishes to batch them (longer while its
   * machine is short of CPU), and that CPU pressure: the share of recent time some task waited for
   * a CPU (Linux PSI; null where the kernel does not report it). Absent from older nodes. */
  publishing: publishingStatusSchema.optional(),
  /** Peers throttled in the last minutes (floods); absent from older nodes. */
  throttledPeers: z.array(throttledPeerSchema).max(THROTTLED_PEERS_MAX).optional(),
})
export type MeshHealth = z.infer<typeof meshHealthResultSchema>

/** connected: hello accepted. verifying: connected, hello pending. suspect: connection lost, a
 * reachability probe is running. down: the probe failed. left: the peer announced a graceful stop.
 * disconnected: known (trusted) but not connected. refused: hello or trust check failed. */
export const peerStateSchema = z.enum([
  'connected',
  'verifying',
  'suspect',
  'down',
  'left',
  'disconnected',
  'refused',
])

export const peerEntrySchema = z.object({
  deviceId: deviceIdSchema,
  name: z.string().optional(),
  trusted: z.boolean(),
  state: peerStateSchema,
  role: nodeRoleSchema.optional(),
  kind: z.string().optional(),
  capabilities: z.array(capabilitySchema),
  addresses: z.array(z.string()),
  lastSeen: z.number().optional(),
  latencyMs: z.number().nonnegative().optional(),
  posture: linkPostureSchema.optional(),
  refusal: z.string().optional(),
})
export type PeerEntry = z.infer<typeof peerEntrySchema>

export const meshPeersResultSchema = z.object({ peers: z.array(peerEntrySchema) })

export const meshEventSchema = z.object({
  seq: z.number().int().nonnegative(),
  at: z.number(),
  level: z.enum(['info', 'warn', 'error']),
  type: z.string(),
  message: z.string(),
  peer: z.string().optional(),
})
export type MeshEvent = z.infer<typeof meshEventSchema>

export const meshEventsParamsSchema = z
  .object({
    afterSeq: z.number().int().nonnegative().optional(),
    limit: z.number().int().positive().max(EVENT_RING_SIZE).optional(),
  })
  .strict()

export const meshEventsResultSchema = z.object({
  events: z.array(meshEventSchema),
  lastSeq: z.number().int(),
})

export const meshInspectResultSchema = z.object({
  connections: z.array(
    z.object({
      deviceId: z.string(),
      remoteAddr: z.string(),
      direction: z.enum(['inbound', 'outbound']),
      transport: z.string(),
      limited: z.boolean(),
      encryption: z.string().optional(),
      multiplexer: z.string().optional(),
      streams: z.array(
        z.object({ protocol: z.string().optional(), direction: z.enum(['inbound', 'outbound']) }),
      ),
    }),
  ),
  gossipsub: z.object({
    topics: z.array(
      z.object({
        topic: z.string(),
        meshPeers: z.array(z.string()),
        subscribers: z.array(z.string()),
      }),
    ),
    scores: z.record(z.string(), z.number()),
    /** The node's part in its site's gossip (node/libp2p/gossip-site.ts): `hub` (a command
     * center), `spoke` (routes through the hubs listed while any is in its mesh) or `none`. Absent
     * from nodes older than 2026-12-06. */
    site: z.object({ role: z.enum(['hub', 'spoke', 'none']), hubsInMesh: z.array(z.string()) }).optional(),
  }),
  protocols: z.array(z.string()),
  relayReservations: z.array(z.string()),
})
export type MeshInspect = z.infer<typeof meshInspectResultSchema>

export const MESH_METHODS = {
  'mesh.status': method({
    params: noParamsSchema,
    result: meshStatusResultSchema,
    access: 'peer',
    description: 'Identity, role, mesh, uptime, listen addresses and open connections of the node.',
  }),
  'mesh.health': method({
    params: noParamsSchema,
    result: meshHealthResultSchema,
    access: 'peer',
    description: 'ok / degraded / unhealthy with reasons, refusal counters, event-loop lag and memory.',
  }),
  'mesh.peers': method({
    params: noParamsSchema,
    result: meshPeersResultSchema,
    access: 'peer',
    description: 'Every peer the node knows: trust, state, role, capabilities, addresses.',
  }),
  'mesh.events': method({
    params: meshEventsParamsSchema.optional(),
    result: meshEventsResultSchema,
    access: 'peer',
    description: 'The bounded ring of lifecycle and security events, optionally after a sequence number.',
  }),
  'mesh.inspect': method({
    params: noParamsSchema,
    result: meshInspectResultSchema,
    access: 'peer',
    description:
      'libp2p-level debugging: connections, streams and protocols, gossipsub topics, mesh peers and scores, relay reservations.',
  }),
} as const
