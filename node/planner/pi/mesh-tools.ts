/**
 * The five tools a Pi model may call, built over the planner's `PlannerTools`: read the world
 * model, list capabilities, list peers, read a sensor, create a proposal. None approves or
 * executes. Arguments are validated twice: pi checks them against the JSON schema the model was
 * given (so the model sees its mistake and can retry), then zod — the same schema, with the
 * refinements JSON Schema cannot say — parses them before any PlannerTools method runs.
 */
import type { AgentTool, AgentToolResult } from '@mariozechner/pi-agent-core'
import type { TSchema } from '@mariozechner/pi-ai'
import { z } from 'zod'
import { FRAME_KINDS, type Frame, frameIdSchema, TRUST_TIERS } from '../../../protocol/context/frame.ts'
import { capabilitySchema } from '../../../protocol/roles.ts'
import { APPROVAL_LEVELS } from '../../../protocol/safety/proposal.ts'
import type { PlannerTools, ProposalDraft } from '../backend.ts'
import {
  PI_EVIDENCE_MAX,
  PI_MAX_PROPOSALS_PER_ANSWER,
  PI_QUERY_DEFAULT_LIMIT,
  PI_QUERY_MAX_LIMIT,
  PI_REASON_MAX_CHARS,
  PI_TOOL_ARGS_MAX_BYTES,
  PI_TOOL_ARGS_MAX_KEYS,
  PI_TOOL_RESULT_MAX_CHARS,
} from './constants.ts'

const toolArgsSchema = z
  .record(z.string().min(1).max(64), z.unknown())
  .refine((args) => Object.keys(args).length <= PI_TOOL_ARGS_MAX_KEYS, {
    message: `at most ${PI_TOOL_ARGS_MAX_KEYS} arguments`,
  })
  .refine((args) => Buffer.byteLength(JSON.stringify(args)) <= PI_TOOL_ARGS_MAX_BYTES, {
    message: `arguments are at most ${PI_TOOL_ARGS_MAX_BYTES} bytes of JSON`,
  })
  .describe('operation arguments, e.g. {"durationMinutes": 5}')

export const queryWorldArgsSchema = z.strictObject({
  kind: z.enum(FRAME_KINDS).optional().describe('only frames of this kind'),
  zone: z.string().min(1).max(128).optional().describe('only frames about this zone, e.g. zone-2'),
  metric: z.string().min(1).max(128).optional().describe('only observations of this metric'),
  origin: z.string().min(1).max(64).optional().describe('only frames from this device ID'),
  since: z
    .number()
    .int()
    .nonnegative()
    .optional()
    .describe('only frames at or after this time, in Unix milliseconds (the prompt gives the current time)'),
  minTier: z.enum(TRUST_TIERS).optional().describe('only frames with at least this evidence tier'),
  limit: z
    .number()
    .int()
    .min(1)
    .max(PI_QUERY_MAX_LIMIT)
    .optional()
    .describe(`most recent frames to return (default ${PI_QUERY_DEFAULT_LIMIT})`),
})

export const readSensorArgsSchema = z.strictObject({
  capability: capabilitySchema
    .refine((capability) => capability.startsWith('sensor:'), {
      message: 'read_sensor reads sensor capabilities ("sensor:…") only',
    })
    .describe('a sensor capability from list_capabilities, e.g. sensor:soil-moisture:zone-1'),
  args: toolArgsSchema.optional(),
})

export const createProposalArgsSchema = z.strictObject({
  capability: capabilitySchema.describe('the capability to act through, e.g. actuator:valve:zone-2'),
  operation: z
    .string()
    .min(1)
    .max(64)
    .regex(/^[a-z][a-z0-9._-]*$/, 'operations are lowercase names such as "open"')
    .describe('the operation, e.g. open, close, start, stop'),
  args: toolArgsSchema.optional(),
  level: z
    .enum(APPROVAL_LEVELS)
    .optional()
    .describe('approval level; omit to use the level the capability declares (L2: one operator, L3: two)'),
  // Empty is allowed (an explicit operator request with no data yet); the safety policy, not this
  // schema, decides what evidence a level needs.
  evidence: z
    .array(frameIdSchema)
    .max(PI_EVIDENCE_MAX)
    .default([])
    .describe('IDs of the frames (from query_world) this proposal rests on'),
  reason: z.string().min(1).max(PI_REASON_MAX_CHARS).describe('one line for the operator: why'),
})

const noArgsSchema = z.strictObject({})

/** JSON Schema for the model, from the zod schema (one source); keywords some OpenAI-compatible
 * servers reject (`$schema`, `propertyNames`) are dropped — zod still enforces them. */
export function toolParameters(schema: z.ZodType): TSchema {
  const json = z.toJSONSchema(schema, { io: 'input', target: 'draft-7' }) as Record<string, unknown>
  return stripKeywords(json, new Set(['$schema', 'propertyNames'])) as TSchema
}

function stripKeywords(value: unknown, drop: Set<string>): unknown {
  if (Array.isArray(value)) return value.map((item) => stripKeywords(item, drop))
  if (typeof value !== 'object' || value === null) return value
  return Object.fromEntries(
    Object.entries(value)
      .filter(([key]) => !drop.has(key))
      .map(([key, nested]) => [key, stripKeywords(nested, drop)]),
  )
}

export class ToolArgumentsError extends Error {
  static readonly NAME = 'ToolArgumentsError'
  override readonly name = ToolArgumentsError.NAME
}

function parseArgs<S extends z.ZodType>(tool: string, schema: S, args: unknown): z.output<S> {
  const parsed = schema.safeParse(args)
  if (parsed.success) return parsed.data
  const issues = parsed.error.issues
    .slice(0, 5)
    .map((issue) => `${issue.path.join('.') || '(arguments)'}: ${issue.message}`)
    .join('; ')
  throw new ToolArgumentsError(`invalid arguments for ${tool}: ${issues}`)
}

/** What one answer's tool calls produced, for the reply: the frames the model saw, the proposals
 * it created. */
export interface ToolLedger {
  seenFrameIds: Set<string>
  evidenceFrameIds: Set<string>
  proposals: Awaited<ReturnType<PlannerTools['createProposal']>>[]
}

export function createToolLedger(): ToolLedger {
  return { seenFrameIds: new Set(), evidenceFrameIds: new Set(), proposals: [] }
}

/** A tool's answer to the model: text, cut to the limit with a note so the model knows. */
function textResult<T>(text: string, details: T): AgentToolResult<T> {
  const bounded =
    text.length <= PI_TOOL_RESULT_MAX_CHARS
      ? text
      : `${text.slice(0, PI_TOOL_RESULT_MAX_CHARS)}\n… (cut at ${PI_TOOL_RESULT_MAX_CHARS} characters; narrow the query)`
  return { content: [{ type: 'text', text: bounded }], details }
}

/** The compact view of a frame the model reads: enough to reason about and to cite. */
function frameForModel(frame: Frame): Record<string, unknown> {
  return {
    id: frame.frameId,
    kind: frame.kind,
    origin: frame.originName,
    at: new Date(frame.timestamp).toISOString(),
    tier: frame.trust.tier,
    data: frame.data,
  }
}

export function buildMeshTools(tools: PlannerTools, ledger: ToolLedger): AgentTool[] {
  const queryWorld: AgentTool = {
    name: 'query_world',
    label: 'Query world model',
    description:
      'Read recent frames (observations, events, operator input, proposals…) from the mesh world model, newest first, with a summary. Cite frame IDs from here as evidence.',
    parameters: toolParameters(queryWorldArgsSchema),
    execute: async (_id, params) => {
      const args = parseArgs('query_world', queryWorldArgsSchema, params)
      const result = await tools.queryWorld({
        ...args,
        limit: args.limit ?? PI_QUERY_DEFAULT_LIMIT,
        summary: true,
      })
      const frames = result.frames.slice(0, args.limit ?? PI_QUERY_DEFAULT_LIMIT)
      for (const frame of frames) ledger.seenFrameIds.add(frame.frameId)
      const text = JSON.stringify({ summary: result.summary, frames: frames.map(frameForModel) })
      return textResult(text, { frameIds: frames.map((frame) => frame.frameId) })
    },
  }
  const listCapabilities: AgentTool = {
    name: 'list_capabilities',
    label: 'List capabilities',
    description:
      'List the capabilities (sensors, actuators, …) live in the mesh and which nodes provide them.',
    parameters: toolParameters(noArgsSchema),
    execute: async (_id, params) => {
      parseArgs('list_capabilities', noArgsSchema, params)
      const capabilities = await tools.listCapabilities()
      return textResult(JSON.stringify({ capabilities }), { count: capabilities.length })
    },
  }
  const listPeers: AgentTool = {
    name: 'list_peers',
    label: 'List peers',
    description: 'List the nodes of the mesh with their role, state and capabilities.',
    parameters: toolParameters(noArgsSchema),
    execute: async (_id, params) => {
      parseArgs('list_peers', noArgsSchema, params)
      const peers = (await tools.listPeers()).map((peer) => ({
        deviceId: peer.deviceId,
        name: peer.name,
        state: peer.state,
        role: peer.role,
        capabilities: peer.capabilities,
        lastSeen: peer.lastSeen === undefined ? undefined : new Date(peer.lastSeen).toISOString(),
      }))
      return textResult(JSON.stringify({ peers }), { count: peers.length })
    },
  }
  const readSensor: AgentTool = {
    name: 'read_sensor',
    label: 'Read sensor',
    description:
      'Read a sensor now through the mesh (routed to a node that provides the capability). Reading changes nothing.',
    parameters: toolParameters(readSensorArgsSchema),
    execute: async (_id, params) => {
      const args = parseArgs('read_sensor', readSensorArgsSchema, params)
      const reading = await tools.readSensor(args.capability, args.args)
      return textResult(JSON.stringify({ capability: args.capability, reading }), {
        capability: args.capability,
      })
    },
  }
  const createProposal: AgentTool = {
    name: 'create_proposal',
    label: 'Create proposal',
    description:
      'Propose an action for operators to approve. Nothing executes until the approvals its level needs are given; you cannot approve or execute anything yourself. Cite the frames that justify it.',
    parameters: toolParameters(createProposalArgsSchema),
    // Proposals are created one at a time, in the order the model asked for them.
    executionMode: 'sequential',
    execute: async (_id, params) => {
      const args = parseArgs('create_proposal', createProposalArgsSchema, params)
      if (ledger.proposals.length >= PI_MAX_PROPOSALS_PER_ANSWER) {
        throw new ToolArgumentsError(
          `at most ${PI_MAX_PROPOSALS_PER_ANSWER} proposals per answer; tell the operator what else you would propose`,
        )
      }
      const draft: ProposalDraft = {
        capability: args.capability,
        operation: args.operation,
        evidence: args.evidence,
        reason: args.reason,
      }
      if (args.args !== undefined) draft.args = args.args
      if (args.level !== undefined) draft.level = args.level
      const record = await tools.createProposal(draft)
      ledger.proposals.push(record)
      for (const frameId of args.evidence) ledger.evidenceFrameIds.add(frameId)
      const { level } = record.proposal
      return textResult(
        JSON.stringify({
          proposal: record.hash,
          state: record.state,
          level,
          note: 'Created. It waits for operator approval; it has not been executed. Tell the operator what you proposed and why.',
        }),
        { hash: record.hash },
      )
    },
  }
  return [queryWorld, listCapabilities, listPeers, readSensor, createProposal]
}
