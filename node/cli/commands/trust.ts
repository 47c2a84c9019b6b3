/** `clawmesh trust add|list|remove`: edits the allowlist the connection gater enforces. */
import type { Command } from 'commander'
import { checkDeviceId } from '../../../protocol/device-id.ts'
import { resolveStateDir, statePaths } from '../../state/state-dir.ts'
import { TrustStore } from '../../trust/trust-store.ts'
import { CliUsageError } from '../errors.ts'
import { printJson, table } from '../output.ts'

async function openStore(program: Command): Promise<TrustStore> {
  return TrustStore.open(statePaths(resolveStateDir(program.opts().stateDir)).trustedPeers)
}

function requireDeviceId(deviceId: string): void {
  const check = checkDeviceId(deviceId)
  if (!check.ok)
    throw new CliUsageError(
      `"${deviceId}" is not a device ID: ${check.reason}. Copy it from \`clawmesh identity\` on that device.`,
    )
}

export function registerTrustCommands(program: Command): void {
  const trust = program.command('trust').description('manage the trusted peers of this device')
  trust
    .command('add <deviceId>')
    .description('trust a device (its node may then connect, and this node may connect to it)')
    .option('--name <name>', 'a display name for the device')
    .action(async (deviceId: string, options: { name?: string }) => {
      requireDeviceId(deviceId)
      const store = await openStore(program)
      const changed = await store.add(deviceId, options.name)
      console.log(
        changed
          ? `trusted ${deviceId}${options.name ? ` (${options.name})` : ''}`
          : `${deviceId} was already trusted`,
      )
    })
  trust
    .command('list')
    .description('list trusted devices')
    .option('--json', 'print JSON')
    .action(async (options: { json?: boolean }) => {
      const store = await openStore(program)
      const peers = store.list()
      if (options.json) return printJson({ peers })
      if (peers.length === 0)
        return console.log('no trusted peers yet: add one with `clawmesh trust add <deviceId>`')
      console.log(
        table([
          ['DEVICE ID', 'NAME', 'ADDED'],
          ...peers.map((peer) => [peer.deviceId, peer.name ?? '-', peer.addedAt]),
        ]),
      )
    })
  trust
    .command('remove <deviceId>')
    .description('stop trusting a device (a running node drops its connections)')
    .action(async (deviceId: string) => {
      requireDeviceId(deviceId)
      const store = await openStore(program)
      console.log((await store.remove(deviceId)) ? `removed ${deviceId}` : `${deviceId} was not trusted`)
    })
}
