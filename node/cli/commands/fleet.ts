/**
 * Fleet commands (docs/host-operations.md): `policy-check`, `monitor-check`, `monitor-agent`,
 * `capabilities`, `capacity-plan` and `provision-plan`. Each has `--json` and a readable table; a
 * long call shows its progress on a terminal (stderr, so `--json` output stays clean).
 */
import { readFile } from 'node:fs/promises'
import type { Command } from 'commander'
import {
  type Budget,
  budgetSchema,
  type CapacityPlan,
  capacityPlan,
  PROVISION_COUNT_MAX,
  type ProvisionPlan,
  provisionPlan,
} from '../../../protocol/host-ops/capacity.ts'
import { MONITOR_INTERVAL_MAX_MS, MONITOR_INTERVAL_MIN_MS } from '../../../protocol/host-ops/fleet.ts'
import type { PolicyCheckResult, RpcResult } from '../../../protocol/rpc/methods.ts'
import { POLICY_CHECK_ACTIONS, type PolicyCheckAction } from '../../../protocol/safety/policy-check.ts'
import { formatDuration, printJson, table } from '../../../runtime/cli/output.ts'
import { fleetFacts, NO_FLEET_FACTS, parseResource } from '../../host-ops/fleet.ts'
import { resolveTargetUrl, withClient } from '../target-node.ts'

const URL_HELP = 'node URL (default: the saved gateway, else ws://127.0.0.1:18789)'
/** How often the progress line on a terminal is redrawn. */
const PROGRESS_REDRAW_MS = 250

/** Runs `work`, showing `label` and the time spent on stderr while it runs, when stderr is a terminal. */
async function withProgress<T>(label: string, work: Promise<T>): Promise<T> {
  if (!process.stderr.isTTY) return work
  const started = Date.now()
  const draw = () => process.stderr.write(`\r${label} ${((Date.now() - started) / 1000).toFixed(1)} s `)
  draw()
  const timer = setInterval(draw, PROGRESS_REDRAW_MS)
  try {
    return await work
  } finally {
    clearInterval(timer)
    process.stderr.write('\r\x1b[K')
  }
}

/** `30s`, `5m`, `1h` or plain milliseconds. */
export function parseInterval(text: string): number {
  const match = /^(\d+(?:\.\d+)?)(ms|s|m|h)?$/.exec(text.trim())
  if (match === null) throw new Error(`"${text}" is not an interval: write 30s, 5m, 1h or milliseconds`)
  const unit = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000 }[match[2] ?? 'ms'] ?? 1
  const ms = Math.round(Number(match[1]) * unit)
  if (ms < MONITOR_INTERVAL_MIN_MS || ms > MONITOR_INTERVAL_MAX_MS) {
    throw new Error(
      `an interval of ${formatDuration(ms)} is outside ${formatDuration(MONITOR_INTERVAL_MIN_MS)}..${formatDuration(MONITOR_INTERVAL_MAX_MS)}`,
    )
  }
  return ms
}

async function readBudget(path: string): Promise<Budget> {
  const parsed = budgetSchema.safeParse(JSON.parse(await readFile(path, 'utf8')))
  if (!parsed.success) {
    const issue = parsed.error.issues[0]
    throw new Error(
      `budget file ${path}: ${issue?.path.join('.') || '(root)'} ${issue?.message ?? 'invalid'}`,
    )
  }
  return parsed.data
}

export function registerFleetCommands(program: Command): void {
  registerPolicyCheck(program)
  registerMonitorCheck(program)
  registerMonitorAgent(program)
  registerCapabilities(program)
  registerCapacityPlan(program)
  registerProvisionPlan(program)
}

function registerPolicyCheck(program: Command): void {
  program
    .command('policy-check <subject> <action> <resource>')
    .description(
      "the policy's answer for a subject (a role, an operator's name, planner, device), an action (read_state, propose, approve, execute) and a capability[/operation]",
    )
    .option('--url <url>', URL_HELP)
    .option('--json', 'print JSON')
    .action(
      async (
        subject: string,
        action: string,
        resource: string,
        options: { url?: string; json?: boolean },
      ) => {
        if (!(POLICY_CHECK_ACTIONS as readonly string[]).includes(action))
          throw new Error(`action must be one of ${POLICY_CHECK_ACTIONS.join(', ')}`)
        const target = parseResource(resource, action as PolicyCheckAction)
        const url = await resolveTargetUrl(program, options.url)
        await withClient(program, url, async (client) => {
          const result = await client.call('policy.check', {
            subject,
            action: action as PolicyCheckAction,
            ...target,
          })
          if (options.json) return printJson(result)
          printPolicyAnswer(result)
        })
      },
    )
}

function registerMonitorCheck(program: Command): void {
  program
    .command('monitor-check')
    .description('doctor on every node with host operations, at once: one table, stored as evidence')
    .option('--url <url>', URL_HELP)
    .option('--json', 'print JSON')
    .action(async (options: { url?: string; json?: boolean }) => {
      const url = await resolveTargetUrl(program, options.url)
      await withClient(program, url, async (client) => {
        const check = await withProgress(
          'monitor-check: doctor on every node…',
          client.call('host.monitor.check', {}),
        )
        if (options.json) return printJson(check)
        console.log(
          `monitor-check by ${check.checkedBy}: ${check.rows.length} node(s) in ${check.durationMs} ms (evidence #${check.evidenceSeq})`,
        )
        console.log(
          table([
            ['NODE', 'STATUS', 'FAIL', 'WARN', 'N/A', 'OK', 'MS', 'WORST'],
            ...check.rows.map((row) => [
              row.node,
              row.status,
              String(row.counts.fail),
              String(row.counts.warn),
              String(row.counts.unavailable),
              String(row.counts.ok),
              String(row.durationMs),
              row.worst,
            ]),
          ]),
        )
      })
    })
}

function registerMonitorAgent(program: Command): void {
  program
    .command('monitor-agent <interval>')
    .description(
      'the leader runs monitor-check every interval (30s, 5m, …; "off" stops, "status" shows) and raises an event per failing crossing',
    )
    .option('--url <url>', URL_HELP)
    .option('--json', 'print JSON')
    .action(async (interval: string, options: { url?: string; json?: boolean }) => {
      const params =
        interval === 'off'
          ? { stop: true }
          : interval === 'status'
            ? {}
            : { intervalMs: parseInterval(interval) }
      const url = await resolveTargetUrl(program, options.url)
      await withClient(program, url, async (client) => {
        const status = await client.call('host.monitor.agent', params)
        if (options.json) return printJson(status)
        console.log(
          status.running
            ? `monitor agent: every ${formatDuration(status.intervalMs ?? 0)}, ${status.leading ? 'running (this node leads)' : 'waiting (this node does not lead)'}; ${status.runs} run(s), ${status.alertsRaised} alert(s)`
            : 'monitor agent: stopped',
        )
      })
    })
}

function registerCapabilities(program: Command): void {
  program
    .command('capabilities')
    .description('every capability in the mesh and the nodes that provide it')
    .option('--url <url>', URL_HELP)
    .option('--json', 'print JSON')
    .action(async (options: { url?: string; json?: boolean }) => {
      const url = await resolveTargetUrl(program, options.url)
      await withClient(program, url, async (client) => {
        const status = await client.call('mesh.status', {})
        const { peers } = await client.call('mesh.peers', {})
        const capabilities = capabilityProviders(status, peers)
        if (options.json) return printJson({ capabilities })
        console.log(
          table([
            ['CAPABILITY', 'PROVIDERS'],
            ...capabilities.map((entry) => [
              entry.capability,
              entry.providers.map((provider) => `${provider.name} (${provider.state})`).join(', '),
            ]),
          ]),
        )
      })
    })
}

function registerCapacityPlan(program: Command): void {
  program
    .command('capacity-plan')
    .description(
      "fleet headroom from each node's last doctor and a budget file (plan only: nothing is rented or created)",
    )
    .requiredOption('--budget <file>', 'budget file (JSON): reserve, workloads, node types, monthly budget')
    .option('--url <url>', URL_HELP)
    .option('--json', 'print JSON')
    .action(async (options: { budget: string; url?: string; json?: boolean }) => {
      const budget = await readBudget(options.budget)
      const url = await resolveTargetUrl(program, options.url)
      await withClient(program, url, async (client) => {
        const facts = await fleetFacts(client)
        if (facts.length === 0) throw new Error(NO_FLEET_FACTS)
        const plan = capacityPlan(facts, budget)
        if (options.json) return printJson(plan)
        printCapacityPlan(plan, budget)
      })
    })
}

function registerProvisionPlan(program: Command): void {
  program
    .command('provision-plan <workload> <count>')
    .description('where count instances of a workload would go, and what would have to be added (plan only)')
    .requiredOption('--budget <file>', 'budget file (JSON): reserve, workloads, node types, monthly budget')
    .option('--url <url>', URL_HELP)
    .option('--json', 'print JSON')
    .action(
      async (
        workload: string,
        countText: string,
        options: { budget: string; url?: string; json?: boolean },
      ) => {
        const count = Number(countText)
        if (!Number.isInteger(count) || count < 1 || count > PROVISION_COUNT_MAX)
          throw new Error(`count must be a whole number from 1 to ${PROVISION_COUNT_MAX}`)
        const budget = await readBudget(options.budget)
        if (budget.workloads[workload] === undefined)
          throw new Error(
            `the budget file declares no workload "${workload}" (it has ${Object.keys(budget.workloads).join(', ') || 'none'})`,
          )
        const url = await resolveTargetUrl(program, options.url)
        await withClient(program, url, async (client) => {
          const facts = await fleetFacts(client)
          if (facts.length === 0) throw new Error(NO_FLEET_FACTS)
          const plan = provisionPlan(facts, budget, workload, count)
          if (options.json) return printJson(plan)
          printProvisionPlan(plan, budget)
        })
      },
    )
}

function printProvisionPlan(plan: ProvisionPlan, budget: Budget): void {
  console.log(`provision-plan ${plan.workload} × ${plan.count} (plan only: nothing is rented or created)`)
  console.log(
    table([
      ['NODE', 'INSTANCES'],
      ...plan.placements.map((placement) => [placement.node, String(placement.instances)]),
    ]),
  )
  if (plan.unplaced === 0) {
    console.log('all instances fit the current fleet')
    return
  }
  if (plan.additional === undefined) {
    console.log(`${plan.unplaced} do not fit: ${plan.note}`)
    return
  }
  const within =
    plan.additional.withinBudget === undefined
      ? ''
      : plan.additional.withinBudget
        ? ', within the monthly budget'
        : `, OVER the monthly budget of ${budget.monthlyBudget} ${budget.currency}`
  console.log(
    `${plan.unplaced} do not fit: ${plan.additional.nodes} × ${plan.additional.nodeType} would hold them, ${plan.additional.monthlyCost} ${budget.currency}/month${within}`,
  )
}

function printCapacityPlan(plan: CapacityPlan, budget: Budget): void {
  const workloads = Object.keys(budget.workloads)
  const now = Date.now()
  console.log(
    table([
      [
        'NODE',
        'CPUS FREE',
        'MEM FREE',
        'DISK FREE',
        ...workloads.map((name) => `FITS ${name}`),
        'FACTS FROM',
      ],
      ...plan.nodes.map((node) => [
        node.node,
        String(node.cpusFree),
        `${node.memFreeMb} MiB`,
        node.diskFreePct === undefined ? '-' : `${node.diskFreePct}%`,
        ...workloads.map((name) => String(node.fits[name] ?? 0)),
        `${formatDuration(Math.max(0, now - node.checkedAt))} ago`,
      ]),
      [
        'FLEET',
        String(plan.totals.cpusFree),
        `${plan.totals.memFreeMb} MiB`,
        '',
        ...workloads.map((name) => String(plan.fleetFits[name] ?? 0)),
        '',
      ],
    ]),
  )
  console.log(
    `headroom above the reserve (CPU ${budget.reserve.cpuFraction * 100}%, memory ${budget.reserve.memFraction * 100}%, disk ${budget.reserve.diskPct}%); plan only`,
  )
}

interface Provider {
  readonly name: string
  readonly deviceId: string
  readonly state: string
}

/** Each capability in the mesh with the nodes that advertise it: this node first, then its peers. */
function capabilityProviders(
  status: RpcResult<'mesh.status'>,
  peers: RpcResult<'mesh.peers'>['peers'],
): { capability: string; providers: Provider[] }[] {
  const providers = new Map<string, Provider[]>()
  const add = (capability: string, provider: Provider) =>
    providers.set(capability, [...(providers.get(capability) ?? []), provider])
  for (const capability of status.capabilities)
    add(capability, { name: status.name, deviceId: status.deviceId, state: 'self' })
  for (const peer of peers) {
    if (peer.deviceId === status.deviceId) continue
    const name = peer.name ?? peer.deviceId.slice(0, 12)
    for (const capability of peer.capabilities)
      add(capability, { name, deviceId: peer.deviceId, state: peer.state })
  }
  return [...providers.entries()]
    .map(([capability, list]) => ({ capability, providers: list }))
    .sort((a, b) => a.capability.localeCompare(b.capability))
}

function printPolicyAnswer(result: PolicyCheckResult): void {
  const { answer, subject } = result
  const roles = subject.roles?.join(', ') ?? ''
  const who =
    subject.kind !== 'operator'
      ? `the ${subject.kind}`
      : subject.name === undefined
        ? `role ${roles}`
        : `${subject.name} (${roles})`
  const verdict =
    answer.decision === 'needs-approval'
      ? `needs approval at ${answer.level} (${answer.approvers} more distinct operator approval(s))`
      : `${answer.decision}${answer.level === undefined ? '' : ` (${answer.level})`}`
  console.log(`${who} ${result.action} ${result.capability}/${result.operation}: ${verdict}`)
  console.log(`  rule: ${answer.rule}`)
  console.log(`  why: ${answer.reason}`)
  console.log(`  answered by ${result.answeredBy}`)
}
