/**
 * Host-operations commands (docs/host-operations.md): `doctor`, `disk-investigate`,
 * `security-check`, `analyze-logs`, `service-check` invoke a node's `host:<name>` capability
 * through the node the CLI talks to; `list` shows the fleet from the findings the nodes published.
 */
import type { Command } from 'commander'
import {
  type FindingsReport,
  findingsReportSchema,
  type HostWorkflow,
  hostCapability,
  overallStatus,
  worstFirst,
} from '../../../protocol/host-ops/findings.ts'
import { formatDuration, printJson, table } from '../../../runtime/cli/output.ts'
import { HOST_INVOKE_TIMEOUT_MS } from '../../host-ops/constants.ts'
import { listHostNodes } from '../../host-ops/fleet.ts'
import type { CliClient } from '../client-node.ts'
import { resolveTargetUrl, withClient } from '../target-node.ts'

interface HostOpsOptions {
  url?: string
  node?: string
  json?: boolean
}

async function invokeWorkflow(
  client: CliClient,
  node: string | undefined,
  workflow: HostWorkflow,
  args: Record<string, unknown>,
): Promise<FindingsReport> {
  const name = node ?? (await client.call('mesh.status', {})).name
  const answer = await client.call('capability.invoke', {
    capability: hostCapability(name),
    operation: workflow,
    args,
    timeoutMs: HOST_INVOKE_TIMEOUT_MS,
  })
  return findingsReportSchema.parse(answer.result)
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
  for (const finding of findings) {
    if (finding.status === 'ok' || finding.recommendation === '') continue
    console.log(`- ${finding.id}: ${finding.recommendation}`)
  }
}

function workflowCommand(
  program: Command,
  name: HostWorkflow,
  description: string,
  argument: { name: string; key: string } | undefined,
): void {
  const command = program
    .command(argument === undefined ? name : `${name} <${argument.name}>`)
    .description(description)
    .option('--url <url>', 'node URL (default: the saved gateway, else ws://127.0.0.1:18789)')
    .option('--node <name>', 'the node whose machine to check (default: the node the CLI talks to)')
    .option('--json', 'print JSON')
  command.action(async (...params: unknown[]) => {
    const value = argument === undefined ? undefined : (params[0] as string)
    const options = (argument === undefined ? params[0] : params[1]) as HostOpsOptions
    const args: Record<string, unknown> = name === 'doctor' ? { callerTime: Date.now() } : {}
    if (argument !== undefined) args[argument.key] = value
    const url = await resolveTargetUrl(program, options.url)
    await withClient(program, url, async (client) => {
      const report = await invokeWorkflow(client, options.node, name, args)
      if (options.json) return printJson(report)
      printReport(report)
    })
  })
}

export function registerHostOpsCommands(program: Command): void {
  workflowCommand(
    program,
    'doctor',
    "health of a node's machine and of ClawMesh on it (read-only)",
    undefined,
  )
  workflowCommand(
    program,
    'disk-investigate',
    'largest directories and files under a configured path (read-only)',
    {
      name: 'path',
      key: 'path',
    },
  )
  workflowCommand(
    program,
    'security-check',
    'SSH, accounts, open ports, firewall, pending updates, exposed secrets (read-only)',
    undefined,
  )
  workflowCommand(
    program,
    'analyze-logs',
    'error/warning patterns of a journal unit or configured log file',
    {
      name: 'source',
      key: 'source',
    },
  )
  workflowCommand(program, 'service-check', 'state, restarts and last log lines of a systemd unit', {
    name: 'unit',
    key: 'unit',
  })
  program
    .command('list')
    .description(
      'the fleet: each node with host operations, its OS, CPU, memory, disk, GPU, health, last seen',
    )
    .option('--url <url>', 'node URL (default: the saved gateway, else ws://127.0.0.1:18789)')
    .option('--json', 'print JSON')
    .action(async (options: { url?: string; json?: boolean }) => {
      const url = await resolveTargetUrl(program, options.url)
      await withClient(program, url, async (client) => {
        const nodes = await listHostNodes(client)
        if (options.json) return printJson({ nodes })
        const now = Date.now()
        console.log(
          table([
            [
              'NODE',
              'ROLE',
              'OS',
              'CPUS',
              'LOAD',
              'MEM FREE',
              'DISK FREE',
              'GPU',
              'HEALTH',
              'CHECKED',
              'LAST SEEN',
            ],
            ...nodes.map((node) => [
              node.name ?? node.deviceId.slice(0, 12),
              node.role ?? '-',
              String(node.facts['os'] ?? '-'),
              String(node.facts['cpus'] ?? '-'),
              String(node.facts['load1'] ?? '-'),
              node.facts['memAvailableMb'] === undefined ? '-' : `${node.facts['memAvailableMb']} MiB`,
              node.facts['diskFreePct'] === undefined ? '-' : `${node.facts['diskFreePct']}%`,
              String(node.facts['gpu'] ?? '-'),
              node.health,
              node.checkedAt === undefined
                ? 'never (run clawmesh doctor --node NAME)'
                : `${formatDuration(now - node.checkedAt)} ago`,
              node.lastSeen === undefined ? '-' : `${formatDuration(Math.max(0, now - node.lastSeen))} ago`,
            ]),
          ]),
        )
      })
    })
}
