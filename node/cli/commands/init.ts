/**
 * `clawmesh init`: sets up this device in one step — its identity, a node.json for a command center
 * or a field node, and (for a field node given `--join URL --code CODE`) the pairing with its
 * command center, whose device ID, mesh and address then go into the file. Asks for what is missing
 * when run in a terminal; takes flags otherwise. Prints the command to run next.
 */
import { access } from 'node:fs/promises'
import { join } from 'node:path'
import { createInterface } from 'node:readline/promises'
import type { Command } from 'commander'
import { DEFAULT_MESH_NAME } from '../../../protocol/mesh.ts'
import { CliUsageError } from '../../../runtime/cli/errors.ts'
import { loadOrCreateIdentity } from '../../../runtime/identity/device-identity.ts'
import { writeJsonAtomic } from '../../../runtime/state/atomic-file.ts'
import { resolveStateDir, statePaths } from '../../../runtime/state/state-dir.ts'
import { type NodeConfigInput, parseNodeConfig } from '../../config.ts'
import { joinCommandCenter } from '../pair-join.ts'

type NodeKind = 'command-center' | 'field-node'

interface InitOptions {
  commandCenter?: boolean
  fieldNode?: boolean
  name?: string
  meshName?: string
  config?: string
  site?: string
  mock?: boolean
  join?: string
  code?: string
  force?: boolean
}

export function registerInitCommand(program: Command): void {
  program
    .command('init')
    .description('set up this device: identity, node.json for a command center or a field node, pairing')
    .option('--command-center', 'this device is the command center')
    .option('--field-node', 'this device is a field node')
    .option('--name <name>', 'node name (a field node: the name the site gives it, e.g. field-1)')
    .option('--mesh-name <mesh>', `mesh name of a new command center (default ${DEFAULT_MESH_NAME})`)
    .option('--config <file>', 'where to write the configuration (default <state dir>/node.json)')
    .option('--site <file>', 'site model (JSON) naming the sensors and actuators each node serves')
    .option('--mock', 'a field node simulates the devices its site assigns it (demo farm without --site)')
    .option('--join <url>', 'a field node pairs with the command center at URL (needs --code)')
    .option('--code <code>', 'the one-time code `clawmesh pair` showed on the command center')
    .option('--force', 'overwrite an existing configuration file')
    .action(async (options: InitOptions) => {
      const stateDir = resolveStateDir(program.opts().stateDir)
      const answers = await completeInteractively(options)
      const kind = kindOf(answers)
      if (answers.name === undefined) throw new CliUsageError('give the node a name with --name')
      if ((answers.join === undefined) !== (answers.code === undefined))
        throw new CliUsageError('--join and --code go together: the URL and the code of the command center')
      if (kind === 'command-center' && answers.join !== undefined)
        throw new CliUsageError('a command center does not join another: drop --join, or use --field-node')
      const configPath = answers.config ?? join(stateDir, 'node.json')
      if (answers.force !== true && (await exists(configPath)))
        throw new CliUsageError(`${configPath} exists: keep it, or pass --force to overwrite it`)
      const paths = statePaths(stateDir)
      const identity = await loadOrCreateIdentity(paths.deviceIdentity)
      await loadOrCreateIdentity(paths.cliIdentity)
      const { config, next } =
        kind === 'command-center'
          ? commandCenterSetup(answers, answers.name, stateDir, configPath)
          : await fieldNodeSetup(answers, answers.name, stateDir, configPath)
      // The file must be one `clawmesh-node --config` accepts: parse before writing.
      parseNodeConfig(config, 'clawmesh init')
      await writeJsonAtomic(configPath, config, 0o644)
      console.log(`wrote ${configPath} (${kind}, device ID ${identity.deviceId})`)
      console.log('next:')
      for (const line of next) console.log(`  ${line}`)
    })
}

interface Setup {
  readonly config: NodeConfigInput
  /** Commands to run next, one per line. */
  readonly next: readonly string[]
}

function commandCenterSetup(options: InitOptions, name: string, stateDir: string, configPath: string): Setup {
  return {
    config: {
      name,
      role: 'planner',
      meshName: options.meshName ?? DEFAULT_MESH_NAME,
      stateDir,
      ...(options.site === undefined ? {} : { site: options.site }),
    },
    next: [
      `clawmesh-node --config ${configPath}            # run the command center`,
      `clawmesh --state-dir ${stateDir} pair           # then, for each device or console: a one-time code`,
    ],
  }
}

/** A field node; with `--join`, paired first, so its command center, mesh and address are known. */
async function fieldNodeSetup(
  options: InitOptions,
  name: string,
  stateDir: string,
  configPath: string,
): Promise<Setup> {
  const local = {
    name,
    role: 'field' as const,
    stateDir,
    ...(options.site === undefined ? {} : { site: options.site }),
    ...(options.mock === true ? { mockSensor: true, mockActuator: true } : {}),
  }
  if (options.join === undefined || options.code === undefined) {
    return {
      config: local,
      next: [
        `clawmesh --state-dir ${stateDir} init --field-node --name ${name} --join <command-center URL> --code <code> --force`,
        '    # once `clawmesh pair` on the command center showed a code (or trust each other by hand: README)',
      ],
    }
  }
  const joined = await joinCommandCenter({ stateDir, url: options.join, code: options.code, name })
  console.log(
    `paired with ${joined.commandCenterName} (${joined.commandCenterId}) in mesh ${joined.meshName}`,
  )
  return {
    config: {
      ...local,
      meshName: joined.meshName,
      commandCenters: [joined.commandCenterId],
      peers: [`${joined.commandCenterId}=${options.join}`],
    },
    next: [`clawmesh-node --config ${configPath}            # run this field node`],
  }
}

function kindOf(options: InitOptions): NodeKind {
  if (options.commandCenter === true && options.fieldNode === true)
    throw new CliUsageError('choose one: --command-center or --field-node')
  if (options.commandCenter === true) return 'command-center'
  if (options.fieldNode === true) return 'field-node'
  throw new CliUsageError('say what this device is: --command-center or --field-node')
}

/** In a terminal, asks for the kind of node, its name and (a field node) how to join. */
async function completeInteractively(options: InitOptions): Promise<InitOptions> {
  if (!process.stdin.isTTY || !process.stdout.isTTY) return options
  const answers = { ...options }
  const rl = createInterface({ input: process.stdin, output: process.stdout })
  try {
    if (answers.commandCenter !== true && answers.fieldNode !== true) {
      const kind = (await rl.question('Is this device the command center or a field node? [c/f] ')).trim()
      if (kind.startsWith('c')) answers.commandCenter = true
      else if (kind.startsWith('f')) answers.fieldNode = true
    }
    if (answers.name === undefined) {
      const name = (
        await rl.question('Node name (a field node: as the site names it, e.g. field-1): ')
      ).trim()
      if (name !== '') answers.name = name
    }
    if (answers.fieldNode === true && answers.join === undefined) {
      const url = (await rl.question('Command center URL to pair with (empty: later): ')).trim()
      if (url !== '') {
        answers.join = url
        answers.code = (await rl.question('One-time code from `clawmesh pair`: ')).trim()
      }
    }
  } finally {
    rl.close()
  }
  return answers
}

async function exists(path: string): Promise<boolean> {
  try {
    await access(path)
    return true
  } catch {
    return false
  }
}
