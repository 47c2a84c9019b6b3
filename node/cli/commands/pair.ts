/**
 * `clawmesh pair`: on the command center, opens a pairing window and prints a one-time code.
 * `clawmesh pair join --url U --code C`: on the joining device, proves the code over the
 * Noise-secured stream with this device's key (or, with --operator, this CLI's operator key); both
 * sides then trust each other, and an operator receives a certificate.
 */
import type { Command } from 'commander'
import { renderUnicodeCompact } from 'uqr'
import { OPERATOR_ROLES, type OperatorRole } from '../../../protocol/safety/index.ts'
import { CliUsageError } from '../../../runtime/cli/errors.ts'
import { printJson } from '../../../runtime/cli/output.ts'
import { resolveStateDir } from '../../../runtime/state/state-dir.ts'
import { joinCommandCenter } from '../pair-join.ts'
import { resolveTargetUrl, withClient } from '../target-node.ts'

export function registerPairCommands(program: Command): void {
  const pair = program
    .command('pair')
    // `pair --url` opens a window; `pair join --url` joins one: options belong to the word before them.
    .enablePositionalOptions()
    .description('open a pairing window on this command center and print a one-time code')
    .option('--operator <name>', 'pair a person (console or CLI) as an operator instead of a device')
    .option(
      '--telegram',
      'with --operator: a code the person sends to the Telegram bot as /pair CODE (the command center holds their key)',
    )
    .option('--roles <roles>', `operator roles (${OPERATOR_ROLES.join(', ')})`, 'operator')
    .option('--ttl <minutes>', 'minutes the code stays valid', '5')
    .option(
      '--cert-ttl <minutes>',
      "operator only: minutes the operator's certificate stays valid (default 7 days; renew with `clawmesh operator renew`)",
    )
    .option('--url <url>', 'command center URL (default: the saved gateway, else ws://127.0.0.1:18789)')
    .option('--json', 'print JSON')
    .option('--no-qr', 'do not draw the join command as a QR code')
    .action(
      async (options: {
        operator?: string
        telegram?: boolean
        roles: string
        ttl: string
        certTtl?: string
        url?: string
        json?: boolean
        qr: boolean
      }) => {
        const roles = options.roles.split(',').map((role) => role.trim())
        for (const role of roles) {
          if (!(OPERATOR_ROLES as readonly string[]).includes(role))
            throw new CliUsageError(`unknown role "${role}"`)
        }
        const url = await resolveTargetUrl(program, options.url)
        if (options.telegram === true)
          return openTelegramPairing(program, url, options, roles as OperatorRole[])
        await withClient(program, url, async (client) => {
          const opened = await client.call('pair.open', {
            kind: options.operator === undefined ? 'device' : 'operator',
            ttlMs: Math.round(Number(options.ttl) * 60_000),
            ...(options.operator === undefined
              ? {}
              : { operatorName: options.operator, roles: roles as OperatorRole[] }),
            ...(options.certTtl === undefined || options.operator === undefined
              ? {}
              : { certificateTtlMs: Math.round(Number(options.certTtl) * 60_000) }),
          })
          if (options.json) return printJson(opened)
          console.log(
            `pairing code  ${opened.code}  (valid until ${new Date(opened.expiresAt).toLocaleTimeString()}, one use)`,
          )
          const join = `clawmesh pair join --url ${url} --code ${opened.code}${options.operator === undefined ? '' : ' --operator'}`
          console.log(`on the joining device:  ${join}`)
          // The same command as a QR code, for a phone or a device with a camera at hand.
          if (options.qr) console.log(`\n${renderUnicodeCompact(join, { border: 1 })}`)
        })
      },
    )

  pair
    .command('join')
    .description('join a command center with the one-time code it showed')
    .requiredOption('--url <url>', 'command center URL (ws://HOST:PORT)')
    .requiredOption('--code <code>', 'the one-time code')
    .option('--operator', "join as an operator with this CLI's key (default: as this device)")
    .option('--name <name>', 'how this device should be listed by the command center')
    .action(async (options: { url: string; code: string; operator?: boolean; name?: string }) => {
      const answer = await joinCommandCenter({
        stateDir: resolveStateDir(program.opts().stateDir),
        ...options,
      })
      console.log(
        `paired with ${answer.commandCenterName} (${answer.commandCenterId}) in mesh ${answer.meshName} as ${answer.kind}; it is now in this device's trust store`,
      )
      if (answer.certificate !== undefined)
        console.log('operator certificate saved: this CLI can approve and reject proposals')
    })
}

/** `clawmesh pair --operator NAME --telegram`: a code the person sends to the bot as `/pair CODE`. */
async function openTelegramPairing(
  program: Command,
  url: string,
  options: { operator?: string; ttl: string; certTtl?: string; json?: boolean },
  roles: OperatorRole[],
): Promise<void> {
  const operatorName = options.operator
  if (operatorName === undefined) throw new CliUsageError('--telegram pairs a person: give --operator NAME')
  await withClient(program, url, async (client) => {
    const opened = await client.call('telegram.pair.open', {
      operatorName,
      roles,
      ttlMs: Math.round(Number(options.ttl) * 60_000),
      ...(options.certTtl === undefined
        ? {}
        : { certificateTtlMs: Math.round(Number(options.certTtl) * 60_000) }),
    })
    if (options.json) return printJson(opened)
    console.log(
      `Telegram pairing code  ${opened.code}  (valid until ${new Date(opened.expiresAt).toLocaleTimeString()}, one use)`,
    )
    console.log(`${operatorName} sends to the bot, from a chat it answers:  /pair ${opened.code}`)
  })
}
