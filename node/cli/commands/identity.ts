/** `clawmesh identity`: the device ID of this state dir (created on first use). */
import type { Command } from 'commander'
import { printJson } from '../../../runtime/cli/output.ts'
import { loadOrCreateIdentity } from '../../../runtime/identity/device-identity.ts'
import { resolveStateDir, statePaths } from '../../../runtime/state/state-dir.ts'

export function registerIdentityCommand(program: Command): void {
  program
    .command('identity')
    .description('show this device identity (created on first use)')
    .option('--json', 'print JSON')
    .action(async (options: { json?: boolean }) => {
      const stateDir = resolveStateDir(program.opts().stateDir)
      const paths = statePaths(stateDir)
      const device = await loadOrCreateIdentity(paths.deviceIdentity)
      const cli = await loadOrCreateIdentity(paths.cliIdentity)
      const summary = {
        deviceId: device.deviceId,
        publicKey: device.publicKey,
        stateDir,
        cliKeyId: cli.deviceId,
      }
      if (options.json) return printJson(summary)
      console.log(`device ID   ${summary.deviceId}`)
      console.log(`public key  ${summary.publicKey} (Ed25519, base64)`)
      console.log(`state dir   ${summary.stateDir}`)
      console.log(`CLI key     ${summary.cliKeyId} (local admin of nodes using this state dir)`)
    })
}
