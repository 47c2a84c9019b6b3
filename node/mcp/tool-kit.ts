/**
 * What the MCP tools share: the tool definition, the annotations of a read and of a proposal, the
 * proposal summary every tool answers with, how a person decides, and the host-workflow tool.
 */
import type { ToolAnnotations } from '@modelcontextprotocol/sdk/types.js'
import { z } from 'zod'
import { TRUST_TIERS } from '../../protocol/context/frame.ts'
import {
  type FindingsReport,
  findingsReportSchema,
  type HostWorkflow,
  overallStatus,
  worstFirst,
} from '../../protocol/host-ops/findings.ts'
import { DEVICE_ID_FIELD_MAX_LENGTH } from '../../protocol/limits.ts'
import type { ProposalRecordWire } from '../../protocol/rpc/methods.ts'
import { APPROVAL_LEVELS, PROPOSAL_STATES, requiredApprovers } from '../../protocol/safety/index.ts'
import { invokePlan } from '../host-ops/repair-proposals.ts'
import type { MeshCaller } from './mesh-connection.ts'

/** What a tool runs with: the node link, the state dir (for the local evidence log) and the URL a
 * person's CLI would use. */
export interface ToolContext {
  readonly mesh: MeshCaller
  readonly stateDir: string
  readonly url: string
}

export interface ToolAnswer {
  readonly structured: Record<string, unknown>
  readonly text: readonly string[]
}

/** `read`: answers from state, changes nothing. `propose`: creates a proposal a person decides. */
export type ToolKind = 'read' | 'propose'

export interface McpToolDefinition {
  readonly name: string
  readonly title: string
  readonly description: string
  readonly kind: ToolKind
  /** What the node must answer for the tool to exist; absent from this build, it is not offered. */
  readonly requires?: { readonly rpc?: readonly string[]; readonly hostWorkflow?: string }
  readonly input: z.ZodRawShape
  readonly output: z.ZodObject
  readonly annotations: ToolAnnotations
  run(context: ToolContext, input: Record<string, unknown>): Promise<ToolAnswer>
}

export const READ: ToolAnnotations = {
  readOnlyHint: true,
  destructiveHint: false,
  idempotentHint: true,
  openWorldHint: false,
}
/** A proposal changes nothing by itself, but a repeated call makes another one (or merges). */
export const PROPOSE: ToolAnnotations = {
  readOnlyHint: false,
  destructiveHint: false,
  idempotentHint: false,
  openWorldHint: false,
}

export const nodeName = z
  .string()
  .min(1)
  .max(DEVICE_ID_FIELD_MAX_LENGTH)
  .describe('The node whose machine to check (its name); default: the node the MCP server talks to')

// ---- proposals -------------------------------------------------------------------------------

export const proposalSummarySchema = z.object({
  id: z.string(),
  hash: z.string(),
  capability: z.string(),
  operation: z.string(),
  args: z.record(z.string(), z.unknown()),
  level: z.enum(APPROVAL_LEVELS),
  state: z.enum(PROPOSAL_STATES),
  author: z.object({ kind: z.string(), id: z.string() }),
  targetNode: z.string(),
  createdAt: z.number(),
  expiresAt: z.number(),
  approvalsHeld: z.number().int(),
  approvalsNeeded: z.number().int(),
  evidence: z.array(z.object({ frameId: z.string(), tier: z.enum(TRUST_TIERS) })),
  reason: z.string().optional(),
  outcome: z.string().optional(),
})
export type ProposalSummary = z.infer<typeof proposalSummarySchema>

export function summariseProposal(record: ProposalRecordWire): ProposalSummary {
  const { proposal } = record
  const held = record.approvals.filter((approval) => approval.body.decision === 'approve').length
  return {
    id: proposal.id,
    hash: record.hash,
    capability: proposal.capability,
    operation: proposal.operation,
    args: proposal.args,
    level: proposal.level,
    state: record.state,
    author: proposal.author,
    targetNode: proposal.targetNode,
    createdAt: proposal.createdAt,
    expiresAt: proposal.expiresAt,
    approvalsHeld: held,
    approvalsNeeded: Math.max(0, requiredApprovers(proposal.level) - held),
    evidence: proposal.evidence,
    ...(record.reason === undefined ? {} : { reason: record.reason }),
    ...(record.outcome === undefined ? {} : { outcome: record.outcome }),
  }
}

export const proposalLine = (summary: ProposalSummary) =>
  `${summary.id} ${summary.level} ${summary.state}: ${summary.operation} on ${summary.capability} ${JSON.stringify(summary.args)}`

/** How a person gives the approvals; the MCP server never does. */
export const howToDecideSchema = z.object({
  cli: z.string(),
  console: z.string(),
  telegram: z.string(),
  note: z.string(),
})
export function howToDecide(context: ToolContext, id: string): z.infer<typeof howToDecideSchema> {
  return {
    cli: `clawmesh approve ${id} --url ${context.url}   (or: clawmesh reject ${id} --reason "…")`,
    console: 'Proposals view of the command center console: open the proposal, approve or reject',
    telegram: `/approve ${id} in the site's Telegram chat, where the command center runs the bot and takes Telegram approvals at this level`,
    note: 'Only a person with an operator certificate can approve; this AI operator cannot (ai-operator-cannot-approve).',
  }
}

// ---- host workflows --------------------------------------------------------------------------

export function reportLines(report: FindingsReport): string[] {
  const findings = [...report.findings].sort(worstFirst)
  return [
    `${report.workflow}${report.target === undefined ? '' : ` ${report.target}`} on ${report.node}: ${overallStatus(report.findings)} (${report.durationMs} ms)`,
    ...findings.map((finding) => `${finding.status} ${finding.risk} ${finding.check}: ${finding.summary}`),
    ...findings.flatMap((finding) =>
      finding.nextActions.map(
        (action) =>
          `action ${action.operation} ${action.level} ${JSON.stringify(action.args)} (for ${finding.id})`,
      ),
    ),
  ]
}

/** A read-only (L0) host workflow on a node's own machine, run as the CLI runs it. */
export function hostWorkflowTool(definition: {
  name: string
  title: string
  workflow: HostWorkflow
  description: string
  argument?: { key: string; describe: string }
  /** Extra lines after the findings (e.g. what to call next). */
  more?: (report: FindingsReport) => string[]
}): McpToolDefinition {
  const { argument, workflow } = definition
  return {
    name: definition.name,
    title: definition.title,
    description: `${definition.description} Read-only (L0): runs on the node's own machine through capability.invoke on host:<node>.`,
    kind: 'read',
    requires: { rpc: ['capability.invoke'], hostWorkflow: workflow },
    input: {
      node: nodeName.optional(),
      ...(argument === undefined
        ? {}
        : { [argument.key]: z.string().min(1).max(1_024).describe(argument.describe) }),
    },
    output: findingsReportSchema,
    annotations: READ,
    async run(context, input) {
      const name = await resolveNode(context, input)
      const args: Record<string, unknown> = workflow === 'doctor' ? { callerTime: Date.now() } : {}
      if (argument !== undefined) args[argument.key] = input[argument.key]
      const report = await invokePlan(context.mesh, name, workflow, args)
      return { structured: report, text: [...reportLines(report), ...(definition.more?.(report) ?? [])] }
    },
  }
}

export const looseRecord = z.record(z.string(), z.unknown())

/** The node a host tool acts on: the one named, else the node this server talks to. */
export async function resolveNode(context: ToolContext, input: Record<string, unknown>): Promise<string> {
  return typeof input['node'] === 'string' ? input['node'] : (await context.mesh.call('mesh.status', {})).name
}
