/**
 * `clawmesh demo`: the main job. One command starts a local site as separate processes — the
 * signaling relay, a command center (role planner) serving the operator console over HTTPS with a
 * local CA, and a field node with the demo farm's mock sensors and actuators — opens a pairing
 * window for an operator console, prints the console URL and the code, and runs until Ctrl-C.
 *
 * Child processes rather than one process: each part is the same program a site runs (`clawmesh
 * start`, `clawmesh-relay`), a hang in one (node-datachannel's stop) cannot block the others' clean
 * shutdown, and a crash is reported with that part's log instead of taking the demo down silently.
 */
import { mkdir } from 'node:fs/promises'
import { join, resolve } from 'node:path'
import type { Command } from 'commander'
import { CliUsageError } from '../../../runtime/cli/errors.ts'
import { loadOrCreateIdentity } from '../../../runtime/identity/device-identity.ts'
import { binLauncher, PACKAGE_ROOT } from '../../../runtime/package-root.ts'
import { statePaths } from '../../../runtime/state/state-dir.ts'
import { TrustStore } from '../../../runtime/trust/trust-store.ts'
import { DEFAULT_CONSOLE_DIR } from '../../console/console-server.ts'
import { DEFAULT_HTTPS_PORT } from '../../console/constants.ts'
import { DEMO_FARM_PATH } from '../../site/site-model.ts'
import { lanAddresses } from '../../tls/lan-names.ts'
import { ensureLocalTls, ensureServerTlsFromCa } from '../../tls/tls-material.ts'
import { type CliClient, connectCliClient } from '../client-node.ts'
import { buildConsoleIfMissing } from '../demo/build-console.ts'
import { DEMO_PAIRING_TTL_MS, FAILED_CHILD_LOG_LINES, PAIRING_POLL_INTERVAL_MS } from '../demo/constants.ts'
import { type SupervisedProcess, startSupervised } from '../demo/supervised-process.ts'

const DEMO_BASE_PORT = 18789
const REPO_ROOT = PACKAGE_ROOT
// The children run through the launchers, as a person would: the same form of the code as this
// process (sources, dist or bundle) and the same start-up settings (compile cache, memory levers).
const CLI_BIN = binLauncher('clawmesh')
const RELAY_BIN = binLauncher('clawmesh-relay')

interface DemoOptions {
  dir: string
  port: string
  httpsPort: string
  lan?: boolean
  build: boolean
  consoleDir?: string
  operator: string
}

const listening = (output: string, transport: RegExp) =>
  [...output.matchAll(/listening {2}(\S+)/g)]
    .map((match) => match[1] as string)
    .find((a) => transport.test(a))

export function registerDemoCommand(program: Command): void {
  program
    .command('demo')
    .description('start a local demo site (relay, command center with the console, field node) until Ctrl-C')
    .option('--dir <dir>', 'where the demo keeps its state and logs', '.clawmesh-demo')
    .option(
      '--port <port>',
      'first of three ports: command center WS/WSS, field node, relay WSS (0: free ports)',
      String(DEMO_BASE_PORT),
    )
    .option('--https-port <port>', 'console HTTPS port (0: a free port)', String(DEFAULT_HTTPS_PORT))
    .option(
      '--lan',
      'serve the command center on every interface, so a tablet on the LAN can open the console',
    )
    .option('--no-build', 'do not build the console when browser/dist is missing')
    .option('--console-dir <dir>', 'built console to serve instead of browser/dist')
    .option('--operator <name>', 'name on the operator certificate of the first paired console', 'operator')
    .action(async (options: DemoOptions) => {
      const base = resolve(options.dir)
      const port = Number(options.port)
      const httpsPort = Number(options.httpsPort)
      if (!Number.isInteger(port) || port < 0 || port > 65_533)
        throw new CliUsageError('--port is 0 or a port below 65534 (three consecutive ports are used)')
      if (!Number.isInteger(httpsPort) || httpsPort < 0 || httpsPort > 65_535)
        throw new CliUsageError('--https-port is a port number (0 picks a free one)')
      await runDemo(options, base, port, httpsPort)
    })
}

async function runDemo(options: DemoOptions, base: string, port: number, httpsPort: number): Promise<void> {
  const dirs = {
    commandCenter: join(base, 'command-center'),
    field: join(base, 'field-1'),
    relay: join(base, 'relay'),
    logs: join(base, 'logs'),
  }
  for (const dir of Object.values(dirs)) await mkdir(dir, { recursive: true })
  const portFor = (offset: number) => (port === 0 ? 0 : port + offset)

  // Identities first, so every part can trust the others before any of them starts.
  const ids = {
    commandCenter: (await loadOrCreateIdentity(statePaths(dirs.commandCenter).deviceIdentity)).deviceId,
    field: (await loadOrCreateIdentity(statePaths(dirs.field).deviceIdentity)).deviceId,
    relay: (await loadOrCreateIdentity(statePaths(dirs.relay).deviceIdentity)).deviceId,
  }
  const trustAll = async (dir: string, peers: Array<[string, string]>) => {
    const trust = await TrustStore.open(statePaths(dir).trustedPeers)
    for (const [id, name] of peers) if (!trust.has(id)) await trust.add(id, name)
  }
  await trustAll(dirs.commandCenter, [
    [ids.field, 'field-1'],
    [ids.relay, 'relay'],
  ])
  await trustAll(dirs.field, [
    [ids.commandCenter, 'command-center'],
    [ids.relay, 'relay'],
  ])
  await trustAll(dirs.relay, [
    [ids.commandCenter, 'command-center'],
    [ids.field, 'field-1'],
  ])

  const tls = await ensureLocalTls(dirs.commandCenter, { reissue: 'when-needed' })
  if (tls.createdCa) console.log(`created a local CA for the demo in ${tls.status.paths.dir}`)
  // The relay speaks WSS only, with its own certificate from the same CA: a console on an HTTPS
  // page (a tablet across the LAN or a WAN) may not open plain ws://, and one CA trusted once
  // covers the console, the command center's WSS and the relay. The nodes dial it over WSS too,
  // trusting the demo CA with `--ca`, exactly as a site's nodes dial a relay across a WAN.
  const relayTls = await ensureServerTlsFromCa(dirs.commandCenter, dirs.relay, { reissue: 'when-needed' })
  const caFile = tls.status.paths.caCert
  const consoleDir = options.consoleDir ?? DEFAULT_CONSOLE_DIR
  if (options.consoleDir === undefined && options.build)
    await buildConsoleIfMissing({
      repoRoot: REPO_ROOT,
      consoleDir,
      logFile: join(dirs.logs, 'console-build.log'),
    })

  const children: SupervisedProcess[] = []
  let shuttingDown = false
  let pairing: DemoPairing | undefined
  const shutdown = async (reason: string, exitCode: number) => {
    if (shuttingDown) return
    shuttingDown = true
    console.log(`\n${reason}: stopping the demo`)
    await pairing?.stop()
    // Field node first (it leaves the mesh cleanly), then the command center, then the relay.
    for (const child of [...children].reverse()) await child.stop()
    console.log('demo stopped')
    process.exit(exitCode)
  }
  process.on('SIGINT', () => void shutdown('received SIGINT', 0))
  process.on('SIGTERM', () => void shutdown('received SIGTERM', 0))
  const watch = (child: SupervisedProcess) => {
    children.push(child)
    void child.exited.then(({ code, signal }) => {
      if (shuttingDown) return
      const tail = child.output().trim().split('\n').slice(-FAILED_CHILD_LOG_LINES).join('\n')
      console.error(
        `\n${child.name} exited unexpectedly (${signal ?? code}); last lines of ${child.logFile}:\n${tail}`,
      )
      void shutdown(`${child.name} failed`, 1)
    })
  }

  try {
    const relay = await startSupervised({
      name: 'relay',
      logFile: join(dirs.logs, 'relay.log'),
      args: [
        RELAY_BIN,
        '--state-dir',
        dirs.relay,
        '--host',
        options.lan ? '0.0.0.0' : '127.0.0.1',
        '--port',
        String(portFor(2)),
        '--health-port',
        '0',
        '--tls-cert',
        relayTls.status.paths.serverCert,
        '--tls-key',
        relayTls.status.paths.serverKey,
        // Consoles paired with the command center may signal WebRTC to the field node through it.
        '--command-center',
        ids.commandCenter,
      ],
      ready: (output) => {
        const address = listening(output, /\/tls\/ws\/p2p\//)
        const health = /health {5}(\S+)/.exec(output)?.[1]
        return address !== undefined && health !== undefined ? { address, health } : undefined
      },
    })
    watch(relay.process)
    const relayAddresses = demoRelayAddresses(relay.ready.address, options.lan === true)

    const commandCenterHost = options.lan ? '0.0.0.0' : '127.0.0.1'
    const commandCenter = await startSupervised({
      name: 'command-center',
      logFile: join(dirs.logs, 'command-center.log'),
      args: [
        CLI_BIN,
        '--state-dir',
        dirs.commandCenter,
        '--ca',
        caFile,
        'start',
        '--name',
        'command-center',
        '--role',
        'planner',
        '--host',
        commandCenterHost,
        '--port',
        String(portFor(0)),
        '--https-port',
        String(httpsPort),
        '--tls',
        '--console-dir',
        consoleDir,
        '--no-discovery',
        '--site',
        DEMO_FARM_PATH,
        // The address consoles are given (console-config lists the command center's relays).
        '--relay',
        relayAddresses.forConsoles,
      ],
      ready: (output) => {
        const wsPort = /listening {2}\/ip4\/[^/]+\/tcp\/(\d+)\/ws\//.exec(output)?.[1]
        const consoleUrl = /console {4}(https:\/\/\S+)/.exec(output)?.[1]
        return wsPort !== undefined && consoleUrl !== undefined && output.includes('device ID')
          ? { wsPort: Number(wsPort), consolePort: Number(new URL(consoleUrl).port) }
          : undefined
      },
    })
    watch(commandCenter.process)
    const commandCenterUrl = `ws://127.0.0.1:${commandCenter.ready.wsPort}`

    const field = await startSupervised({
      name: 'field-1',
      logFile: join(dirs.logs, 'field-1.log'),
      args: [
        CLI_BIN,
        '--state-dir',
        dirs.field,
        '--ca',
        caFile,
        'start',
        '--name',
        'field-1',
        '--role',
        'field',
        '--host',
        '127.0.0.1',
        '--port',
        String(portFor(1)),
        '--no-discovery',
        '--site',
        DEMO_FARM_PATH,
        '--mock-sensor',
        '--mock-actuator',
        '--command-center',
        ids.commandCenter,
        '--peer',
        `${ids.commandCenter}=${commandCenterUrl}|local`,
        '--relay',
        relayAddresses.local,
      ],
      ready: (output) => (/listening {2}\/ip4\/[^/]+\/tcp\/\d+\/ws\//.test(output) ? true : undefined),
    })
    watch(field.process)

    const consolePort = commandCenter.ready.consolePort
    const cli = `npx clawmesh --state-dir ${dirs.commandCenter}`
    console.log('\nClawMesh demo site is up (each part is its own process; logs in ' + dirs.logs + ')')
    console.log(`  relay           ${relayAddresses.forConsoles} (health ${relay.ready.health})`)
    console.log(`  command center  ${commandCenterUrl} (also wss://), planner, ${ids.commandCenter}`)
    console.log(`  field-1         demo farm sensors and valves, ${ids.field}`)
    console.log(`\nconsole         https://localhost:${consolePort}/`)
    if (options.lan) {
      for (const address of lanAddresses().filter((a) => !a.includes(':')))
        console.log(
          `                https://${address}:${consolePort}/   (tablet: first install http://${address}:${consolePort}/ca.crt)`,
        )
    }
    console.log(
      `local CA        ${tls.status.paths.caCert} (SHA-256 ${tls.status.ca?.fingerprint256 ?? '?'})`,
    )
    console.log('                trust it in your browser first: docs/console-serving.md')
    console.log(`\nInspect it:  ${cli} status --url ${commandCenterUrl} --events`)
    console.log(`World model: ${cli} world --url ${commandCenterUrl}`)
    console.log('Stop it:     Ctrl-C\n')

    pairing = await startDemoPairing({
      client: await connectCliClient(commandCenterUrl, dirs.commandCenter),
      operator: options.operator,
      how: `${cli} pair --operator NAME --url ${commandCenterUrl}`,
    })
  } catch (error) {
    console.error(`error: ${(error as Error).message}`)
    await shutdown('the demo could not start', 1)
  }
}

/**
 * The relay's WSS address for the nodes on this machine (loopback) and for consoles: with `--lan`
 * the first LAN IPv4 (the relay listens on every interface, its certificate covers the address), so
 * a tablet's browser can reach it; otherwise loopback, like the rest of the demo.
 */
export function demoRelayAddresses(listened: string, lan: boolean): { local: string; forConsoles: string } {
  const match = /\/tcp\/(\d+)\/tls\/ws\/p2p\/([^/]+)$/.exec(listened)
  if (match === null) throw new Error(`the relay listens on ${listened}, not a WSS address`)
  const [, port, relayId] = match
  const at = (ip: string) => `/ip4/${ip}/tcp/${port}/tls/ws/p2p/${relayId}`
  const lanIp = lan ? lanAddresses().find((address) => !address.includes(':')) : undefined
  return { local: at('127.0.0.1'), forConsoles: at(lanIp ?? '127.0.0.1') }
}

interface DemoPairing {
  stop(): Promise<void>
}

/** Keeps one operator pairing window open: prints its code, and opens a fresh one (for the next
 * console) when the code is used or expires. */
async function startDemoPairing(init: {
  client: CliClient
  operator: string
  how: string
}): Promise<DemoPairing> {
  let paired = 0
  let expiryTimer: NodeJS.Timeout | undefined
  let stopped = false
  const open = async (why: string) => {
    if (stopped) return
    const operatorName = paired === 0 ? init.operator : `${init.operator}-${paired + 1}`
    const opened = await init.client.call('pair.open', {
      kind: 'operator',
      operatorName,
      roles: ['operator'],
      ttlMs: DEMO_PAIRING_TTL_MS,
    })
    if (why !== '') console.log(why)
    console.log(
      `pairing code    ${opened.code}  (for "${operatorName}", one use, valid until ${new Date(opened.expiresAt).toLocaleTimeString()})`,
    )
    clearTimeout(expiryTimer)
    expiryTimer = setTimeout(
      () => void open('the pairing code expired').catch(report),
      opened.expiresAt - Date.now(),
    )
  }
  const report = (error: Error) =>
    console.error(`could not open a pairing window (${error.message}); open one with: ${init.how}`)
  await open('')
  console.log(`                (another one any time: ${init.how})`)
  let lastSeq = (await init.client.call('mesh.events', {})).lastSeq
  const poll = setInterval(() => {
    init.client
      .call('mesh.events', { afterSeq: lastSeq })
      .then(async (next) => {
        lastSeq = next.lastSeq
        for (const event of next.events) {
          if (event.type !== 'pairing.accepted') continue
          paired += 1
          await open(`${event.message}; a fresh code for the next console:`)
        }
      })
      .catch(() => {})
  }, PAIRING_POLL_INTERVAL_MS)
  return {
    stop: async () => {
      stopped = true
      clearInterval(poll)
      clearTimeout(expiryTimer)
      await init.client.close().catch(() => {})
    },
  }
}
