/**
 * The MCP tools of the host and fleet workflows (docs/mcp.md), on the same code paths as the CLI:
 * the plans run through `capability.invoke` like `clawmesh hygiene-plan`; every repair is a proposal
 * built by node/host-ops/repair-proposals.ts, exactly as `clawmesh data-clean-apply`, `run`,
 * `service-quarantine`, `service-remove` and `autoheal-apply-safe` build it, citing a fresh L0 run of
 * the same host; the fleet answers come from `policy.check`, `host.monitor.check` and the plans of
 * protocol/host-ops/capacity.ts over node/host-ops/fleet.ts's facts, as `clawmesh capacity-plan`.
 *
 * No tool here executes: the proposals wait for a person. An AI operator's L1 (`autoheal_apply_safe`)
 * waits too, raised to L2 by the command center (node/safety/forwarder.ts), unlike the CLI's.
 */
import { z } from 'zod'
import { ClawMeshError } from '../../protocol/errors.ts'
import {
  budgetSchema,
  capacityPlan,
  PROVISION_COUNT_MAX,
  provisionPlan,
} from '../../protocol/host-ops/capacity.ts'
import { findingsReportSchema, nextActionSchema, overallStatus } from '../../protocol/host-ops/findings.ts'
import { fleetCheckSchema } from '../../protocol/host-ops/fleet.ts'
import { RUN_ARG_MAX_CHARS, RUN_ARGV_MAX } from '../../protocol/host-ops/repairs.ts'
import { OPERATION_NAME_MAX_LENGTH } from '../../protocol/limits.ts'
import { policyCheckResultSchema } from '../../protocol/rpc/methods.ts'
import { POLICY_CHECK_ACTIONS, type PolicyCheckAction } from '../../protocol/safety/policy-check.ts'
import { fleetFacts, NO_FLEET_FACTS, parseResource } from '../host-ops/fleet.ts'
import {
  applyAutohealSafe,
  proposeBackedRepair,
  proposeDataCleanApply,
  type RepairPlan,
} from '../host-ops/repair-proposals.ts'
import {
  hostWorkflowTool,
  howToDecide,
  howToDecideSchema,
  looseRecord,
  type McpToolDefinition,
  nodeName,
  PROPOSE,
  proposalLine,
  proposalSummarySchema,
  READ,
  resolveNode,
  summariseProposal,
  type ToolAnswer,
  type ToolContext,
} from './tool-kit.ts'

const unitInput = z.string().min(1).max(128).describe('the systemd unit, e.g. oldapp.service')

/** What every repair tool answers: the proposal (id, level, approvals still needed), how a person
 * decides it, and the host's own findings it cites. */
const repairOutput = z.object({
  proposal: proposalSummarySchema,
  howToDecide: howToDecideSchema,
  basedOn: findingsReportSchema.optional(),
})

function repairAnswer(
  context: ToolContext,
  record: Parameters<typeof summariseProposal>[0],
  basedOn?: z.infer<typeof findingsReportSchema>,
): ToolAnswer {
  const summary = summariseProposal(record)
  const decide = howToDecide(context, summary.id)
  return {
    structured: { proposal: summary, howToDecide: decide, ...(basedOn === undefined ? {} : { basedOn }) },
    text: [
      `proposed ${proposalLine(summary)}`,
      ...(basedOn === undefined
        ? []
        : [`cites ${basedOn.workflow} on ${basedOn.node}: ${overallStatus(basedOn.findings)}`]),
      summary.state === 'awaiting_approval'
        ? `nothing runs until a person gives ${summary.approvalsNeeded} approval(s): ${decide.cli}`
        : `state ${summary.state}${summary.reason === undefined ? '' : `: ${summary.reason}`}`,
    ],
  }
}

/** A repair proposed citing a fresh L0 run of the same host (`clawmesh run`, `service-*`). */
function repairTool(definition: {
  name: string
  title: string
  description: string
  input: z.ZodRawShape
  plan: (input: Record<string, unknown>) => RepairPlan
}): McpToolDefinition {
  return {
    name: definition.name,
    title: definition.title,
    description: `${definition.description} Creates a proposal and returns its id, level, the approvals it needs and how a person gives them; nothing runs until then.`,
    kind: 'propose',
    requires: { rpc: ['capability.invoke', 'proposal.create', 'mesh.world.query'] },
    input: { node: nodeName.optional(), ...definition.input },
    output: repairOutput,
    annotations: PROPOSE,
    async run(context, input) {
      const node = await resolveNode(context, input)
      const { basedOn, proposal } = await proposeBackedRepair(context.mesh, node, definition.plan(input))
      return repairAnswer(context, proposal, basedOn)
    },
  }
}

const appliedSchema = z.object({
  action: nextActionSchema,
  proposal: proposalSummarySchema.optional(),
  skipped: z.string().optional(),
  error: z.string().optional(),
})

const provisionOutput = z.object({
  workload: z.string(),
  count: z.number().int(),
  placements: z.array(z.object({ node: z.string(), instances: z.number().int() })),
  unplaced: z.number().int(),
  additional: z
    .object({
      nodeType: z.string(),
      nodes: z.number().int(),
      monthlyCost: z.number(),
      withinBudget: z.boolean().optional(),
    })
    .optional(),
  note: z.string().optional(),
})

const budgetInput = budgetSchema.describe(
  'the budget: reserve (cpuFraction, memFraction, diskPct), workloads {name: {cpus, memMb, diskMb?}}, nodeTypes [{name, cpus, memMb, monthlyCost}], monthlyBudget, currency — the JSON of a `clawmesh capacity-plan --budget` file',
)

async function facts(context: ToolContext) {
  const known = await fleetFacts(context.mesh)
  if (known.length === 0) throw new ClawMeshError('NOT_FOUND', NO_FLEET_FACTS)
  return known
}

export const HOST_TOOLS: readonly McpToolDefinition[] = [
  hostWorkflowTool({
    name: 'hygiene_plan',
    title: 'Hygiene plan',
    workflow: 'hygiene-plan',
    description:
      'Permission hardening, logs leaking secrets, exposed secrets: each finding with its next actions and their level.',
  }),
  hostWorkflowTool({
    name: 'autoheal_plan',
    title: 'Autoheal plan',
    workflow: 'autoheal-plan',
    description:
      'Current alerts of the machine and their actions, each read-only (L0), auto-safe (L1, bounded) or needing approval (L2+).',
  }),
  hostWorkflowTool({
    name: 'data_clean_plan',
    title: 'Data cleanup plan',
    workflow: 'data-clean-plan',
    description:
      'Cleanup candidates (raw, intermediate, checkpoints, caches) under a configured path, final outputs kept, each with size, mtime and hash; the node keeps the list as a manifest (facts.manifestId) that data_clean_apply proposes to delete.',
    argument: { key: 'path', describe: 'a directory the node allows host operations to walk' },
    more: (report) =>
      report.facts?.['manifestId'] === undefined
        ? []
        : [
            `manifest ${String(report.facts['manifestId'])} kept on ${report.node}: propose it with data_clean_apply {"node": "${report.node}", "manifestId": "${String(report.facts['manifestId'])}"}`,
          ],
  }),
  {
    name: 'data_clean_apply',
    title: 'Propose a data cleanup',
    description:
      'Proposes deleting the files of a data_clean_plan manifest (L2: an operator approves). After approval the node deletes only files still matching the manifest (same size, mtime and hash) inside its repair paths. Returns the proposal id, level, approvals needed and how a person gives them.',
    kind: 'propose',
    requires: { rpc: ['proposal.create', 'mesh.world.query'], hostWorkflow: 'data-clean-plan' },
    input: {
      node: nodeName.optional(),
      manifestId: z
        .string()
        .regex(/^dc-[0-9a-z-]{8,64}$/)
        .describe('facts.manifestId of a data_clean_plan answer'),
    },
    output: repairOutput,
    annotations: PROPOSE,
    async run(context, input) {
      const node = await resolveNode(context, input)
      const manifestId = input['manifestId'] as string
      const record = await proposeDataCleanApply(context.mesh, node, manifestId)
      if (record === undefined)
        throw new ClawMeshError(
          'NOT_FOUND',
          `no data-clean-plan of ${node} with manifest ${manifestId} is known here: call data_clean_plan first`,
        )
      return repairAnswer(context, record)
    },
  },
  repairTool({
    name: 'run_evidence',
    title: 'Propose running a command',
    description:
      "Proposes running one command on a node (`clawmesh run`, L2): after approval it runs as the node's unprivileged run user, time-limited, output capped and redacted, and the output becomes execution evidence. Cites a fresh doctor of the node.",
    input: {
      argv: z
        .array(z.string().min(1).max(RUN_ARG_MAX_CHARS))
        .min(1)
        .max(RUN_ARGV_MAX)
        .describe('the program and its arguments, no shell: ["df", "-h"]'),
    },
    plan: (input) => ({
      operation: 'run',
      args: { argv: input['argv'] },
      basedOn: { workflow: 'doctor', args: { callerTime: Date.now() } },
    }),
  }),
  repairTool({
    name: 'service_quarantine',
    title: 'Propose quarantining a service',
    description:
      'Proposes disabling a flapping unit whose ExecStart program is missing (L2). Cites a fresh service check of the unit.',
    input: { unit: unitInput },
    plan: (input) => ({
      operation: 'service-quarantine',
      args: { unit: input['unit'] },
      basedOn: { workflow: 'service-check', args: { unit: input['unit'] } },
    }),
  }),
  repairTool({
    name: 'service_remove',
    title: 'Propose removing a service',
    description:
      'Proposes removing a unit, its unit file and optionally its working directory (L3: two distinct operators, one on site). Cites a fresh service check of the unit.',
    input: {
      unit: unitInput,
      workdir: z
        .string()
        .min(2)
        .max(1_024)
        .regex(/^\//, 'an absolute path')
        .optional()
        .describe("working directory to delete too (inside the node's repair paths)"),
    },
    plan: (input) => ({
      operation: 'service-remove',
      args: {
        unit: input['unit'],
        ...(typeof input['workdir'] === 'string' ? { workdir: input['workdir'] } : {}),
      },
      basedOn: { workflow: 'service-check', args: { unit: input['unit'] } },
    }),
  }),
  {
    name: 'autoheal_apply_safe',
    title: 'Propose the auto-safe repairs',
    description:
      "Runs a fresh autoheal plan and proposes each of its auto-safe (L1, bounded) actions, citing the plan. A person's L1 runs at once; an AI operator's does not: the command center raises it to L2, so each waits for a person's approval. Returns each action with its proposal (id, level, approvals needed) or why it was skipped.",
    kind: 'propose',
    requires: {
      rpc: ['capability.invoke', 'proposal.create', 'mesh.world.query'],
      hostWorkflow: 'autoheal-plan',
    },
    input: { node: nodeName.optional() },
    output: z.object({
      plan: findingsReportSchema,
      applied: z.array(appliedSchema),
      howToDecide: z.string(),
    }),
    annotations: PROPOSE,
    async run(context, input) {
      const node = await resolveNode(context, input)
      const { plan, applied } = await applyAutohealSafe(context.mesh, node)
      const items = applied.map((item) => ({
        action: item.action,
        ...(item.proposal === undefined ? {} : { proposal: summariseProposal(item.proposal) }),
        ...(item.skipped === undefined ? {} : { skipped: item.skipped }),
        ...(item.error === undefined ? {} : { error: item.error }),
      }))
      const decide = `each proposal waits for a person: clawmesh approve <id> --url ${context.url}, the console, or /approve <id> on Telegram`
      return {
        structured: { plan, applied: items, howToDecide: decide },
        text: [
          `autoheal-plan on ${plan.node}: ${overallStatus(plan.findings)}; ${items.length} action(s)`,
          ...items.map((item) =>
            item.proposal !== undefined
              ? `proposed ${proposalLine(item.proposal)}`
              : `${item.action.operation} ${item.action.level}: ${item.error === undefined ? `skipped (${item.skipped})` : `refused: ${item.error}`}`,
          ),
          decide,
        ],
      }
    },
  },
  {
    name: 'monitor_check',
    title: 'Fleet monitor check',
    description:
      'Doctor on every node with host operations at once (read-only, L0): one row per node with its status, counts and worst finding; stored in the checking node’s evidence log.',
    kind: 'read',
    requires: { rpc: ['host.monitor.check'] },
    input: {},
    output: fleetCheckSchema,
    annotations: READ,
    async run(context) {
      const check = await context.mesh.call('host.monitor.check', {})
      return {
        structured: check,
        text: [
          `monitor-check by ${check.checkedBy}: ${check.rows.length} node(s) in ${check.durationMs} ms${check.evidenceSeq === undefined ? '' : ` (evidence #${check.evidenceSeq})`}`,
          ...check.rows.map(
            (row) =>
              `${row.node} ${row.status}: ${row.counts.fail} fail, ${row.counts.warn} warn; worst: ${row.worst}`,
          ),
        ],
      }
    },
  },
  {
    name: 'policy_check',
    title: 'Policy check',
    description:
      "The safety policy's answer, from the node's own records and manifests, for a subject (a role such as operator, viewer or ai-operator, an operator's certified name, planner or device) doing an action (read_state, propose, approve, execute) on a capability/operation: allow, needs-approval (with level and approvers) or deny, with the rule and why. Changes nothing.",
    kind: 'read',
    requires: { rpc: ['policy.check'] },
    input: {
      subject: z.string().min(1).max(128).describe('a role, an operator name, planner or device'),
      action: z.enum(POLICY_CHECK_ACTIONS),
      capability: z.string().min(1).max(256).describe('e.g. actuator:valve:zone-1 or host:field-1'),
      operation: z
        .string()
        .min(1)
        .max(OPERATION_NAME_MAX_LENGTH)
        .optional()
        .describe(
          "default: the capability's read (state, doctor or read); required for an actuator's other actions",
        ),
    },
    output: policyCheckResultSchema,
    annotations: READ,
    async run(context, input) {
      const action = input['action'] as PolicyCheckAction
      const capability = input['capability'] as string
      const operation = input['operation'] as string | undefined
      let target: { capability: string; operation: string }
      try {
        target = operation === undefined ? parseResource(capability, action) : { capability, operation }
      } catch (error) {
        throw new ClawMeshError('INVALID_PARAMS', (error as Error).message)
      }
      const result = await context.mesh.call('policy.check', {
        subject: input['subject'] as string,
        action,
        ...target,
      })
      const { answer } = result
      return {
        structured: result,
        text: [
          `${input['subject'] as string} ${action} ${result.capability}/${result.operation}: ${answer.decision}${answer.level === undefined ? '' : ` (${answer.level})`}`,
          `rule: ${answer.rule}`,
          `why: ${answer.reason}`,
          `answered by ${result.answeredBy}`,
        ],
      }
    },
  },
  {
    name: 'capacity_plan',
    title: 'Capacity plan',
    description:
      "Fleet headroom above a reserve, from each node's latest doctor facts, and how many instances of each workload fit (plan only: nothing is rented or created).",
    kind: 'read',
    requires: { rpc: ['mesh.world.query'] },
    input: { budget: budgetInput },
    output: z.object({
      nodes: z.array(looseRecord),
      totals: z.object({ cpusFree: z.number(), memFreeMb: z.number() }),
      fleetFits: z.record(z.string(), z.number()),
    }),
    annotations: READ,
    async run(context, input) {
      const budget = budgetSchema.parse(input['budget'])
      const plan = capacityPlan(await facts(context), budget)
      return {
        structured: plan as unknown as Record<string, unknown>,
        text: [
          `capacity: ${plan.nodes.length} node(s), ${plan.totals.cpusFree} CPUs and ${plan.totals.memFreeMb} MiB free above the reserve (plan only)`,
          ...Object.entries(plan.fleetFits).map(([workload, fits]) => `${workload}: ${fits} fit`),
        ],
      }
    },
  },
  {
    name: 'provision_plan',
    title: 'Provision plan',
    description:
      'Where count instances of a workload would go on the current fleet, and what would have to be added within the budget (plan only: nothing is rented or created).',
    kind: 'read',
    requires: { rpc: ['mesh.world.query'] },
    input: {
      budget: budgetInput,
      workload: z.string().min(1).max(64).describe('a workload the budget declares'),
      count: z.number().int().min(1).max(PROVISION_COUNT_MAX),
    },
    output: provisionOutput,
    annotations: READ,
    async run(context, input) {
      const budget = budgetSchema.parse(input['budget'])
      const workload = input['workload'] as string
      if (budget.workloads[workload] === undefined)
        throw new ClawMeshError(
          'INVALID_PARAMS',
          `the budget declares no workload "${workload}" (it has ${Object.keys(budget.workloads).join(', ') || 'none'})`,
        )
      const plan = provisionPlan(await facts(context), budget, workload, input['count'] as number)
      return {
        structured: plan as unknown as Record<string, unknown>,
        text: [
          `provision ${plan.workload} × ${plan.count} (plan only)`,
          ...plan.placements.map((placement) => `${placement.node}: ${placement.instances}`),
          plan.unplaced === 0
            ? 'all instances fit the current fleet'
            : plan.additional === undefined
              ? `${plan.unplaced} do not fit: ${plan.note ?? ''}`
              : `${plan.unplaced} do not fit: ${plan.additional.nodes} × ${plan.additional.nodeType} would hold them, ${plan.additional.monthlyCost} ${budget.currency}/month`,
        ],
      }
    },
  },
]
