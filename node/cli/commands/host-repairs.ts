/**
 * Host repairs on the CLI (docs/host-operations.md): the plans (`data-clean-plan`, `hygiene-plan`,
 * `autoheal-plan`) are L0 workflows; every repair is a PROPOSAL to the command center the CLI talks
 * to, authored by this CLI's operator and citing the host's own findings as evidence. Nothing here
 * executes a repair: an operator approves it (`clawmesh approve <id>`), the command center sends
 * the certified command, and the host's actuator gate runs the policy and its own checks first.
 */
import type { Command } from 'commander'
import {
  type FindingsReport,
  type HostWorkflow,
  overallStatus,
  worstFirst,
} from '../../../protocol/host-ops/findings.ts'
import type { HostRepairOperation } from '../../../protocol/host-ops/repairs.ts'
import type { ProposalRecordWire } from '../../../protocol/rpc/methods.ts'
import { requiredApprovers } from '../../../protocol/safety/index.ts'
import { CliUsageError } from '../../../runtime/cli/errors.ts'
import { printJson, table } from '../../../runtime/cli/output.ts'
import {
  applyAutohealSafe,
  classOf,
  HYGIENE_REPAIRS,
  invokePlan,
  isHygieneRepair,
  proposeBackedRepair,
  proposeDataCleanApply,
  proposeHygieneRepair,
} from '../../host-ops/repair-proposals.ts'
import { resolveTargetUrl, withClient } from '../target-node.ts'

interface CommonOptions {
  url?: string
  json?: boolean
}

function printReport(report: FindingsReport): void {
  console.log(
    `${report.workflow}${report.target === undefined ? '' : ` ${report.target}`} on ${report.node}: ${overallStatus(report.findings)} (${report.durationMs} ms)`,
  )
  const findings = [...report.findings].sort(worstFirst)
  console.log(
    table([
      ['STATUS', 'RISK', 'CHECK', 'SUMMARY'],
      ...findings.map((finding) => [finding.status, finding.risk, finding.check, finding.summary]),
    ]),
  )
  const actions = findings.flatMap((finding) => finding.nextActions.map((action) => ({ finding, action })))
  if (actions.length > 0) {
    console.log(
      table([
        ['ACTION', 'LEVEL', 'CLASS', 'ARGS', 'FOR'],
        ...actions.map(({ finding, action }) => [
          action.operation,
          action.level,
          classOf(action),
          JSON.stringify(action.args),
          finding.id,
        ]),
      ]),
    )
  }
  for (const finding of findings) {
    if (finding.status === 'ok' || finding.recommendation === '') continue
    console.log(`- ${finding.id}: ${finding.recommendation}`)
  }
}

function printProposed(record: ProposalRecordWire): void {
  const { proposal } = record
  const needed = requiredApprovers(proposal.level)
  console.log(
    table([
      ['PROPOSAL', 'STATE', 'LEVEL', 'OPERATION', 'CAPABILITY', 'APPROVALS'],
      [
        proposal.id,
        record.state,
        proposal.level,
        proposal.operation,
        proposal.capability,
        `${record.approvals.length} of ${needed}`,
      ],
    ]),
  )
  console.log(`  args ${JSON.stringify(proposal.args)}`)
  if (record.reason !== undefined) console.log(`  reason: ${record.reason}`)
  if (record.outcome !== undefined) console.log(`  outcome: ${record.outcome}`)
  if (record.state === 'awaiting_approval')
    console.log(
      `  nothing runs until ${needed === 1 ? 'an operator approves' : `${needed} distinct operators approve (one on site)`}: clawmesh approve ${proposal.id}`,
    )
}

function withCommon(command: Command): Command {
  return command
    .option('--url <url>', 'command center URL (default: the saved gateway, else ws://127.0.0.1:18789)')
    .option('--json', 'print JSON')
}

function planCommand(
  program: Command,
  workflow: 'data-clean-plan' | 'hygiene-plan' | 'autoheal-plan',
  usage: string,
  description: string,
  toArgs: (params: string[]) => Record<string, unknown>,
): void {
  withCommon(program.command(usage).description(description)).action(async (...params: unknown[]) => {
    const options = params.find((param) => typeof param === 'object' && param !== null) as CommonOptions
    const positional = params.filter((param): param is string => typeof param === 'string')
    const [node] = positional as [string]
    const url = await resolveTargetUrl(program, options.url)
    await withClient(program, url, async (client) => {
      const report = await invokePlan(client, node, workflow, toArgs(positional.slice(1)))
      if (options.json) return printJson(report)
      printReport(report)
      if (workflow === 'data-clean-plan' && report.facts?.['manifestId'] !== undefined)
        console.log(
          `manifest ${report.facts['manifestId']} (sha256 ${report.facts['manifestHash']}) is kept on ${node}; propose it with: clawmesh data-clean-apply ${node} ${report.facts['manifestId']}`,
        )
    })
  })
}

/** A repair proposal backed by a fresh L0 check of the same host. */
function repairCommand(
  program: Command,
  usage: string,
  description: string,
  build: (
    positional: string[],
    options: Record<string, unknown>,
  ) => {
    operation: HostRepairOperation
    args: Record<string, unknown>
    basedOn: { workflow: HostWorkflow; args: Record<string, unknown> }
  },
  extra?: (command: Command) => Command,
): void {
  const command = withCommon(program.command(usage).description(description))
  ;(extra?.(command) ?? command).action(async (...params: unknown[]) => {
    const options = params.find(
      (param) => typeof param === 'object' && param !== null && !Array.isArray(param),
    ) as CommonOptions & Record<string, unknown>
    const positional = params.filter(
      (param): param is string | string[] => typeof param === 'string' || Array.isArray(param),
    )
    const flat = positional.flatMap((param) => (Array.isArray(param) ? param : [param]))
    const [node] = flat as [string]
    const plan = build(flat, options)
    const url = await resolveTargetUrl(program, options.url)
    await withClient(program, url, async (client) => {
      const { basedOn: report, proposal: record } = await proposeBackedRepair(client, node, plan)
      if (options.json) return printJson({ basedOn: report, proposal: record })
      console.log(
        `${plan.basedOn.workflow} on ${node}: ${overallStatus(report.findings)} (cited as evidence)`,
      )
      printProposed(record)
    })
  })
}

export function registerHostRepairCommands(program: Command): void {
  planCommand(
    program,
    'data-clean-plan',
    'data-clean-plan <node> <path>',
    'cleanup candidates (raw, intermediate, checkpoints, caches) under a configured path, final outputs kept; writes a manifest on the node (read-only)',
    ([path]) => ({ path }),
  )
  planCommand(
    program,
    'hygiene-plan',
    'hygiene-plan <node>',
    'permission hardening, logs leaking secrets, exposed secrets: each action with its level (read-only)',
    () => ({}),
  )
  planCommand(
    program,
    'autoheal-plan',
    'autoheal-plan <node>',
    'current alerts and their actions: read-only, auto-safe (L1, bounded) or needs approval (read-only)',
    () => ({}),
  )

  withCommon(
    program
      .command('data-clean-apply <node> <manifest>')
      .description(
        'propose deleting the files of a data-clean manifest (L2): after approval the node deletes only files still matching it',
      ),
  ).action(async (node: string, manifest: string, options: CommonOptions) => {
    const url = await resolveTargetUrl(program, options.url)
    await withClient(program, url, async (client) => {
      const record = await proposeDataCleanApply(client, node, manifest)
      if (record === undefined)
        throw new CliUsageError(
          `no data-clean-plan of ${node} with manifest ${manifest} is known here: run clawmesh data-clean-plan ${node} <path> first`,
        )
      if (options.json) return printJson({ proposal: record })
      printProposed(record)
    })
  })

  repairCommand(
    program,
    'run <node> <argv...>',
    'propose running a command on a node (L2): after approval it runs as the unprivileged run user, time-limited, output capped and redacted',
    (positional) => {
      const argv = positional.slice(1)
      if (argv.length === 0)
        throw new CliUsageError('give the command after --: clawmesh run <node> -- <argv…>')
      return {
        operation: 'run',
        args: { argv },
        basedOn: { workflow: 'doctor', args: { callerTime: Date.now() } },
      }
    },
  )
  repairCommand(
    program,
    'service-quarantine <node> <unit>',
    'propose disabling a flapping unit whose ExecStart program is missing (L2)',
    ([, unit]) => ({
      operation: 'service-quarantine',
      args: { unit },
      basedOn: { workflow: 'service-check', args: { unit } },
    }),
  )
  repairCommand(
    program,
    'service-remove <node> <unit>',
    'propose removing a unit, its unit file and optionally its working directory (L3: two operators, one on site)',
    ([, unit], options) => ({
      operation: 'service-remove',
      args: { unit, ...(typeof options['workdir'] === 'string' ? { workdir: options['workdir'] } : {}) },
      basedOn: { workflow: 'service-check', args: { unit } },
    }),
    (command) =>
      command.option('--workdir <dir>', 'working directory to delete too (inside hostOps.repairPaths)'),
  )

  withCommon(
    program
      .command('hygiene-apply <node> <operation> <path>')
      .description(
        "propose a hygiene plan's L2 repair of one file: log-redact-copy (a redacted copy beside the log) or secret-quarantine (move into the node's quarantine)",
      ),
  ).action(async (node: string, operation: string, path: string, options: CommonOptions) => {
    if (!isHygieneRepair(operation))
      throw new CliUsageError(`operation must be one of ${HYGIENE_REPAIRS.join(', ')}, not "${operation}"`)
    const url = await resolveTargetUrl(program, options.url)
    await withClient(program, url, async (client) => {
      const { basedOn: report, proposal: record } = await proposeHygieneRepair(client, node, operation, path)
      if (options.json) return printJson({ basedOn: report, proposal: record })
      console.log(`hygiene-plan on ${node}: ${overallStatus(report.findings)} (cited as evidence)`)
      printProposed(record)
    })
  })

  withCommon(
    program
      .command('autoheal-apply-safe <node>')
      .description(
        "run the auto-safe (L1, bounded) actions of a fresh autoheal plan, each checked by the node's own policy",
      ),
  ).action(async (node: string, options: CommonOptions) => {
    const url = await resolveTargetUrl(program, options.url)
    await withClient(program, url, async (client) => {
      const { plan: report, applied } = await applyAutohealSafe(client, node)
      const actions = applied.map((item) => item.action)
      if (options.json) return printJson({ plan: report, applied })
      console.log(`autoheal-plan on ${node}: ${overallStatus(report.findings)}; ${actions.length} action(s)`)
      console.log(
        table([
          ['ACTION', 'LEVEL', 'ARGS', 'RESULT', 'DETAIL'],
          ...applied.map((item) => [
            item.action.operation,
            item.action.level,
            JSON.stringify(item.action.args),
            item.proposal?.state ?? (item.error === undefined ? `skipped (${item.skipped})` : 'refused'),
            (item.error ?? item.proposal?.reason ?? item.proposal?.outcome ?? '').slice(0, 120),
          ]),
        ]),
      )
    })
  })
}
