/**
 * `trust add|list|remove`: edits the allowlist the connection gater enforces. The same command group
 * serves `clawmesh` (a node's trust store, node/cli/commands/trust.ts) and `clawmesh-relay` (the
 * devices a relay serves), each with its own wording.
 */
import type { Command } from 'commander'
import { checkDeviceId } from '../../protocol/device-id.ts'
import type { TrustedPeer, TrustStore } from '../trust/trust-store.ts'
import { CliUsageError } from './errors.ts'
import { printJson, table } from './output.ts'

export interface TrustCommandWording {
  readonly command: string
  readonly group: string
  readonly add: string
  readonly list: string
  readonly remove: string
}

/** What `trust remove` does beyond the trust store: on a node, revoke an operator (see
 * node/trust/revoke-operator.ts), with the `--reason` it adds to the command; `run` answers a line
 * for the admin, or undefined when nothing was done. */
export interface RemovalFollowUp {
  readonly defaultReason: string
  run(deviceId: string, entry: TrustedPeer | undefined, reason: string): Promise<string | undefined>
}

function requireDeviceId(deviceId: string): void {
  const check = checkDeviceId(deviceId)
  if (!check.ok) {
    throw new CliUsageError(
      `"${deviceId}" is not a device ID: ${check.reason}. Copy it from \`clawmesh identity\` on that device.`,
    )
  }
}

export function addTrustCommands(
  parent: Command,
  openStore: () => Promise<TrustStore>,
  wording: TrustCommandWording,
  followUp?: RemovalFollowUp,
): void {
  const trust = parent.command('trust').description(wording.group)
  trust
    .command('add <deviceId>')
    .description(wording.add)
    .option('--name <name>', 'a display name for the device')
    .action(async (deviceId: string, options: { name?: string }) => {
      requireDeviceId(deviceId)
      const changed = await (await openStore()).add(deviceId, options.name)
      console.log(
        changed
          ? `trusted ${deviceId}${options.name ? ` (${options.name})` : ''}`
          : `${deviceId} was already trusted`,
      )
    })
  trust
    .command('list')
    .description(wording.list)
    .option('--json', 'print JSON')
    .action(async (options: { json?: boolean }) => {
      const peers = (await openStore()).list()
      if (options.json) return printJson({ peers })
      if (peers.length === 0)
        return console.log(`no trusted peers yet: add one with \`${wording.command} trust add <deviceId>\``)
      console.log(
        table([
          ['DEVICE ID', 'NAME', 'ADDED'],
          ...peers.map((peer) => [peer.deviceId, peer.name ?? '-', peer.addedAt]),
        ]),
      )
    })
  const remove = trust.command('remove <deviceId>').description(wording.remove)
  if (followUp !== undefined)
    remove.option(
      '--reason <text>',
      'why an operator is revoked, kept with the revocation',
      followUp.defaultReason,
    )
  remove.action(async (deviceId: string, options: { reason?: string }) => {
    requireDeviceId(deviceId)
    const store = await openStore()
    const entry = store.get(deviceId)
    console.log((await store.remove(deviceId)) ? `removed ${deviceId}` : `${deviceId} was not trusted`)
    const followed = await followUp?.run(deviceId, entry, options.reason ?? followUp.defaultReason)
    if (followed !== undefined) console.log(followed)
  })
}
