/** `clawmesh start` and `clawmesh-node --config`: run a node until SIGINT/SIGTERM. */

import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { type Command, Option } from 'commander'
import { isCommandCenterRole } from '../../../protocol/roles.ts'
import { CliUsageError } from '../../../runtime/cli/errors.ts'
import { writeJsonAtomic } from '../../../runtime/state/atomic-file.ts'
import { resolveStateDir } from '../../../runtime/state/state-dir.ts'
import { checkStateVersion } from '../../../runtime/state/state-version.ts'
import { type ClawMeshNode, type StartNodeOptions, startClawMeshNode } from '../../clawmesh-node.ts'
import { type NodeConfig, parseNodeConfig } from '../../config.ts'
import { printPiPlannerLine } from '../../planner/pi/start-banner.ts'
import { DEMO_FARM_PATH } from '../../site/site-model.ts'
import { recordCliMeshName } from '../cli-mesh.ts'

const collect = (value: string, previous: string[] | undefined) => [...(previous ?? []), value]

/** What a bare `--command-center` stands for among the device IDs the option may also collect. */
const THIS_NODE = '@this-node'

/** `nodeOptions` are for in-process hooks a test entry passes (test/helpers); the CLI passes none. */
export function registerStartCommand(program: Command, nodeOptions: StartNodeOptions = {}): void {
  program
    .command('start')
    .description('start a ClawMesh node in the foreground')
    .requiredOption('--name <name>', 'display name of this node')
    .option('--role <role>', 'planner | standby-planner | field | sensor | actuator | viewer | node', 'node')
    .option('--mesh-name <mesh>', 'mesh name; nodes of another mesh are refused')
    .option('--port <port>', 'WebSocket listen port (0 picks a free port)')
    .option('--host <host>', 'address to listen on')
    .option('--listen <multiaddr>', 'extra listen multiaddr (repeatable)', collect, [])
    .option('--capability <capability>', 'capability this node offers (repeatable)', collect, [])
    .option('--no-discovery', 'turn off mDNS LAN discovery')
    .addOption(
      new Option(
        '--command-center [deviceId]',
        'this node is the command center (role planner); with a device ID, the same as --command-center-id',
      )
        .preset(THIS_NODE)
        .argParser(collect),
    )
    .option(
      '--command-center-id <deviceId>',
      'a command center whose certificates and commands this node accepts (repeatable)',
      collect,
      [],
    )
    .option(
      '--relay <multiaddr>',
      'signaling relay to listen through (/…/p2p/<relayId>; repeatable)',
      collect,
      [],
    )
    .option(
      '--ice-server <url>',
      'STUN/TURN server for WebRTC, e.g. stun:stun.example:3478 (repeatable)',
      collect,
      [],
    )
    .option(
      '--wan-policy <policy>',
      'warn | require-tls: what to do with WAN/relay static peers over plain ws://',
    )
    .option('--site <file>', 'site model (JSON) naming the sensors and actuators each node serves')
    .option('--mock-sensor', 'simulate the sensors the site assigns to this node')
    .option('--mock-actuator', 'simulate the valves and pumps the site assigns to this node')
    .option(
      '--field-node',
      'field role with mock sensors and actuators (uses the demo farm unless --site is given)',
    )
    .option(
      '--peer <spec>',
      'static peer <deviceId>=<url>[|<tlsFingerprint>][|<label>] (repeatable)',
      collect,
      [],
    )
    .option('--pi-model <provider/model>', 'planner model, e.g. anthropic/claude-sonnet-4-5 or local/NAME')
    .option('--pi-base-url <url>', 'OpenAI-compatible server for local/NAME (llama-server, Ollama, vLLM)')
    .option('--pi-timeout-ms <ms>', 'budget for one planner answer (default 60000)')
    .option('--tls', 'serve WSS and the HTTPS console, creating a local CA and certificate if missing')
    .option('--no-tls', 'plain WS only, even when TLS material exists')
    .option('--https-port <port>', 'HTTPS port of the console (default 18443; 0 picks a free port)')
    .option(
      '--host-ops',
      'offer host:<name>: read-only diagnostics of this machine (docs/host-operations.md)',
    )
    .option('--telegram', 'run the Telegram bot on this command center (token: credential channel/telegram)')
    .option(
      '--telegram-chat <chatId>',
      'a Telegram chat the bot answers and pushes to (repeatable; a private chat ID is the user ID)',
      collect,
      [],
    )
    .option('--telegram-api-root <url>', 'Bot API server (default Telegram; a self-hosted telegram-bot-api)')
    .option(
      '--telegram-max-level <level>',
      'highest level a Telegram approval may count for: off | L2 | L3 (default L2)',
    )
    .option('--console-dir <dir>', 'built console to serve (default: browser/dist of this checkout)')
    .option('--tui', 'show the terminal UI for this node here (its messages print above; q stops the node)')
    .action(async (options: Record<string, unknown>, command: Command) => {
      const centers = [
        ...((options['commandCenter'] as string[] | undefined) ?? []),
        ...(options['commandCenterId'] as string[]),
      ]
      const isCommandCenter = centers.includes(THIS_NODE)
      const roleGiven = command.getOptionValueSource('role') === 'cli'
      if (isCommandCenter && roleGiven && !isCommandCenterRole(options['role'])) {
        throw new CliUsageError(
          `--command-center makes this node a command center (role planner or standby-planner), not ${String(options['role'])}`,
        )
      }
      const config = parseNodeConfig(
        {
          name: options['name'],
          role: isCommandCenter && !roleGiven ? 'planner' : startRole(options),
          meshName: options['meshName'],
          port: options['port'] === undefined ? undefined : Number(options['port']),
          host: options['host'],
          listen: options['listen'],
          capabilities: options['capability'],
          peers: options['peer'],
          discovery: options['discovery'],
          wanPolicy: options['wanPolicy'],
          relays: options['relay'],
          commandCenters: centers.filter((id) => id !== THIS_NODE),
          iceServers: options['iceServer'],
          site:
            options['site'] ??
            (options['fieldNode'] === true
              ? await demoFarmFor(String(options['name']), program.opts().stateDir)
              : undefined),
          mockSensor: options['mockSensor'] === true || options['fieldNode'] === true,
          mockActuator: options['mockActuator'] === true || options['fieldNode'] === true,
          stateDir: program.opts().stateDir,
          piModel: options['piModel'],
          piBaseUrl: options['piBaseUrl'],
          piTimeoutMs: options['piTimeoutMs'] === undefined ? undefined : Number(options['piTimeoutMs']),
          tls: options['tls'] === true ? 'on' : options['tls'] === false ? 'off' : undefined,
          httpsPort: options['httpsPort'] === undefined ? undefined : Number(options['httpsPort']),
          consoleDir: options['consoleDir'],
          ...(options['hostOps'] === true ? { hostOps: { enabled: true } } : {}),
          ...telegramSettings(options),
        },
        'command-line flags',
      )
      if (options['tui'] === true && !(process.stdin.isTTY && process.stdout.isTTY))
        throw new CliUsageError('--tui needs a terminal (stdin and stdout a TTY)')
      const node = await runNodeUntilSignalled(config, nodeOptions)
      if (options['tui'] === true) await runTuiThenStop(program, node)
    })
}

/** `--telegram`, `--telegram-chat` and `--telegram-api-root` as the `telegram` settings. */
function telegramSettings(options: Record<string, unknown>): Record<string, unknown> {
  const chats = options['telegramChat'] as string[]
  if (options['telegram'] !== true) {
    if (
      chats.length > 0 ||
      options['telegramApiRoot'] !== undefined ||
      options['telegramMaxLevel'] !== undefined
    )
      throw new CliUsageError('--telegram-chat, --telegram-api-root and --telegram-max-level need --telegram')
    return {}
  }
  return {
    telegram: {
      enabled: true,
      chats: chats.map((chat) => {
        if (!/^-?\d+$/.test(chat))
          throw new CliUsageError(`--telegram-chat takes a numeric chat ID, not "${chat}"`)
        return Number(chat)
      }),
      ...(options['telegramApiRoot'] === undefined ? {} : { apiRoot: options['telegramApiRoot'] }),
      ...(options['telegramMaxLevel'] === undefined ? {} : { maxApprovalLevel: options['telegramMaxLevel'] }),
    },
  }
}

/** The demo farm's node that serves its field devices. */
const DEMO_FIELD_NODE = 'field-1'

/**
 * The site a `--field-node` without `--site` runs: the demo farm when it assigns devices to this
 * node's name; otherwise a copy (in the state dir) in which the demo farm's field node is this node,
 * so the mock devices run under any name — said at start, since a command center running the
 * demo farm itself still sends commands only to a node named as its site says.
 */
async function demoFarmFor(name: string, stateDir: string | undefined): Promise<string> {
  const farm = JSON.parse(await readFile(DEMO_FARM_PATH, 'utf8')) as {
    sensors: Array<{ node: string }>
    actuators: Array<{ node: string }>
  }
  const devices = [...farm.sensors, ...farm.actuators]
  if (devices.some((device) => device.node === name)) return DEMO_FARM_PATH
  for (const device of devices) if (device.node === DEMO_FIELD_NODE) device.node = name
  const path = join(resolveStateDir(stateDir), 'site', 'demo-farm.json')
  await writeJsonAtomic(path, farm, 0o644)
  console.log(
    `--field-node: the demo farm assigns no devices to "${name}"; serving its ${DEMO_FIELD_NODE} devices as "${name}" (site copy ${path}). A command center running the demo farm sends commands only to a node named ${DEMO_FIELD_NODE}.`,
  )
  return path
}

/** `--field-node` on a node left at the default role makes it a field node. */
function startRole(options: Record<string, unknown>): unknown {
  return options['fieldNode'] === true && options['role'] === 'node' ? 'field' : options['role']
}

export async function runNodeUntilSignalled(
  config: NodeConfig,
  nodeOptions: StartNodeOptions = {},
): Promise<ClawMeshNode> {
  await printPiPlannerLine(config)
  // Handlers go in before the node starts: a signal that arrives while it is starting (or right
  // after "ready") still stops it gracefully, with a leave announcement and a final snapshot.
  let received: string | undefined
  let stopNode: ((signal: string) => Promise<void>) | undefined
  const onSignal = (signal: string) => {
    if (received !== undefined) return
    received = signal
    void stopNode?.(signal)
  }
  process.on('SIGINT', () => onSignal('SIGINT'))
  process.on('SIGTERM', () => onSignal('SIGTERM'))
  // Refuses a state dir of a newer ClawMesh, migrates an older one (runtime/state/state-version.ts).
  await checkStateVersion(resolveStateDir(config.stateDir))
  const node = await startClawMeshNode(config, nodeOptions)
  stopNode = async (signal: string) => {
    console.log(`received ${signal}: stopping ${config.name}`)
    await node.stop()
    console.log('stopped')
    process.exit(0)
  }
  if (received !== undefined) await stopNode(received)
  // This state dir's CLI now speaks for the node's mesh (a node serves RPC to its own mesh only).
  await recordCliMeshName(resolveStateDir(config.stateDir), config.meshName)
  printReady(node)
  return node
}

/** `start --tui`: the UI talks to this node over loopback as this state dir's CLI would; quitting
 * it stops the node as Ctrl-C does without the UI (raw mode turns Ctrl-C into a key). */
async function runTuiThenStop(program: Command, node: ClawMeshNode): Promise<void> {
  const port = node
    .status()
    .listenAddrs.map((address) => /\/tcp\/(\d+)\/(tls\/)?ws/.exec(address))
    .find((match) => match !== null)
  if (port === undefined || port === null) throw new CliUsageError('--tui: this node listens on no WebSocket')
  const { runTui } = await import('./tui.ts')
  await runTui(program, `${port[2] === undefined ? 'ws' : 'wss'}://127.0.0.1:${port[1]}`, 'local')
  console.log(`\nstopping ${node.status().name}`)
  await node.stop()
  process.exit(0)
}

function printReady(node: ClawMeshNode): void {
  const status = node.status()
  console.log(`clawmesh node "${status.name}" ready`)
  console.log(`  device ID  ${status.deviceId}`)
  console.log(`  mesh       ${status.meshName} (protocol generation ${status.generation})`)
  console.log(`  role       ${status.role}`)
  console.log(`  state dir  ${node.paths.stateDir}`)
  for (const address of status.listenAddrs) console.log(`  listening  ${address}`)
  if (node.console !== undefined) console.log(`  console    ${node.console.url()}`)
  if (status.trustedPeerCount === 0) {
    console.log(
      '  no trusted peers yet: other nodes are refused until you run `clawmesh trust add <deviceId>`',
    )
  }
}
