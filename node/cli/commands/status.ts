/** `clawmesh status --url`: asks a running node (over libp2p) who it is and what it is connected to. */
import type { Command } from 'commander'
import { type CliClient, connectCliClient } from '../client-node.ts'
import { formatDuration, printJson, table } from '../output.ts'
import { resolveTargetUrl } from './gateways.ts'

export async function withClient<T>(
  program: Command,
  url: string,
  use: (client: CliClient) => Promise<T>,
): Promise<T> {
  const client = await connectCliClient(url, program.opts().stateDir)
  try {
    return await use(client)
  } finally {
    await client.close()
  }
}

export function registerStatusCommand(program: Command): void {
  program
    .command('status')
    .description('status of a running node')
    .option('--url <url>', 'node URL (default: the saved gateway, else ws://127.0.0.1:18789)')
    .option('--events', 'include recent lifecycle and security events')
    .option('--json', 'print JSON')
    .action(async (options: { url?: string; json?: boolean; events?: boolean }) => {
      const url = await resolveTargetUrl(program, options.url)
      await withClient(program, url, async (client) => {
        const status = await client.call('mesh.status', {})
        const health = await client.call('mesh.health', {})
        const events = options.events ? (await client.call('mesh.events', {})).events : undefined
        if (options.json) return printJson({ ...status, health, ...(events === undefined ? {} : { events }) })
        console.log(
          `${status.name} (${status.role}) in mesh ${status.meshName}, generation ${status.generation}, up ${formatDuration(status.uptimeMs)}`,
        )
        console.log(`device ID  ${status.deviceId}`)
        console.log(
          `health     ${health.status}${health.reasons.length > 0 ? ` — ${health.reasons.join('; ')}` : ''}`,
        )
        for (const address of status.listenAddrs) console.log(`listening  ${address}`)
        console.log(`trusted peers ${status.trustedPeerCount}, connections ${status.connections.length}`)
        if (status.connections.length > 0) {
          console.log(
            table([
              ['PEER', 'DIRECTION', 'TRANSPORT', 'REMOTE ADDRESS'],
              ...status.connections.map((connection) => [
                connection.deviceId,
                connection.direction,
                connection.transport,
                connection.remoteAddr,
              ]),
            ]),
          )
        }
        for (const event of events ?? []) {
          console.log(
            `${new Date(event.at).toISOString()} ${event.level.padEnd(5)} ${event.type} ${event.message}`,
          )
        }
      })
    })
}
