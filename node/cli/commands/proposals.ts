/**
 * Operator commands for the safety flow: `proposals`, `propose`, `approve`, `reject`, and
 * `operator enroll|issue|import|show`. The CLI acts as an operator with its own key (identity/cli.json)
 * and a certificate issued by a command center (identity/operator-certificate.json); approvals are
 * signed here, with that key, so every hop knows who decided.
 */

import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import type { Command } from 'commander'
import { parseNodeUrl } from '../../../protocol/node-url.ts'
import type { ProposalRecordWire } from '../../../protocol/rpc/methods.ts'
import {
  approvalLevelSchema,
  OPERATOR_LINKS,
  OPERATOR_ROLES,
  type OperatorCertificate,
  type OperatorLink,
  type OperatorRole,
  operatorCertificateSchema,
  PROPOSAL_STATES,
  type ProposalState,
  proposalStateSchema,
  requiredApprovers,
  signApproval,
} from '../../../protocol/safety/index.ts'
import { classifyHost } from '../../../protocol/safety/operator-link.ts'
import { signerFromPrivateKey } from '../../../protocol/signing.ts'
import { CliUsageError } from '../../../runtime/cli/errors.ts'
import { formatDuration, printJson, table } from '../../../runtime/cli/output.ts'
import { loadOrCreateIdentity } from '../../../runtime/identity/device-identity.ts'
import { readJsonFile, writeJsonAtomic } from '../../../runtime/state/atomic-file.ts'
import { resolveStateDir, statePaths } from '../../../runtime/state/state-dir.ts'
import { resolveTargetUrl, withClient } from '../target-node.ts'

function certificatePath(program: Command): string {
  return join(resolveStateDir(program.opts().stateDir), 'identity', 'operator-certificate.json')
}

export async function loadCertificate(program: Command): Promise<OperatorCertificate> {
  const certificate = await readJsonFile(
    certificatePath(program),
    operatorCertificateSchema,
    'operator certificate',
  )
  if (certificate === undefined) {
    throw new CliUsageError(
      'this CLI has no operator certificate: run `clawmesh operator enroll --name NAME` on the command center, or import one with `clawmesh operator import FILE`',
    )
  }
  return certificate
}

function parseRoles(text: string): OperatorRole[] {
  const roles = text.split(',').map((role) => role.trim())
  for (const role of roles) {
    if (!(OPERATOR_ROLES as readonly string[]).includes(role))
      throw new CliUsageError(`unknown role "${role}": use ${OPERATOR_ROLES.join(', ')}`)
  }
  return roles as OperatorRole[]
}

/** `--state` is checked here so a typo is a usage error, not an empty list. */
function parseProposalState(text: string | undefined): ProposalState | undefined {
  if (text === undefined) return undefined
  const parsed = proposalStateSchema.safeParse(text)
  if (!parsed.success) throw new CliUsageError(`unknown state "${text}": use ${PROPOSAL_STATES.join(', ')}`)
  return parsed.data
}

/** What the CLI claims by default: loopback is local, a private address the LAN, anything else the
 * WAN (the command center refuses a claim more local than the connection it observes). */
export function defaultLink(url: string): OperatorLink {
  const { host } = parseNodeUrl(url)
  return classifyHost(host)
}

function printProposal(record: ProposalRecordWire): void {
  const { proposal } = record
  console.log(`${proposal.id}  ${record.state}`)
  console.log(
    `  ${proposal.operation} ${proposal.capability} ${JSON.stringify(proposal.args)} on ${proposal.targetNode}`,
  )
  const level = approvalLevelSchema.safeParse(proposal['level'])
  const approvals = level.success
    ? `${record.approvals.length} of ${requiredApprovers(level.data)}`
    : `${record.approvals.length}`
  console.log(
    `  level ${proposal.level}, approvals ${approvals}, evidence ${JSON.stringify(proposal.evidence)}`,
  )
  if (record.reason !== undefined) console.log(`  reason: ${record.reason}`)
  if (record.outcome !== undefined) console.log(`  outcome: ${record.outcome}`)
}

export function registerProposalCommands(program: Command): void {
  const urlOption = [
    '--url <url>',
    'command center URL (default: the saved gateway, else ws://127.0.0.1:18789)',
  ] as const

  program
    .command('proposals')
    .description('list proposals on a command center')
    .option(...urlOption)
    .option('--state <state>', 'only proposals in this state')
    .option('--json', 'print JSON')
    .action(async (options: { url?: string; state?: string; json?: boolean }) => {
      const url = await resolveTargetUrl(program, options.url)
      const state = parseProposalState(options.state)
      await withClient(program, url, async (client) => {
        const { proposals, truncated } = await client.call(
          'proposal.list',
          state === undefined ? {} : { state },
        )
        if (options.json) return printJson({ proposals, ...(truncated ? { truncated } : {}) })
        if (proposals.length === 0) return console.log('no proposals')
        const now = Date.now()
        console.log(
          table([
            ['ID', 'STATE', 'LEVEL', 'OPERATION', 'CAPABILITY', 'AGE'],
            ...proposals.map(({ proposal, state, receivedAt }) => [
              proposal.id,
              state,
              proposal.level,
              proposal.operation,
              proposal.capability,
              formatDuration(now - receivedAt),
            ]),
          ]),
        )
        if (truncated)
          console.log(
            'more proposals than fit in one answer: all open ones and the newest ended ones are shown; use --state to list others',
          )
      })
    })

  program
    .command('propose <capability> <operation>')
    .description(
      'propose an operation (authored by this CLI operator); e.g. propose actuator:valve:zone-2 open --arg durationSec=300',
    )
    .option(...urlOption)
    .option(
      '--arg <name=value>',
      'numeric or string argument (repeatable)',
      (value: string, previous: string[]) => [...previous, value],
      [],
    )
    .option(
      '--evidence <frameId>',
      'frame cited as evidence (repeatable; default: latest observations in the zone)',
      (value: string, previous: string[]) => [...previous, value],
      [],
    )
    .option('--json', 'print JSON')
    .action(
      async (
        capability: string,
        operation: string,
        options: { url?: string; arg: string[]; evidence: string[]; json?: boolean },
      ) => {
        const args: Record<string, string | number> = {}
        for (const pair of options.arg) {
          const [name, value] = pair.split('=')
          if (name === undefined || value === undefined || name === '')
            throw new CliUsageError(`--arg "${pair}" must look like name=value`)
          args[name] = Number.isFinite(Number(value)) && value.trim() !== '' ? Number(value) : value
        }
        const url = await resolveTargetUrl(program, options.url)
        await withClient(program, url, async (client) => {
          const created = await client.call('proposal.create', {
            capability,
            operation,
            args,
            ...(options.evidence.length > 0 ? { evidence: options.evidence } : {}),
          })
          if (options.json) return printJson(created)
          if (created.merged) console.log('merged with an identical recent proposal:')
          printProposal(created.proposal)
        })
      },
    )

  for (const decision of ['approve', 'reject'] as const) {
    program
      .command(`${decision} <id>`)
      .description(`${decision} a proposal, signed with this CLI's operator key`)
      .option(...urlOption)
      .option('--reason <text>', 'reason recorded with the decision')
      .option(
        '--link <link>',
        `link you are deciding over (${OPERATOR_LINKS.join(', ')}); default local for loopback, else lan`,
      )
      .option('--json', 'print JSON')
      .action(
        async (id: string, options: { url?: string; reason?: string; link?: string; json?: boolean }) => {
          const url = await resolveTargetUrl(program, options.url)
          if (options.link !== undefined && !(OPERATOR_LINKS as readonly string[]).includes(options.link)) {
            throw new CliUsageError(`unknown link "${options.link}": use ${OPERATOR_LINKS.join(', ')}`)
          }
          const certificate = await loadCertificate(program)
          const key = await loadOrCreateIdentity(
            statePaths(resolveStateDir(program.opts().stateDir)).cliIdentity,
          )
          await withClient(program, url, async (client) => {
            const { proposal } = await client.call('proposal.get', { id })
            const approval = await signApproval(signerFromPrivateKey(key.privateKey), {
              proposalHash: proposal.hash,
              decision,
              operatorCertificate: certificate,
              operatorLink: (options.link as OperatorLink | undefined) ?? defaultLink(url),
              at: Date.now(),
              ...(options.reason === undefined ? {} : { reason: options.reason }),
            })
            const method = decision === 'approve' ? 'proposal.approve' : 'proposal.reject'
            const result = await client.call(method, { id, approval })
            if (options.json) return printJson(result)
            console.log(
              `${decision === 'approve' ? 'approval' : 'rejection'} recorded: ${result.verdict} — ${result.detail}`,
            )
            printProposal(result.proposal)
          })
        },
      )
  }

  const operator = program
    .command('operator')
    .description('operator certificates for people acting through this CLI')
  operator
    .command('enroll')
    .description("issue a certificate for this CLI's own key (run on the command center, as its local admin)")
    .requiredOption('--name <name>', 'display name of the operator')
    .option('--roles <roles>', `comma-separated roles (${OPERATOR_ROLES.join(', ')})`, 'operator')
    .option(...urlOption)
    .action(async (options: { name: string; roles: string; url?: string }) => {
      const url = await resolveTargetUrl(program, options.url)
      const roles = parseRoles(options.roles)
      await withClient(program, url, async (client) => {
        const { certificate } = await client.call('operator.issue', {
          operatorId: client.deviceId,
          displayName: options.name,
          roles,
        })
        await writeJsonAtomic(certificatePath(program), certificate)
        console.log(
          `enrolled ${options.name} (${client.deviceId}) as ${roles.join(', ')}; certificate saved to ${certificatePath(program)}`,
        )
      })
    })
  operator
    .command('issue <operatorId>')
    .description(
      'issue a certificate for another operator key and print it (local admin of the command center)',
    )
    .requiredOption('--name <name>', 'display name of the operator')
    .option('--roles <roles>', `comma-separated roles (${OPERATOR_ROLES.join(', ')})`, 'operator')
    .option('--ttl-days <days>', 'validity in days (renewed with `clawmesh operator renew`)', '7')
    .option(...urlOption)
    .action(
      async (operatorId: string, options: { name: string; roles: string; ttlDays: string; url?: string }) => {
        const url = await resolveTargetUrl(program, options.url)
        await withClient(program, url, async (client) => {
          const { certificate } = await client.call('operator.issue', {
            operatorId,
            displayName: options.name,
            roles: parseRoles(options.roles),
            ttlMs: Number(options.ttlDays) * 86_400_000,
          })
          printJson(certificate)
        })
      },
    )
  operator
    .command('renew')
    .description(
      "renew this CLI's operator certificate at the command center while it is still valid (same name and roles)",
    )
    .option(...urlOption)
    .option('--json', 'print JSON')
    .action(async (options: { url?: string; json?: boolean }) => {
      const current = await readJsonFile(
        certificatePath(program),
        operatorCertificateSchema,
        'operator certificate',
      )
      if (current === undefined)
        throw new CliUsageError(
          'this CLI holds no operator certificate: pair with `clawmesh pair join --operator` or ask an admin for one',
        )
      const url = await resolveTargetUrl(program, options.url)
      await withClient(program, url, async (client) => {
        const { certificate: renewed } = await client.call('operator.renew', { certificate: current })
        await writeJsonAtomic(certificatePath(program), renewed)
        if (options.json) return printJson(renewed)
        console.log(
          `renewed ${renewed.body.displayName} (${renewed.body.roles.join(', ')}) until ${new Date(renewed.body.expiresAt).toISOString()}; saved to ${certificatePath(program)}`,
        )
      })
    })
  operator
    .command('import <file>')
    .description("store a certificate issued for this CLI's key")
    .action(async (file: string) => {
      const parsed = operatorCertificateSchema.safeParse(JSON.parse(await readFile(file, 'utf8')))
      if (!parsed.success) throw new CliUsageError(`${file} is not an operator certificate`)
      const key = await loadOrCreateIdentity(statePaths(resolveStateDir(program.opts().stateDir)).cliIdentity)
      if (parsed.data.body.operatorId !== key.deviceId) {
        throw new CliUsageError(
          `the certificate is for ${parsed.data.body.operatorId}, but this CLI's key is ${key.deviceId}`,
        )
      }
      await writeJsonAtomic(certificatePath(program), parsed.data)
      console.log(
        `imported certificate for ${parsed.data.body.displayName} (${parsed.data.body.roles.join(', ')})`,
      )
    })
  operator
    .command('show')
    .description("this CLI's operator key and certificate")
    .option('--json', 'print JSON')
    .action(async (options: { json?: boolean }) => {
      const key = await loadOrCreateIdentity(statePaths(resolveStateDir(program.opts().stateDir)).cliIdentity)
      const certificate = await readJsonFile(
        certificatePath(program),
        operatorCertificateSchema,
        'operator certificate',
      )
      if (options.json) return printJson({ operatorId: key.deviceId, certificate: certificate ?? null })
      console.log(`operator key  ${key.deviceId}`)
      console.log(
        certificate === undefined
          ? 'certificate   none'
          : `certificate   ${certificate.body.displayName}, ${certificate.body.roles.join(', ')}, issued by ${certificate.body.issuerId}, expires ${new Date(certificate.body.expiresAt).toISOString()}`,
      )
    })
}
