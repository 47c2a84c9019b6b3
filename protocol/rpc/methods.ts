/**
 * The closed RPC method table: every method a ClawMesh node answers, with the zod schemas of its
 * params and result and who may call it. Server and clients import this one table, so a method,
 * a field or a permission cannot drift between them.
 */
import { z } from 'zod'
import { FRAME_KINDS, TRUST_TIERS } from '../context/frame.ts'
import { deviceIdSchema } from '../device-id.ts'
import { ICE_SERVERS_MAX, iceServerSchema } from '../ice-servers.ts'
import { CONTEXT_SYNC_MAX_FRAMES, EVENT_RING_SIZE, WORLD_QUERY_MAX_LIMIT } from '../limits.ts'
import { linkPostureSchema } from '../link-posture.ts'
import { messageForwardParamsSchema, plannerAskParamsSchema, plannerStatusSchema } from '../planner.ts'
import { LEADER_TERM_CHAIN_MAX } from '../planner-election.ts'
import { capabilitySchema, nodeRoleSchema } from '../roles.ts'
import { OPERATOR_LINKS } from '../safety/approval.ts'
import {
  OPERATOR_CERTIFICATE_MAX_VALIDITY_MS,
  PROPOSAL_MAX_EVIDENCE,
  SAFETY_ID_MAX_LENGTH,
} from '../safety/constants.ts'
import { evidenceCheckpointSchema } from '../safety/evidence-checkpoint.ts'
import { OPERATOR_ROLES } from '../safety/operator-certificate.ts'
import { APPROVAL_LEVELS } from '../safety/proposal.ts'
import { ESTOP_RPC_METHODS } from './estop-methods.ts'

/** `peer`: any trusted peer or the local admin CLI. `admin`: only the local admin (the CLI key of
 * the node's own state dir). */
export type MethodAccess = 'peer' | 'admin'

const connectionSchema = z.object({
  deviceId: deviceIdSchema,
  remoteAddr: z.string(),
  direction: z.enum(['inbound', 'outbound']),
  transport: z.string(),
  kind: z.string().optional(),
  openedAt: z.number(),
})

const counterTableSchema = z.record(z.string(), z.number().int().nonnegative())

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
    }),
  ),
  /** Present on nodes that run a planner session (role planner or standby-planner). */
  planner: plannerStatusSchema.optional(),
  /** Planner election (docs/planner-election.md): the highest leader term this node has seen and
   * who claimed it; `live` is false while that leader is lost and no successor has announced yet.
   * `announcement` is the leader's signed claim, which a joining peer verifies and adopts. */
  leader: z
    .object({
      term: z.number().int().min(1),
      deviceId: deviceIdSchema,
      live: z.boolean(),
      isSelf: z.boolean(),
      announcement: z.record(z.string(), z.unknown()),
      /** Earlier claims this node held, one per term, oldest first: a peer that is behind climbs them
       * a step at a time (LEADER_TERM_CHAIN_MAX, docs/planner-election.md). */
      chain: z.array(z.record(z.string(), z.unknown())).max(LEADER_TERM_CHAIN_MAX).optional(),
    })
    .optional(),
})
export type MeshStatus = z.infer<typeof meshStatusResultSchema>

export const healthStateSchema = z.enum(['ok', 'degraded', 'unhealthy'])

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
  publishing: z
    .object({ windowMs: z.number().nonnegative(), cpuPressure: z.number().min(0).max(1).nullable() })
    .optional(),
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
    limit: z.number().int().min(1).max(EVENT_RING_SIZE).optional(),
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
  }),
  protocols: z.array(z.string()),
  relayReservations: z.array(z.string()),
})
export type MeshInspect = z.infer<typeof meshInspectResultSchema>

/** Frames cross RPC as plain JSON; every receiver re-verifies them with `verifyFrame`. */
const frameOnWireSchema = z.record(z.string(), z.unknown())

export const worldQueryParamsSchema = z
  .object({
    kind: z.enum(FRAME_KINDS).optional(),
    origin: z.string().max(64).optional(),
    zone: z.string().max(128).optional(),
    metric: z.string().max(128).optional(),
    capability: z.string().max(128).optional(),
    since: z.number().int().nonnegative().optional(),
    until: z.number().int().nonnegative().optional(),
    minTier: z.enum(TRUST_TIERS).optional(),
    limit: z.number().int().min(1).max(WORLD_QUERY_MAX_LIMIT).optional(),
    summary: z.boolean().optional(),
  })
  .strict()
export type WorldQueryParams = z.infer<typeof worldQueryParamsSchema>

export const worldQueryResultSchema = z.object({
  frames: z.array(frameOnWireSchema),
  summary: z.string().optional(),
  /** More frames matched than fit in one answer (RPC_ANSWER_FRAMES_MAX_BYTES): narrow the query. */
  truncated: z.boolean().optional(),
})

export const contextSyncParamsSchema = z
  .object({
    since: z.number().int().nonnegative().optional(),
    limit: z.number().int().min(1).max(CONTEXT_SYNC_MAX_FRAMES).optional(),
  })
  .strict()

export const contextSyncResultSchema = z.object({ frames: z.array(frameOnWireSchema) })

export const capabilityInvokeParamsSchema = z
  .object({
    capability: capabilitySchema,
    operation: z.string().min(1).max(64),
    args: z.record(z.string(), z.unknown()).optional(),
    timeoutMs: z.number().int().min(100).max(60_000).optional(),
    /** Set by a node that forwards the call, so the provider does not route it again. */
    local: z.boolean().optional(),
  })
  .strict()
export type CapabilityInvokeParams = z.infer<typeof capabilityInvokeParamsSchema>

export const capabilityInvokeResultSchema = z.object({
  provider: z.string(),
  result: z.record(z.string(), z.unknown()),
  tried: z.array(z.string()),
})

const proposalRecordSchema = z.object({
  hash: z.string(),
  state: z.string(),
  proposal: z.record(z.string(), z.unknown()),
  approvals: z.array(z.record(z.string(), z.unknown())),
  reason: z.string().optional(),
  outcome: z.string().optional(),
  mergedCount: z.number().int().nonnegative(),
  receivedAt: z.number(),
  updatedAt: z.number(),
})
export type ProposalRecordWire = z.infer<typeof proposalRecordSchema>

export const proposalCreateParamsSchema = z
  .object({
    capability: capabilitySchema,
    operation: z.string().min(1).max(64),
    args: z.record(z.string(), z.json()).optional(),
    /** Defaults to the node the site model assigns the capability to, else a live provider. */
    targetNode: z.string().max(64).optional(),
    /** Defaults to the level the capability manifest declares for the operation. */
    level: z.enum(APPROVAL_LEVELS).optional(),
    /** Frame IDs cited as evidence; their tiers are read from this node's world model, never taken from the caller. */
    evidence: z.array(z.string().max(SAFETY_ID_MAX_LENGTH)).max(PROPOSAL_MAX_EVIDENCE).optional(),
    ttlMs: z
      .number()
      .int()
      .min(10_000)
      .max(24 * 3_600_000)
      .optional(),
  })
  .strict()
export type ProposalCreateParams = z.infer<typeof proposalCreateParamsSchema>

const proposalRefSchema = z.object({ id: z.string().min(1).max(128) }).strict()

export const proposalDecisionParamsSchema = z
  .object({
    id: z.string().min(1).max(128),
    approval: z.record(z.string(), z.unknown()),
    /** Set only by a planner forwarding the decision to the leader: the link it observed the
     * approval arrive over. Believed only from a command center the receiver obeys. */
    observedLink: z.enum(OPERATOR_LINKS).optional(),
  })
  .strict()

export const proposalDecisionResultSchema = z.object({
  proposal: proposalRecordSchema,
  verdict: z.enum(['allow', 'pending', 'rejected']),
  detail: z.string(),
  /** When the approval let the proposal run: the actuator's `execution` frame, handed back with the
   * answer (verifiable on its own: origin signature and batch proof). */
  executionFrame: z.record(z.string(), z.unknown()).optional(),
})

export const operatorIssueParamsSchema = z
  .object({
    operatorId: z.string().min(1).max(64),
    displayName: z.string().min(1).max(64),
    roles: z.array(z.enum(OPERATOR_ROLES)).min(1),
    ttlMs: z.number().int().min(60_000).max(OPERATOR_CERTIFICATE_MAX_VALIDITY_MS).optional(),
  })
  .strict()

export const actuatorExecuteParamsSchema = z.object({ command: z.record(z.string(), z.unknown()) }).strict()
export const actuatorExecuteResultSchema = z.object({
  proposalHash: z.string(),
  status: z.enum(['completed', 'failed']),
  result: z.record(z.string(), z.unknown()),
  executionFrameId: z.string().optional(),
  /** The `execution` frame itself (signed by the actuator, with its batch proof). */
  executionFrame: z.record(z.string(), z.unknown()).optional(),
})

/** What `planner.ask` and `mesh.message.forward` answer: the planner's text, the backend that wrote
 * it (honestly labelled), the proposals it created (awaiting approval, never executed by it), and
 * the device that answered (the leader, when the question was forwarded). */
export const plannerAnswerSchema = z.object({
  answer: z.string(),
  planner: z.string(),
  ruleBased: z.boolean(),
  proposals: z.array(proposalRecordSchema),
  responseFrameId: z.string().optional(),
  answeredBy: deviceIdSchema,
  error: z.string().optional(),
})
export type PlannerAnswer = z.infer<typeof plannerAnswerSchema>

const noParamsSchema = z.object({}).strict().optional()

/** A checkpoint refused as a step back (`rollback`) or a second hash for one sequence (`fork`):
 * both the checkpoint held and the one offered, each signed by the node, kept as evidence. */
export const checkpointAnomalySchema = z.strictObject({
  kind: z.enum(['rollback', 'fork']),
  nodeId: deviceIdSchema,
  held: evidenceCheckpointSchema,
  offered: evidenceCheckpointSchema,
  seenAt: z.number().int().nonnegative(),
})
export type CheckpointAnomaly = z.infer<typeof checkpointAnomalySchema>

export const evidenceCheckpointsResultSchema = z.strictObject({
  /** The node that kept these checkpoints. */
  holder: deviceIdSchema,
  /** Oldest first per node; the last one of a node is its latest. */
  checkpoints: z.array(evidenceCheckpointSchema),
  anomalies: z.array(checkpointAnomalySchema),
})
export type EvidenceCheckpointsResult = z.infer<typeof evidenceCheckpointsResultSchema>

export interface MethodDefinition<P extends z.ZodType = z.ZodType, R extends z.ZodType = z.ZodType> {
  readonly params: P
  readonly result: R
  readonly access: MethodAccess
  readonly description: string
}

function method<P extends z.ZodType, R extends z.ZodType>(
  definition: MethodDefinition<P, R>,
): MethodDefinition<P, R> {
  return definition
}

export const RPC_METHODS = {
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
  'mesh.world.query': method({
    params: worldQueryParamsSchema.optional(),
    result: worldQueryResultSchema,
    access: 'peer',
    description:
      'Frames in the world model by kind, origin, zone, capability, time window and minimum trust tier.',
  }),
  'context.sync': method({
    params: contextSyncParamsSchema.optional(),
    result: contextSyncResultSchema,
    access: 'peer',
    description:
      'Recent frames for a reconnecting node (bounded by count and age); the caller re-verifies each.',
  }),
  'capability.invoke': method({
    params: capabilityInvokeParamsSchema,
    result: capabilityInvokeResultSchema,
    access: 'peer',
    description:
      'Routes an operation to a live trusted provider of the capability (local first), with one failover.',
  }),
  'proposal.create': method({
    params: proposalCreateParamsSchema,
    result: z.object({ proposal: proposalRecordSchema, merged: z.boolean() }),
    access: 'peer',
    description: 'Creates a proposal authored by the caller (merged with a duplicate inside the window).',
  }),
  'proposal.list': method({
    params: z
      .object({ state: z.string().max(32).optional() })
      .strict()
      .optional(),
    result: z.object({ proposals: z.array(proposalRecordSchema) }),
    access: 'peer',
    description: 'Proposals known to this command center, newest first.',
  }),
  'proposal.get': method({
    params: proposalRefSchema,
    result: z.object({ proposal: proposalRecordSchema }),
    access: 'peer',
    description: 'One proposal by id or hash.',
  }),
  'proposal.approve': method({
    params: proposalDecisionParamsSchema,
    result: proposalDecisionResultSchema,
    access: 'peer',
    description:
      'Adds an operator-signed approval; when the policy allows, the runtime executes the proposal.',
  }),
  'proposal.reject': method({
    params: proposalDecisionParamsSchema,
    result: proposalDecisionResultSchema,
    access: 'peer',
    description: 'Adds an operator-signed rejection; the proposal is rejected and nothing moves.',
  }),
  'operator.issue': method({
    params: operatorIssueParamsSchema,
    result: z.object({ certificate: z.record(z.string(), z.unknown()) }),
    access: 'admin',
    description: 'Issues an operator certificate signed by this command center (local admin only).',
  }),
  'pair.open': method({
    params: z
      .object({
        kind: z.enum(['device', 'operator']),
        operatorName: z.string().min(1).max(64).optional(),
        roles: z.array(z.enum(OPERATOR_ROLES)).min(1).optional(),
        ttlMs: z
          .number()
          .int()
          .min(10_000)
          .max(15 * 60_000)
          .optional(),
        /** Operator only: validity of the certificate (default: the command center's, 7 days). */
        certificateTtlMs: z.number().int().min(10_000).max(OPERATOR_CERTIFICATE_MAX_VALIDITY_MS).optional(),
      })
      .strict(),
    result: z.object({
      code: z.string(),
      expiresAt: z.number(),
      deviceId: z.string(),
      listenAddrs: z.array(z.string()),
    }),
    access: 'admin',
    description:
      'Opens a pairing window with a one-time code (local admin only); one device or operator may join with it.',
  }),
  'actuator.execute': method({
    params: actuatorExecuteParamsSchema,
    result: actuatorExecuteResultSchema,
    access: 'peer',
    description: 'Executes a certified command on this actuator node after running the policy itself.',
  }),
  'planner.ask': method({
    params: plannerAskParamsSchema,
    result: plannerAnswerSchema,
    access: 'peer',
    description:
      'Asks the planner a question or for an action; a non-leader forwards to the leader. Proposals it creates await approval.',
  }),
  'planner.status': method({
    params: noParamsSchema,
    result: plannerStatusSchema,
    access: 'peer',
    description: 'Planner mode, current tool, queue depth, backend label and the leader this node knows.',
  }),
  'trust.addOperator': method({
    params: z.object({ certificate: z.record(z.string(), z.unknown()) }).strict(),
    result: z.object({
      operatorId: deviceIdSchema,
      expiresAt: z.number(),
      added: z.boolean(),
    }),
    access: 'peer',
    description:
      'A command center hands its signed operator certificate to a relay or member; the receiver verifies it and trusts the operator key until the certificate expires.',
  }),
  'trust.revokeOperator': method({
    params: z.object({ revocation: z.record(z.string(), z.unknown()) }).strict(),
    result: z.object({
      operatorId: deviceIdSchema,
      revokedAt: z.number(),
      added: z.boolean(),
      trustRemoved: z.boolean(),
    }),
    access: 'peer',
    description:
      "A command center hands its signed operator revocation to a relay or member; the receiver verifies it, keeps it, drops the operator's trust entry and refuses that operator's certificates issued until then.",
  }),
  'operator.renew': method({
    params: z.object({ certificate: z.record(z.string(), z.unknown()) }).strict(),
    result: z.object({ certificate: z.record(z.string(), z.unknown()) }),
    access: 'peer',
    description:
      'An operator presents its own still-valid, unrevoked certificate to a command center and gets a fresh one with the same name and roles.',
  }),
  'console.iceServers': method({
    params: noParamsSchema,
    result: z.object({ iceServers: z.array(iceServerSchema).max(ICE_SERVERS_MAX) }),
    access: 'peer',
    description:
      "The node's STUN/TURN servers with their credentials, for a paired operator console's WebRTC (operator keys and the local admin only; console-config.json carries STUN only).",
  }),
  'mesh.message.forward': method({
    params: messageForwardParamsSchema,
    result: plannerAnswerSchema,
    access: 'peer',
    description:
      'Operator input forwarded by a non-leader to the planner leader (one hop at most); answered like planner.ask.',
  }),
  'evidence.checkpoints': method({
    params: z.strictObject({ node: deviceIdSchema.optional() }).optional(),
    result: evidenceCheckpointsResultSchema,
    access: 'peer',
    description:
      "Signed evidence-log checkpoints this node keeps of its peers (optionally one node's), and the rollbacks and forks it saw.",
  }),
  ...ESTOP_RPC_METHODS,
} as const

export type RpcMethodName = keyof typeof RPC_METHODS
export type RpcParams<M extends RpcMethodName> = z.input<(typeof RPC_METHODS)[M]['params']>
export type RpcResult<M extends RpcMethodName> = z.output<(typeof RPC_METHODS)[M]['result']>

export function isRpcMethodName(name: string): name is RpcMethodName {
  return Object.hasOwn(RPC_METHODS, name)
}
