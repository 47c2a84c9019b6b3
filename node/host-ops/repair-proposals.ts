/**
 * Host repairs as proposals, for every client surface (the CLI's `data-clean-apply`, `run`,
 * `service-*`, `autoheal-apply-safe`, and the MCP server's tools of the same names): run a fresh L0
 * plan or check on the host, wait for its `host_findings` frame to reach the command center's world
 * model, and propose the repair citing that frame. Nothing here executes a repair: a person approves
 * it and the host's own gate checks it (docs/host-operations.md).
 */
import type { Frame } from '../../protocol/context/frame.ts'
import { ClawMeshError } from '../../protocol/errors.ts'
import {
  type FindingsReport,
  findingsReportSchema,
  type HostWorkflow,
  hostCapability,
  type NextAction,
} from '../../protocol/host-ops/findings.ts'
import {
  type HostRepairOperation,
  hostRepairLevel,
  isHostRepairOperation,
} from '../../protocol/host-ops/repairs.ts'
import type { ProposalRecordWire, RpcMethodName, RpcParams, RpcResult } from '../../protocol/rpc/methods.ts'
import { HOST_INVOKE_TIMEOUT_MS } from './constants.ts'

/** How long to wait for the host's findings frame to reach the command center's world model (it
 * is cited as evidence there). */
export const FINDINGS_FRAME_WAIT_MS = 8_000
const FINDINGS_FRAME_POLL_MS = 200
/** `host_findings` frames scanned for a plan's frame. */
const FINDINGS_FRAMES_SCANNED = 200

/** A client of a node: the CLI's, the MCP server's. */
export interface RepairCaller {
  call<M extends RpcMethodName>(method: M, params: RpcParams<M>): Promise<RpcResult<M>>
}

/** A repair and the L0 run of the same host it rests on. */
export interface RepairPlan {
  readonly operation: HostRepairOperation
  readonly args: Record<string, unknown>
  readonly basedOn: { readonly workflow: HostWorkflow; readonly args: Record<string, unknown> }
}

export async function invokePlan(
  client: RepairCaller,
  node: string,
  workflow: HostWorkflow,
  args: Record<string, unknown>,
): Promise<FindingsReport> {
  const answer = await client.call('capability.invoke', {
    capability: hostCapability(node),
    operation: workflow,
    args,
    timeoutMs: HOST_INVOKE_TIMEOUT_MS,
  })
  const parsed = findingsReportSchema.safeParse(answer.result)
  if (!parsed.success)
    throw new ClawMeshError('BAD_REQUEST', `host:${node} answered ${workflow} outside the findings schema`)
  return parsed.data
}

/** The host_findings frame of a run, once the command center holds it. */
export async function findingsFrame(
  client: RepairCaller,
  match: (data: Extract<Frame, { kind: 'host_findings' }>['data']) => boolean,
  waitMs = FINDINGS_FRAME_WAIT_MS,
): Promise<Frame | undefined> {
  const deadline = Date.now() + waitMs
  for (;;) {
    const { frames } = await client.call('mesh.world.query', {
      kind: 'host_findings',
      limit: FINDINGS_FRAMES_SCANNED,
    })
    const found = (frames as Frame[])
      .filter((frame) => frame.kind === 'host_findings' && match(frame.data))
      .sort((a, b) => b.timestamp - a.timestamp)[0]
    if (found !== undefined || Date.now() >= deadline) return found
    await new Promise((resolve) => setTimeout(resolve, FINDINGS_FRAME_POLL_MS))
  }
}

export async function frameOfReport(client: RepairCaller, report: FindingsReport): Promise<Frame> {
  const frame = await findingsFrame(
    client,
    (data) =>
      data.node === report.node && data.workflow === report.workflow && data.startedAt === report.startedAt,
  )
  if (frame === undefined)
    throw new ClawMeshError(
      'UNAVAILABLE',
      `the ${report.workflow} findings of ${report.node} did not reach this node's world model within ${FINDINGS_FRAME_WAIT_MS} ms`,
    )
  return frame
}

export async function proposeRepair(
  client: RepairCaller,
  node: string,
  operation: HostRepairOperation,
  args: Record<string, unknown>,
  evidence: Frame,
): Promise<ProposalRecordWire> {
  const created = await client.call('proposal.create', {
    capability: hostCapability(node),
    operation,
    args: args as Record<string, never>,
    level: hostRepairLevel(operation),
    evidence: [evidence.frameId],
  })
  return created.proposal
}

/** A repair proposal backed by a fresh L0 check of the same host. */
export async function proposeBackedRepair(
  client: RepairCaller,
  node: string,
  plan: RepairPlan,
): Promise<{ basedOn: FindingsReport; proposal: ProposalRecordWire }> {
  const report = await invokePlan(client, node, plan.basedOn.workflow, plan.basedOn.args)
  const frame = await frameOfReport(client, report)
  return { basedOn: report, proposal: await proposeRepair(client, node, plan.operation, plan.args, frame) }
}

/** `data-clean-apply` of a manifest a `data-clean-plan` of this node wrote and published; undefined
 * when no such plan is known here (the caller says how to make one). */
export async function proposeDataCleanApply(
  client: RepairCaller,
  node: string,
  manifestId: string,
): Promise<ProposalRecordWire | undefined> {
  const frame = await findingsFrame(
    client,
    (data) =>
      data.workflow === 'data-clean-plan' &&
      hostCapability(data.node) === hostCapability(node) &&
      data.facts?.['manifestId'] === manifestId,
    0,
  )
  const hash = frame?.kind === 'host_findings' ? frame.data.facts?.['manifestHash'] : undefined
  if (frame === undefined || typeof hash !== 'string') return undefined
  return proposeRepair(client, node, 'data-clean-apply', { manifestId, manifestHash: hash }, frame)
}

/** The hygiene plan's L2 repairs, proposed one file at a time. */
export const HYGIENE_REPAIRS = ['log-redact-copy', 'secret-quarantine'] as const
export type HygieneRepair = (typeof HYGIENE_REPAIRS)[number]

export function isHygieneRepair(operation: string): operation is HygieneRepair {
  return (HYGIENE_REPAIRS as readonly string[]).includes(operation)
}

/** A hygiene repair of one file, exactly as a fresh hygiene plan offers it (with the content hash
 * the plan saw), proposed citing that plan. A file the plan does not offer it for is refused here:
 * the arguments always come from the host, never from the caller. */
export async function proposeHygieneRepair(
  client: RepairCaller,
  node: string,
  operation: HygieneRepair,
  path: string,
): Promise<{ basedOn: FindingsReport; proposal: ProposalRecordWire }> {
  const report = await invokePlan(client, node, 'hygiene-plan', {})
  const action = report.findings
    .flatMap((finding) => finding.nextActions)
    .find((candidate) => candidate.operation === operation && candidate.args['path'] === path)
  if (action === undefined)
    throw new ClawMeshError(
      'INVALID_PARAMS',
      `the hygiene plan of ${node} offers no ${operation} for ${path}: run clawmesh hygiene-plan ${node} to see what it offers`,
    )
  const frame = await frameOfReport(client, report)
  return { basedOn: report, proposal: await proposeRepair(client, node, operation, action.args, frame) }
}

export type ActionClass = 'read-only' | 'auto-safe' | 'needs approval'

export function classOf(action: NextAction): ActionClass {
  if (action.level === 'L0') return 'read-only'
  if (action.level === 'L1') return 'auto-safe'
  return 'needs approval'
}

export interface AppliedAction {
  action: NextAction
  proposal?: ProposalRecordWire
  skipped?: string
  error?: string
}

/** The auto-safe (L1, bounded) actions of a fresh autoheal plan, each proposed citing the plan; the
 * policy decides what runs (an operator's L1 runs at once, an AI operator's waits as L2). */
export async function applyAutohealSafe(
  client: RepairCaller,
  node: string,
): Promise<{ plan: FindingsReport; applied: AppliedAction[] }> {
  const report = await invokePlan(client, node, 'autoheal-plan', {})
  const frame = await frameOfReport(client, report)
  const applied: AppliedAction[] = []
  for (const action of report.findings.flatMap((finding) => finding.nextActions)) {
    if (action.level !== 'L1' || !isHostRepairOperation(action.operation)) {
      applied.push({ action, skipped: classOf(action) })
      continue
    }
    try {
      applied.push({
        action,
        proposal: await proposeRepair(client, node, action.operation, action.args, frame),
      })
    } catch (error) {
      applied.push({ action, error: (error as Error).message })
    }
  }
  return { plan: report, applied }
}
