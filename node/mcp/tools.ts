/**
 * The MCP tool table: every tool the server offers, each one entry with its zod input shape, its
 * output schema, its annotations and what it needs from the node. A tool whose RPC method or host
 * workflow this build does not have is not registered (`isToolAvailable`), so the workflows other
 * branches add (PENDING_TOOLS) are one entry each. No entry approves, rejects, clears an emergency
 * stop or executes: a tool that would change something creates a proposal (docs/mcp.md).
 */
import { z } from 'zod'
import { FRAME_KINDS, TRUST_TIERS } from '../../protocol/context/frame.ts'
import { ClawMeshError } from '../../protocol/errors.ts'
import { HOST_WORKFLOWS } from '../../protocol/host-ops/findings.ts'
import {
  CAPABILITY_MAX_LENGTH,
  DEVICE_ID_FIELD_MAX_LENGTH,
  OPERATION_NAME_MAX_LENGTH,
  PROPOSAL_MIN_TTL_MS,
  PROPOSAL_REF_MAX_LENGTH,
  WORLD_FILTER_MAX_LENGTH,
  WORLD_QUERY_MAX_LIMIT,
} from '../../protocol/limits.ts'
import { isRpcMethodName } from '../../protocol/rpc/methods.ts'
import {
  APPROVAL_LEVELS,
  EVIDENCE_ENTRY_TYPES,
  PROPOSAL_MAX_EVIDENCE,
  PROPOSAL_MAX_LIFETIME_MS,
  PROPOSAL_STATES,
  SAFETY_ID_MAX_LENGTH,
} from '../../protocol/safety/index.ts'
import { loadIdentity } from '../../runtime/identity/device-identity.ts'
import { statePaths } from '../../runtime/state/state-dir.ts'
import { listHostNodes } from '../host-ops/fleet.ts'
import { selectEntries, verifyEvidenceFile } from '../safety/evidence-log-writer.ts'
import { MCP_EVIDENCE_DEFAULT_LIMIT, MCP_EVIDENCE_MAX_LIMIT, MCP_WORLD_DEFAULT_LIMIT } from './constants.ts'
import { HOST_TOOLS } from './host-tools.ts'
import {
  hostWorkflowTool,
  howToDecide,
  howToDecideSchema,
  looseRecord,
  type McpToolDefinition,
  PROPOSE,
  proposalLine,
  proposalSummarySchema,
  READ,
  summariseProposal,
} from './tool-kit.ts'

export type { McpToolDefinition, ToolAnswer, ToolContext, ToolKind } from './tool-kit.ts'

// ---- the table -------------------------------------------------------------------------------

export const MCP_TOOLS: readonly McpToolDefinition[] = [
  {
    name: 'mesh_status',
    title: 'Mesh status',
    description:
      'The node this server talks to: its name, role, mesh, capabilities, planner leader and peer counts.',
    kind: 'read',
    requires: { rpc: ['mesh.status'] },
    input: {},
    output: z.looseObject({
      deviceId: z.string(),
      name: z.string(),
      role: z.string(),
      capabilities: z.array(z.string()),
    }),
    annotations: READ,
    async run(context) {
      const status = await context.mesh.call('mesh.status', {})
      return {
        structured: status,
        text: [
          `${status.name} (${status.role}) ${status.deviceId}`,
          `capabilities: ${status.capabilities.join(', ') || 'none'}`,
        ],
      }
    },
  },
  {
    name: 'world_query',
    title: 'World model query',
    description:
      "Frames (observations, executions, inferences, host findings…) from the node's world model, filtered by kind, zone, metric, origin, capability, time and minimum trust tier. T0 frames are model inferences, not measurements.",
    kind: 'read',
    requires: { rpc: ['mesh.world.query'] },
    input: {
      kind: z.enum(FRAME_KINDS).optional(),
      zone: z.string().max(WORLD_FILTER_MAX_LENGTH).optional(),
      metric: z.string().max(WORLD_FILTER_MAX_LENGTH).optional(),
      origin: z.string().max(DEVICE_ID_FIELD_MAX_LENGTH).optional(),
      capability: z.string().max(CAPABILITY_MAX_LENGTH).optional(),
      since: z.number().int().nonnegative().optional().describe('ms since the epoch'),
      minTier: z.enum(TRUST_TIERS).optional(),
      limit: z.number().int().positive().max(WORLD_QUERY_MAX_LIMIT).optional(),
      summary: z.boolean().optional().describe('also return the node’s one-paragraph summary'),
    },
    output: z.object({
      frames: z.array(looseRecord),
      count: z.number().int(),
      summary: z.string().optional(),
      truncated: z.boolean().optional(),
    }),
    annotations: READ,
    async run(context, input) {
      const answer = await context.mesh.call('mesh.world.query', {
        ...input,
        limit: (input['limit'] as number | undefined) ?? MCP_WORLD_DEFAULT_LIMIT,
      })
      const frames = answer.frames as unknown as Record<string, unknown>[]
      return {
        structured: {
          frames,
          count: frames.length,
          ...(answer.summary === undefined ? {} : { summary: answer.summary }),
          ...(answer.truncated === undefined ? {} : { truncated: answer.truncated }),
        },
        text: [
          `${frames.length} frame(s)${answer.truncated ? ' (truncated: narrow the query)' : ''}`,
          ...(answer.summary === undefined ? [] : [answer.summary]),
          ...answer.frames.map(
            (frame) =>
              `${new Date(frame.timestamp).toISOString()} ${frame.kind} ${frame.trust.tier} from ${frame.originName ?? frame.origin}: ${JSON.stringify(frame.data).slice(0, 160)}`,
          ),
        ],
      }
    },
  },
  {
    name: 'proposals_list',
    title: 'Proposals',
    description:
      'Proposals the command center holds, newest first, with their level, state and the approvals they still need.',
    kind: 'read',
    requires: { rpc: ['proposal.list'] },
    input: { state: z.enum(PROPOSAL_STATES).optional() },
    output: z.object({ proposals: z.array(proposalSummarySchema) }),
    annotations: READ,
    async run(context, input) {
      const state = input['state'] as (typeof PROPOSAL_STATES)[number] | undefined
      const { proposals } = await context.mesh.call('proposal.list', state === undefined ? {} : { state })
      const summaries = proposals.map(summariseProposal)
      return {
        structured: { proposals: summaries },
        text: [`${summaries.length} proposal(s)`, ...summaries.map(proposalLine)],
      }
    },
  },
  {
    name: 'proposal_get',
    title: 'One proposal',
    description: 'One proposal by id or hash: its state, level, evidence, approvals held and still needed.',
    kind: 'read',
    requires: { rpc: ['proposal.get'] },
    input: { id: z.string().min(1).max(PROPOSAL_REF_MAX_LENGTH) },
    output: z.object({ proposal: proposalSummarySchema, howToDecide: howToDecideSchema }),
    annotations: READ,
    async run(context, input) {
      const { proposal } = await context.mesh.call('proposal.get', { id: input['id'] as string })
      const summary = summariseProposal(proposal)
      return {
        structured: { proposal: summary, howToDecide: howToDecide(context, summary.id) },
        text: [
          proposalLine(summary),
          `approvals: ${summary.approvalsHeld} held, ${summary.approvalsNeeded} still needed`,
        ],
      }
    },
  },
  {
    name: 'propose',
    title: 'Propose an action',
    description:
      'Proposes any capability operation (e.g. open a valve). Nothing runs until the policy allows it: a person approves it with the console or the CLI. Returns the proposal id, its level, the approvals it needs and how a person gives them. An AI operator never approves, and an L1 operation it proposes waits for a person as L2.',
    kind: 'propose',
    requires: { rpc: ['proposal.create'] },
    input: {
      capability: z.string().min(1).max(CAPABILITY_MAX_LENGTH).describe('e.g. actuator:valve:zone-1'),
      operation: z.string().min(1).max(OPERATION_NAME_MAX_LENGTH).describe('e.g. open'),
      args: z
        .record(z.string(), z.json())
        .optional()
        .describe('operation arguments, e.g. {"durationSec": 120}'),
      level: z.enum(APPROVAL_LEVELS).optional().describe('default: the level the manifest declares'),
      evidence: z
        .array(z.string().max(SAFETY_ID_MAX_LENGTH))
        .max(PROPOSAL_MAX_EVIDENCE)
        .optional()
        .describe('frame ids cited as evidence; default: the node cites its latest relevant measurements'),
      ttlMs: z.number().int().min(PROPOSAL_MIN_TTL_MS).max(PROPOSAL_MAX_LIFETIME_MS).optional(),
    },
    output: z.object({
      proposal: proposalSummarySchema,
      merged: z.boolean(),
      howToDecide: howToDecideSchema,
    }),
    annotations: PROPOSE,
    async run(context, input) {
      const created = await context.mesh.call('proposal.create', {
        capability: input['capability'] as string,
        operation: input['operation'] as string,
        ...(input['args'] === undefined
          ? {}
          : { args: input['args'] as Record<string, z.core.util.JSONType> }),
        ...(input['level'] === undefined
          ? {}
          : { level: input['level'] as (typeof APPROVAL_LEVELS)[number] }),
        ...(input['evidence'] === undefined ? {} : { evidence: input['evidence'] as string[] }),
        ...(input['ttlMs'] === undefined ? {} : { ttlMs: input['ttlMs'] as number }),
      })
      const summary = summariseProposal(created.proposal)
      return {
        structured: {
          proposal: summary,
          merged: created.merged,
          howToDecide: howToDecide(context, summary.id),
        },
        text: [
          `${created.merged ? 'merged into' : 'created'} ${proposalLine(summary)}`,
          `needs ${summary.approvalsNeeded} approval(s) from a person: ${howToDecide(context, summary.id).cli}`,
        ],
      }
    },
  },
  {
    name: 'capability_list',
    title: 'Capabilities',
    description:
      'Every capability the node and its peers advertise (sensors, actuators, host:<node>), with the nodes that provide it and their state.',
    kind: 'read',
    requires: { rpc: ['mesh.status', 'mesh.peers'] },
    input: {},
    output: z.object({
      capabilities: z.array(
        z.object({
          capability: z.string(),
          providers: z.array(
            z.object({ deviceId: z.string(), name: z.string().optional(), state: z.string() }),
          ),
        }),
      ),
    }),
    annotations: READ,
    async run(context) {
      const status = await context.mesh.call('mesh.status', {})
      const { peers } = await context.mesh.call('mesh.peers', {})
      const byCapability = new Map<string, { deviceId: string; name?: string; state: string }[]>()
      const add = (capability: string, provider: { deviceId: string; name?: string; state: string }) => {
        const list = byCapability.get(capability) ?? []
        list.push(provider)
        byCapability.set(capability, list)
      }
      for (const capability of status.capabilities)
        add(capability, { deviceId: status.deviceId, name: status.name, state: 'self' })
      for (const peer of peers) {
        if (peer.kind === 'operator' || peer.deviceId === status.deviceId) continue
        for (const capability of peer.capabilities)
          add(capability, {
            deviceId: peer.deviceId,
            ...(peer.name === undefined ? {} : { name: peer.name }),
            state: peer.state,
          })
      }
      const capabilities = [...byCapability.entries()]
        .sort(([a], [b]) => a.localeCompare(b))
        .map(([capability, providers]) => ({ capability, providers }))
      return {
        structured: { capabilities },
        text: capabilities.map(
          (entry) =>
            `${entry.capability}: ${entry.providers.map((p) => `${p.name ?? p.deviceId.slice(0, 12)} (${p.state})`).join(', ')}`,
        ),
      }
    },
  },
  {
    name: 'server_list',
    title: 'Servers (fleet)',
    description:
      'Nodes with host operations: OS, CPUs, load, free memory and disk, health from their latest doctor findings, when last checked and seen.',
    kind: 'read',
    requires: { rpc: ['mesh.status', 'mesh.peers', 'mesh.world.query'] },
    input: {},
    output: z.object({
      nodes: z.array(
        z.object({
          deviceId: z.string(),
          name: z.string().optional(),
          role: z.string().optional(),
          state: z.string(),
          lastSeen: z.number().optional(),
          health: z.string(),
          checkedAt: z.number().optional(),
          facts: looseRecord,
        }),
      ),
    }),
    annotations: READ,
    async run(context) {
      const nodes = (await listHostNodes(context.mesh)).map((node) =>
        Object.fromEntries(Object.entries(node).filter(([, value]) => value !== undefined)),
      )
      return {
        structured: { nodes },
        text: nodes.map(
          (node) =>
            `${String(node['name'] ?? node['deviceId'])} (${String(node['state'])}): ${String(node['health'])}`,
        ),
      }
    },
  },
  {
    name: 'evidence_list',
    title: 'Evidence log',
    description:
      "The newest entries of the evidence log of the state dir this server runs with (the node's own log when it runs beside the node): proposals, approvals, refusals with their policy code, decisions, executions. The chain is verified first.",
    kind: 'read',
    input: {
      type: z.enum(EVIDENCE_ENTRY_TYPES).optional(),
      limit: z.number().int().positive().max(MCP_EVIDENCE_MAX_LIMIT).optional(),
    },
    output: z.object({ verified: z.boolean(), entries: z.array(looseRecord) }),
    annotations: READ,
    async run(context, input) {
      const identity = await loadIdentity(statePaths(context.stateDir).deviceIdentity)
      if (identity === undefined)
        throw new ClawMeshError(
          'NOT_FOUND',
          `no node runs from ${context.stateDir}: start clawmesh mcp with the node's --state-dir to read its evidence log`,
        )
      const checked = await verifyEvidenceFile(context.stateDir, { nodeId: identity.deviceId })
      const type = input['type'] as (typeof EVIDENCE_ENTRY_TYPES)[number] | undefined
      const entries = selectEntries(checked.entries, {
        ...(type === undefined ? {} : { type }),
        limit: (input['limit'] as number | undefined) ?? MCP_EVIDENCE_DEFAULT_LIMIT,
      })
      const verified = checked.verdict.outcome !== 'broken'
      return {
        structured: { verified, entries: entries as unknown as Record<string, unknown>[] },
        text: [
          verified
            ? `${entries.length} entr(ies), chain verified`
            : 'THE EVIDENCE LOG IS BROKEN: run clawmesh evidence verify',
          ...entries.map(
            (entry) =>
              `${entry.seq} ${new Date(entry.at).toISOString()} ${entry.type} ${JSON.stringify(entry.data).slice(0, 160)}`,
          ),
        ],
      }
    },
  },
  hostWorkflowTool({
    name: 'doctor',
    title: 'Doctor',
    workflow: 'doctor',
    description: "Health of a node's machine and of ClawMesh on it: disk, memory, load, clock, services.",
  }),
  hostWorkflowTool({
    name: 'analyze_logs',
    title: 'Analyze logs',
    workflow: 'analyze-logs',
    description: 'Error and warning patterns of a journal unit or a configured log file.',
    argument: { key: 'source', describe: 'a systemd unit or a configured log file name' },
  }),
  hostWorkflowTool({
    name: 'service_check',
    title: 'Service check',
    workflow: 'service-check',
    description: 'State, restarts and last log lines of a systemd unit.',
    argument: { key: 'unit', describe: 'the systemd unit, e.g. clawmesh.service' },
  }),
  hostWorkflowTool({
    name: 'security_check',
    title: 'Security check',
    workflow: 'security-check',
    description: 'SSH settings, accounts, open ports, firewall and pending updates.',
  }),
  hostWorkflowTool({
    name: 'disk_investigate',
    title: 'Disk investigation',
    workflow: 'disk-investigate',
    description: 'Largest directories and files under a configured path.',
    argument: { key: 'path', describe: 'a path the node allows host operations to walk' },
  }),
  ...HOST_TOOLS,
]

/** Tools the issue names that this build does not offer yet (none: every tool of issue #18 is in
 * MCP_TOOLS). A tool added here is left out of the server until its workflow or method exists. */
export const PENDING_TOOLS: readonly { name: string; kind: 'read' | 'propose'; needs: string }[] = []

/** Whether this build has what the tool needs: its RPC methods in the table, its host workflow. */
export function isToolAvailable(tool: Pick<McpToolDefinition, 'requires'>): boolean {
  const rpc = tool.requires?.rpc ?? []
  const workflow = tool.requires?.hostWorkflow
  return (
    rpc.every(isRpcMethodName) &&
    (workflow === undefined || (HOST_WORKFLOWS as readonly string[]).includes(workflow))
  )
}
