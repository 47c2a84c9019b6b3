/**
 * `clawmesh gateway-connect --url U` checks a node answers and saves it as the default target;
 * `clawmesh gateways` lists saved targets (`mesh/gateways.json`).
 */
import type { Command } from 'commander'
import { printJson, table } from '../../../runtime/cli/output.ts'
import { writeJsonAtomic } from '../../../runtime/state/atomic-file.ts'
import { loadGateways, withClient } from '../target-node.ts'

export function registerGatewayCommands(program: Command): void {
  program
    .command('gateway-connect')
    .description('check that a node answers at URL and save it as the default target of this CLI')
    .requiredOption('--url <url>', 'node URL (ws://HOST:PORT)')
    .action(async (options: { url: string }) => {
      const status = await withClient(program, options.url, (client) => client.call('mesh.status', {}))
      const { path, file } = await loadGateways(program)
      const gateways = file.gateways.filter((gateway) => gateway.url !== options.url)
      gateways.push({
        url: options.url,
        deviceId: status.deviceId,
        name: status.name,
        meshName: status.meshName,
        savedAt: new Date().toISOString(),
      })
      await writeJsonAtomic(path, { version: 1, defaultUrl: options.url, gateways })
      console.log(
        `connected to ${status.name} (${status.deviceId}) in mesh ${status.meshName}; saved as the default gateway`,
      )
    })
  program
    .command('gateways')
    .description('list saved gateways')
    .option('--json', 'print JSON')
    .action(async (options: { json?: boolean }) => {
      const { file } = await loadGateways(program)
      if (options.json) return printJson(file)
      if (file.gateways.length === 0)
        return console.log('no saved gateways: use `clawmesh gateway-connect --url ws://HOST:PORT`')
      console.log(
        table([
          ['', 'NAME', 'MESH', 'URL', 'DEVICE ID'],
          ...file.gateways.map((gateway) => [
            gateway.url === file.defaultUrl ? '*' : '',
            gateway.name,
            gateway.meshName,
            gateway.url,
            gateway.deviceId,
          ]),
        ]),
      )
    })
}
