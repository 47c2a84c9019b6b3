/**
 * The `clawmesh-relay` command line: run the relay (default action), show its identity, and manage
 * the peers it serves. Unknown flags and excess arguments are errors, never ignored.
 */
import { homedir } from 'node:os'
import { join } from 'node:path'
import { Command, InvalidArgumentError } from 'commander'
import { DEFAULT_MESH_NAME, meshNameSchema } from '../protocol/mesh.ts'
import { CliUsageError } from '../runtime/cli/errors.ts'
import { printJson } from '../runtime/cli/output.ts'
import { addTrustCommands } from '../runtime/cli/trust-commands.ts'
import { loadOrCreateIdentity } from '../runtime/identity/device-identity.ts'
import { resolveStateDir, statePaths } from '../runtime/state/state-dir.ts'
import { TrustStore } from '../runtime/trust/trust-store.ts'
import { CLAWMESH_VERSION } from '../runtime/version.ts'
import { DEFAULT_HEALTH_PORT, DEFAULT_RELAY_PORT, SHUTDOWN_GRACE_MS } from './constants.ts'
import { type RunningRelay, startRelay } from './relay.ts'

/** The relay keeps its own state dir so a relay and a node on one host never share a device key. */
export function resolveRelayStateDir(explicit: string | undefined, env = process.env): string {
  return resolveStateDir(explicit ?? env['CLAWMESH_RELAY_STATE_DIR'] ?? join(homedir(), '.clawmesh-relay'))
}

const parsePort = (value: string): number => {
  const port = Number(value)
  if (!Number.isInteger(port) || port < 0 || port > 65_535)
    throw new InvalidArgumentError('a port is an integer from 0 to 65535')
  return port
}
const collect = (value: string, previous: string[]) => [...previous, value]

interface RunOptions {
  stateDir?: string
  host: string
  port: number
  healthPort?: number
  tlsCert?: string
  tlsKey?: string
  meshName: string
  announce: string[]
  commandCenter: string[]
}

export function buildRelayProgram(): Command {
  const program = new Command('clawmesh-relay')
    .description('ClawMesh signaling relay: lets trusted nodes behind NAT reach each other over WebRTC')
    .version(CLAWMESH_VERSION)
    .option('--state-dir <dir>', 'state directory (default $CLAWMESH_RELAY_STATE_DIR or ~/.clawmesh-relay)')
    .option('--host <host>', 'address to listen on', '0.0.0.0')
    .option('--port <port>', `WebSocket listen port, 0 picks a free one`, parsePort, DEFAULT_RELAY_PORT)
    .option(
      '--health-port <port>',
      `port of GET /healthz (default ${DEFAULT_HEALTH_PORT}, or a free one with --port 0)`,
      parsePort,
    )
    .option('--tls-cert <file>', 'PEM certificate: listen on WSS instead of WS (needs --tls-key)')
    .option('--tls-key <file>', 'PEM private key for --tls-cert')
    .option(
      '--mesh-name <mesh>',
      'mesh this relay serves; nodes of another mesh are refused',
      DEFAULT_MESH_NAME,
    )
    .option('--announce <multiaddr>', 'extra address to announce, e.g. a public IP (repeatable)', collect, [])
    .option(
      '--command-center <deviceId>',
      'command center whose operator certificates this relay accepts, so its consoles can signal WebRTC (repeatable)',
      collect,
      [],
    )
    .showHelpAfterError()
    .action(async (options: RunOptions) => {
      await runRelayUntilSignalled(options)
    })

  program
    .command('identity')
    .description("print this relay's device ID (created on first use)")
    .option('--json', 'print JSON')
    .action(async (options: { json?: boolean }) => {
      const stateDir = resolveRelayStateDir(program.opts().stateDir)
      const identity = await loadOrCreateIdentity(statePaths(stateDir).deviceIdentity)
      if (options.json) return printJson({ deviceId: identity.deviceId, stateDir })
      console.log(`device ID  ${identity.deviceId}`)
      console.log(`state dir  ${stateDir}`)
    })

  addTrustCommands(
    program,
    () => TrustStore.open(statePaths(resolveRelayStateDir(program.opts().stateDir)).trustedPeers),
    {
      command: 'clawmesh-relay',
      group: 'manage the devices this relay serves',
      add: 'let a device hold a reservation and be reached through this relay',
      list: 'list the devices this relay serves',
      remove: 'stop serving a device (a running relay drops its connections)',
    },
  )
  return program
}

async function runRelayUntilSignalled(options: RunOptions): Promise<RunningRelay> {
  if ((options.tlsCert === undefined) !== (options.tlsKey === undefined))
    throw new CliUsageError('--tls-cert and --tls-key go together: give both to serve WSS, or neither for WS')
  const meshName = meshNameSchema.safeParse(options.meshName)
  if (!meshName.success)
    throw new CliUsageError(`--mesh-name "${options.meshName}": ${meshName.error.issues[0]?.message}`)
  const stateDir = resolveRelayStateDir(options.stateDir)
  const relay = await startRelay({
    stateDir,
    host: options.host,
    port: options.port,
    healthPort: options.healthPort ?? (options.port === 0 ? 0 : DEFAULT_HEALTH_PORT),
    ...(options.tlsCert !== undefined && options.tlsKey !== undefined
      ? { tls: { certFile: options.tlsCert, keyFile: options.tlsKey } }
      : {}),
    meshName: meshName.data,
    announce: options.announce,
    commandCenters: options.commandCenter,
    log: (line) => console.log(`[clawmesh-relay] ${line}`),
  })

  console.log('clawmesh-relay ready')
  console.log(`  device ID  ${relay.deviceId}`)
  console.log(`  mesh       ${meshName.data}`)
  console.log(`  state dir  ${stateDir}`)
  for (const address of relay.listenAddrs()) console.log(`  listening  ${address}`)
  console.log(`  health     ${relay.healthUrl}`)
  if (relay.trust.size === 0)
    console.log(
      '  no trusted peers yet: every node is refused until you run `clawmesh-relay trust add <deviceId>`',
    )

  let stopping = false
  const stop = async (signal: string) => {
    if (stopping) return
    stopping = true
    console.log(`received ${signal}: stopping`)
    // node-datachannel is not in this process, but a hung socket must still not block a restart.
    const forced = setTimeout(() => {
      console.error(`did not stop within ${SHUTDOWN_GRACE_MS} ms: exiting anyway`)
      process.exit(1)
    }, SHUTDOWN_GRACE_MS)
    forced.unref()
    await relay.stop()
    console.log('stopped')
    process.exit(0)
  }
  process.on('SIGINT', () => void stop('SIGINT'))
  process.on('SIGTERM', () => void stop('SIGTERM'))
  return relay
}
