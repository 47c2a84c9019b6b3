/**
 * The host-operations surface (`--host-ops`, `hostOps` in node.json): this node offers
 * `host:<its name>` for its own machine. Each operation invoked here is an L0 workflow (doctor,
 * disk-investigate, security-check, analyze-logs, service-check, and the plans data-clean-plan,
 * hygiene-plan, autoheal-plan) reached through capability routing; repairs are never invoked:
 * they run only as the actuator of an approved command (host-repairs.ts); every run is validated against the findings format, appended to this node's evidence log
 * and published as a `host_findings` frame (docs/host-operations.md).
 */

import type { LocalFrameFields } from '../../protocol/context/index.ts'
import { ClawMeshError } from '../../protocol/errors.ts'
import {
  compactReport,
  type FindingsReport,
  findingsReportSchema,
  fitForEvidence,
  HOST_WORKFLOWS,
  type HostWorkflow,
  hostCapability,
} from '../../protocol/host-ops/findings.ts'
import { broadcastForm } from '../../protocol/rpc/caller-access.ts'
import type { EvidenceEntry } from '../../protocol/safety/index.ts'
import type { Counters } from '../../runtime/counters.ts'
import type { CapabilityRouter } from '../context/capability-router.ts'
import type { NodeSurface } from '../surface.ts'
import { runAutohealPlan, runHygienePlan } from './autoheal.ts'
import { HOST_WORKFLOW_BUDGET_MS } from './constants.ts'
import { runDataCleanPlan } from './data-clean.ts'
import { runDiskInvestigate } from './disk-investigate.ts'
import { runDoctor } from './doctor.ts'
import { runAnalyzeLogs, runServiceCheck } from './logs.ts'
import { runSecurityCheck } from './security-check.ts'
import type { HostOpsSettings } from './settings.ts'
import type { HostWorkflowContext, WorkflowOutput } from './workflow-context.ts'

export interface HostOpsSurfaceInit {
  readonly nodeName: string
  readonly settings: HostOpsSettings
  readonly stateDir: string
  readonly router: CapabilityRouter
  readonly trust: HostWorkflowContext['trust']
  readonly self: HostWorkflowContext['self']
  readonly evidence: { append(type: 'host_findings', data: unknown): Promise<EvidenceEntry> }
  readonly publish: (fields: LocalFrameFields) => Promise<unknown>
  readonly counters: Counters
  readonly log: (line: string) => void
}

export function createHostOpsSurface(init: HostOpsSurfaceInit): NodeSurface {
  const capability = hostCapability(init.nodeName)

  async function run(operation: string, args: Record<string, unknown>): Promise<FindingsReport> {
    if (!(HOST_WORKFLOWS as readonly string[]).includes(operation)) {
      init.counters.increment('host-ops.refused.unknown-workflow')
      throw new ClawMeshError(
        'INVALID_PARAMS',
        `${capability} has no workflow "${operation}" (one of ${HOST_WORKFLOWS.join(', ')})`,
      )
    }
    const workflow = operation as HostWorkflow
    const startedAt = Date.now()
    const context: HostWorkflowContext = {
      nodeName: init.nodeName,
      capability,
      settings: init.settings,
      stateDir: init.stateDir,
      trust: init.trust,
      self: init.self,
      deadline: startedAt + HOST_WORKFLOW_BUDGET_MS,
    }
    let output: WorkflowOutput & { target?: string }
    try {
      output = await runWorkflow(workflow, context, args, startedAt)
    } catch (error) {
      if (error instanceof ClawMeshError)
        init.counters.increment(`host-ops.refused.${error.code.toLowerCase()}`)
      throw error
    }
    const report = findingsReportSchema.parse({
      node: init.nodeName,
      workflow,
      startedAt,
      durationMs: Date.now() - startedAt,
      ...(output.target === undefined ? {} : { target: output.target.slice(0, 128) }),
      ...(output.facts === undefined ? {} : { facts: output.facts }),
      findings: output.findings,
    })
    init.counters.increment(`host-ops.runs.${workflow}`)
    const entry = await init.evidence.append('host_findings', fitForEvidence(report))
    await init
      .publish({
        kind: 'host_findings',
        // host-sensitive runs go out without summaries: viewers receive the frame too.
        data: broadcastForm(compactReport(report, entry.seq)),
        trust: { tier: 'T3', sources: [capability] },
      })
      .catch((error: Error) => init.log(`could not publish ${workflow} findings: ${error.message}`))
    return report
  }

  init.router.provide(capability, async (operation, args) => ({ ...(await run(operation, args)) }))

  return {
    name: 'host-ops',
    capabilities: () => [capability],
    start: () => init.log(`host operations on: ${capability} (${HOST_WORKFLOWS.join(', ')})`),
    stop: () => {},
  }
}

function runWorkflow(
  workflow: HostWorkflow,
  context: HostWorkflowContext,
  args: Record<string, unknown>,
  startedAt: number,
): Promise<WorkflowOutput & { target?: string }> {
  switch (workflow) {
    case 'doctor':
      return runDoctor(
        context,
        { ...(typeof args['callerTime'] === 'number' ? { callerTime: args['callerTime'] } : {}) },
        startedAt,
      )
    case 'disk-investigate':
      return runDiskInvestigate(context, args).then((output) => ({ ...output, target: String(args['path']) }))
    case 'security-check':
      return runSecurityCheck(context)
    case 'analyze-logs':
      return runAnalyzeLogs(context, args)
    case 'service-check':
      return runServiceCheck(context, args)
    case 'data-clean-plan':
      return runDataCleanPlan(context, args)
    case 'hygiene-plan':
      return runHygienePlan(context)
    case 'autoheal-plan':
      return runAutohealPlan(context)
  }
}
