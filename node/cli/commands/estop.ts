/**
 * `clawmesh estop [--zone Z | --node N | --actuator CAP | --all]` — an emergency stop signed with
 * this CLI's operator key, sent to the command center (or, with --url, straight to a field node);
 * `estop clear <scope>` asks for the L2 clear proposals and approves them with this CLI's key;
 * `estop status` lists a node's latches; `proposal cancel <id>` withdraws a proposal.
 */
import type { Command } from 'commander'
import { isCommandCenterRole } from '../../../protocol/roles.ts'
import type { EstopActuatorResult } from '../../../protocol/rpc/methods/estop.ts'
import {
  type EstopScope,
  type OperatorLink,
  signApproval,
  signEstopOrder,
} from '../../../protocol/safety/index.ts'
import { signerFromPrivateKey } from '../../../protocol/signing.ts'
import { CliUsageError } from '../../../runtime/cli/errors.ts'
import { printJson, table } from '../../../runtime/cli/output.ts'
import { loadOrCreateIdentity } from '../../../runtime/identity/device-identity.ts'
import { resolveStateDir, statePaths } from '../../../runtime/state/state-dir.ts'
import { resolveTargetUrl, withClient } from '../target-node.ts'
import { defaultLink, loadCertificate } from './proposals.ts'

interface ScopeOptions {
  all?: boolean
  zone?: string
  node?: string
  actuator?: string
}

function scopeOf(options: ScopeOptions, fallback: EstopScope | undefined): EstopScope {
  const given = [
    options.all === true ? ({ kind: 'all' } as const) : undefined,
    options.zone === undefined ? undefined : ({ kind: 'zone', zone: options.zone } as const),
    options.node === undefined ? undefined : ({ kind: 'node', node: options.node } as const),
    options.actuator === undefined
      ? undefined
      : ({ kind: 'actuator', capability: options.actuator } as const),
  ].filter((scope) => scope !== undefined)
  if (given.length > 1) throw new CliUsageError('give one scope: --all, --zone, --node or --actuator')
  const [scope] = given
  if (scope !== undefined) return scope
  if (fallback === undefined)
    throw new CliUsageError('give a scope: --all, --zone Z, --node N or --actuator CAPABILITY')
  return fallback
}

function withScopeOptions(command: Command): Command {
  return command
    .option('--all', 'every actuator of the site')
    .option('--zone <zone>', 'the actuators of one zone')
    .option('--node <node>', 'the actuators of one node (site name or device ID)')
    .option('--actuator <capability>', 'one actuator, e.g. actuator:valve:zone-3')
    .option('--url <url>', 'command center URL (default: the saved gateway, else ws://127.0.0.1:18789)')
    .option('--json', 'print JSON')
}

function printActuators(actuators: readonly EstopActuatorResult[]): void {
  if (actuators.length === 0) {
    console.log('no actuator in scope')
    return
  }
  console.log(
    table([
      ['ACTUATOR', 'OUTCOME', 'LATCHED', 'NODE', 'DETAIL'],
      ...actuators.map((a) => [
        a.capability,
        a.outcome,
        a.latched ? 'yes' : 'no',
        a.node ?? '-',
        a.detail ?? '',
      ]),
    ]),
  )
}

async function operatorSigner(program: Command) {
  const certificate = await loadCertificate(program)
  const key = await loadOrCreateIdentity(statePaths(resolveStateDir(program.opts().stateDir)).cliIdentity)
  return { certificate, signer: signerFromPrivateKey(key.privateKey) }
}

export function registerEstopCommands(program: Command): void {
  const estop = registerEstop(program)
  registerEstopClear(program, estop)
  registerEstopStatus(program, estop)
  registerProposalCancel(program)
}

function registerEstop(program: Command): Command {
  return withScopeOptions(
    program
      .command('estop')
      .description(
        'emergency stop: drive every actuator in scope to its safe state and latch it (default --all); any certified operator may stop',
      ),
  )
    .option('--reason <text>', 'why (recorded with the stop)', '')
    .action(async (options: ScopeOptions & { url?: string; json?: boolean; reason: string }) => {
      const scope = scopeOf(options, { kind: 'all' })
      const url = await resolveTargetUrl(program, options.url)
      const { certificate, signer } = await operatorSigner(program)
      const order = await signEstopOrder(signer, {
        scope,
        reason: options.reason,
        operatorCertificate: certificate,
        issuedAt: Date.now(),
      })
      await withClient(program, url, async (client) => {
        const status = await client.call('mesh.status', {})
        // A command center relays to every node in scope; any other node stops its own actuators.
        const result = isCommandCenterRole(status.role)
          ? await client.call('safety.estop', { order })
          : {
              scope: scope.kind,
              cancelled: [],
              ...(await client.call('actuator.estop', { order })),
            }
        if (options.json) return printJson(result)
        printActuators(result.actuators)
        if (result.cancelled.length > 0) console.log(`cancelled proposals: ${result.cancelled.join(', ')}`)
        const unsafe = result.actuators.filter((a) => a.outcome !== 'safe')
        if (unsafe.length > 0) {
          console.log(`${unsafe.length} actuator(s) NOT confirmed safe: check them on site`)
          process.exitCode = 1
        }
      })
    })
}

function registerEstopClear(program: Command, estop: Command): void {
  withScopeOptions(
    estop
      .command('clear')
      .description(
        'clear the stop latches in scope: an L2 decision (operators and admins), approved with this CLI operator key',
      ),
  )
    .option('--no-approve', 'only ask: leave the clear proposals for another operator to approve')
    .option('--link <link>', 'link you are deciding over; default local for loopback, else lan')
    .action(
      async (options: ScopeOptions & { url?: string; json?: boolean; approve: boolean; link?: string }) => {
        const scope = scopeOf(options, undefined)
        const url = await resolveTargetUrl(program, options.url)
        const { certificate, signer } = await operatorSigner(program)
        await withClient(program, url, async (client) => {
          const { proposals } = await client.call('safety.estop.clear', { scope })
          const decided = []
          for (const proposal of proposals) {
            if (!options.approve) {
              decided.push({ ...proposal, verdict: 'awaiting approval' })
              continue
            }
            const approval = await signApproval(signer, {
              proposalHash: proposal.hash,
              decision: 'approve',
              operatorCertificate: certificate,
              operatorLink: (options.link as OperatorLink | undefined) ?? defaultLink(url),
              at: Date.now(),
            })
            const result = await client.call('proposal.approve', { id: proposal.id, approval })
            decided.push({
              ...proposal,
              verdict: result.verdict,
              state: result.proposal.state,
              detail: result.detail,
            })
          }
          if (options.json) return printJson({ proposals: decided })
          if (decided.length === 0) return console.log('nothing latched in scope')
          console.log(
            table([
              ['PROPOSAL', 'ACTUATOR', 'VERDICT', 'STATE'],
              ...decided.map((d) => [d.id, d.capability, d.verdict, 'state' in d ? String(d.state) : '-']),
            ]),
          )
        })
      },
    )
}

function registerEstopStatus(program: Command, estop: Command): void {
  estop
    .command('status')
    .description("a node's latched actuators")
    .option('--url <url>', 'node URL (default: the saved gateway, else ws://127.0.0.1:18789)')
    .option('--json', 'print JSON')
    .action(async (options: { url?: string; json?: boolean }) => {
      const url = await resolveTargetUrl(program, options.url)
      await withClient(program, url, async (client) => {
        const result = await client.call('safety.estop.status', {})
        if (options.json) return printJson(result)
        if (result.latches.length === 0) return console.log('no actuator latched')
        console.log(
          table([
            ['ACTUATOR', 'SINCE', 'BY', 'REASON'],
            ...result.latches.map((l) => [
              l.capability,
              new Date(l.latchedAt).toISOString(),
              l.operatorId,
              l.reason,
            ]),
          ]),
        )
      })
    })
}

function registerProposalCancel(program: Command): void {
  program
    .command('proposal')
    .description('act on one proposal')
    .command('cancel <id>')
    .description('withdraw a proposal (its author or an admin); it never executes')
    .option('--reason <text>', 'why (recorded)')
    .option('--url <url>', 'command center URL (default: the saved gateway, else ws://127.0.0.1:18789)')
    .option('--json', 'print JSON')
    .action(async (id: string, options: { reason?: string; url?: string; json?: boolean }) => {
      const url = await resolveTargetUrl(program, options.url)
      await withClient(program, url, async (client) => {
        const result = await client.call('proposal.cancel', {
          id,
          ...(options.reason === undefined ? {} : { reason: options.reason }),
        })
        if (options.json) return printJson(result)
        console.log(`${result.id}  ${result.state}  (${result.reason})`)
        if (result.actuatorConfirmed === false)
          console.log('the actuator could not be reached; the command center will not send it again')
      })
    })
}
