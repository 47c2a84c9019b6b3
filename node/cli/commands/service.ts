/**
 * `clawmesh service install|uninstall|status`: runs clawmesh-node (or clawmesh-relay with --relay)
 * under systemd, as its own system user, from the unit node/service/systemd-unit.ts renders.
 * `--dry-run` prints the unit and changes nothing; `--unit-dir` writes elsewhere (tests). systemctl
 * is called only when systemd runs (/run/systemd/system), so elsewhere install writes the file and says so.
 */
import { execFile } from 'node:child_process'
import { existsSync } from 'node:fs'
import { mkdir, rm, writeFile } from 'node:fs/promises'
import { join, resolve } from 'node:path'
import { pathToFileURL } from 'node:url'
import { promisify } from 'node:util'
import type { Command } from 'commander'
import { CliUsageError } from '../../../runtime/cli/errors.ts'
import { binLauncher, PACKAGE_ROOT } from '../../../runtime/package-root.ts'
import {
  DEFAULT_SERVICE_USER,
  DEFAULT_UNIT_DIR,
  renderSystemdUnit,
  type ServiceKind,
  serviceName,
  unitFileName,
} from '../../service/systemd-unit.ts'

const execFileAsync = promisify(execFile)
const SYSTEMCTL_TIMEOUT_MS = 60_000
const SYSTEMD_RUNTIME_DIR = '/run/systemd/system'

interface ServiceOptions {
  relay?: boolean
  unitDir: string
  dryRun?: boolean
}

interface InstallOptions extends ServiceOptions {
  config?: string
  user: string
  arg: string[]
}

function kindOf(options: ServiceOptions): ServiceKind {
  return options.relay === true ? 'relay' : 'node'
}

async function which(command: string): Promise<boolean> {
  return execFileAsync('sh', ['-c', `command -v ${command}`]).then(
    () => true,
    () => false,
  )
}

/** systemd is running as init (sd_booted): systemctl alone may exist in a container without it. */
function systemdBooted(): boolean {
  return existsSync(SYSTEMD_RUNTIME_DIR)
}

async function run(command: string, args: string[]): Promise<string> {
  console.log(`$ ${command} ${args.join(' ')}`)
  const { stdout } = await execFileAsync(command, args, { timeout: SYSTEMCTL_TIMEOUT_MS })
  return stdout
}

async function ensureUser(user: string): Promise<void> {
  const exists = await execFileAsync('id', ['-u', user]).then(
    () => true,
    () => false,
  )
  if (exists) return
  if (!(await which('useradd'))) throw new Error(`user ${user} does not exist and useradd is not available`)
  await run('useradd', ['--system', '--no-create-home', '--shell', '/usr/sbin/nologin', user])
}

/**
 * The node's memory levers as environment (bin/memory-levers.js, where the launcher defines them):
 * set in the unit, the node starts with them instead of relaunching itself to get them. Read from
 * the launcher beside the code at run time, since bin/ is not part of the compiled code.
 */
async function memoryLeverEnvironment(): Promise<Readonly<Record<string, string>>> {
  const levers = (await import(pathToFileURL(join(PACKAGE_ROOT, 'bin', 'memory-levers.js')).href)) as {
    MEMORY_LEVER_ENVIRONMENT: Readonly<Record<string, string>>
  }
  return levers.MEMORY_LEVER_ENVIRONMENT
}

async function install(options: InstallOptions): Promise<void> {
  const kind = kindOf(options)
  if (kind === 'node' && options.config === undefined)
    throw new CliUsageError('service install needs --config <node.json> (clawmesh init writes one)')
  const configPath = options.config === undefined ? undefined : resolve(options.config)
  if (configPath !== undefined && !existsSync(configPath))
    throw new CliUsageError(`no configuration file at ${configPath}`)
  const unit = renderSystemdUnit({
    kind,
    nodePath: process.execPath,
    binPath: binLauncher(serviceName(kind)),
    user: options.user,
    ...(configPath === undefined ? {} : { configPath }),
    extraArgs: options.arg,
    ...(kind === 'node' ? { environment: await memoryLeverEnvironment() } : {}),
  })
  const unitPath = join(resolve(options.unitDir), unitFileName(kind))
  if (options.dryRun === true) {
    console.log(`# ${unitPath} (dry run: nothing written)`)
    process.stdout.write(unit)
    return
  }
  await ensureUser(options.user)
  await mkdir(resolve(options.unitDir), { recursive: true })
  await writeFile(unitPath, unit, { mode: 0o644 })
  console.log(`wrote ${unitPath}`)
  if (!systemdBooted()) {
    console.log('systemd is not running here: enable the unit where it runs (systemctl enable --now …)')
    return
  }
  await run('systemctl', ['daemon-reload'])
  await run('systemctl', ['enable', '--now', unitFileName(kind)])
  console.log(`${serviceName(kind)} enabled and started; logs: journalctl -u ${serviceName(kind)}`)
}

async function uninstall(options: ServiceOptions): Promise<void> {
  const kind = kindOf(options)
  const unitPath = join(resolve(options.unitDir), unitFileName(kind))
  if (!existsSync(unitPath)) {
    console.log(`${serviceName(kind)} is not installed (no ${unitPath})`)
    return
  }
  if (options.dryRun === true) {
    console.log(`would stop and disable ${unitFileName(kind)} and remove ${unitPath}`)
    return
  }
  const systemctl = systemdBooted()
  if (systemctl) await run('systemctl', ['disable', '--now', unitFileName(kind)]).catch(() => '')
  await rm(unitPath)
  console.log(`removed ${unitPath} (the state in /var/lib/${serviceName(kind)} and the user are kept)`)
  if (systemctl) await run('systemctl', ['daemon-reload'])
}

async function status(options: ServiceOptions): Promise<void> {
  const kind = kindOf(options)
  const unitPath = join(resolve(options.unitDir), unitFileName(kind))
  if (!existsSync(unitPath)) {
    console.log(`${serviceName(kind)}: not installed (no ${unitPath})`)
    return
  }
  console.log(`${serviceName(kind)}: installed (${unitPath})`)
  if (!systemdBooted()) {
    console.log('systemd is not running here: cannot tell whether it runs')
    return
  }
  // `systemctl status` exits non-zero when the unit is not running: print its output anyway.
  const result = await execFileAsync('systemctl', ['status', '--no-pager', unitFileName(kind)], {
    timeout: SYSTEMCTL_TIMEOUT_MS,
  }).catch((error: { stdout?: string; stderr?: string }) => ({
    stdout: error.stdout ?? '',
    stderr: error.stderr ?? '',
  }))
  process.stdout.write(result.stdout || result.stderr)
}

function collect(value: string, previous: string[]): string[] {
  return [...previous, value]
}

export function registerServiceCommands(program: Command): void {
  const service = program
    .command('service')
    .description('run clawmesh-node (or clawmesh-relay with --relay) as a systemd service')
  const common = (command: Command) =>
    command
      .option('--relay', 'the signaling relay (clawmesh-relay) instead of a node')
      .option('--unit-dir <dir>', 'where unit files live', DEFAULT_UNIT_DIR)
      .option('--dry-run', 'print what would be done, change nothing')
  common(service.command('install').description('write the unit, create the user, enable and start it'))
    .option('--config <file>', 'node configuration (JSON), required for a node')
    .option('--user <user>', 'system user the service runs as (created if missing)', DEFAULT_SERVICE_USER)
    .option('--arg <arg>', 'extra argument for the service command line (repeatable)', collect, [])
    .action(install)
  common(service.command('uninstall').description('stop, disable and remove the unit (state kept)')).action(
    uninstall,
  )
  common(service.command('status').description('whether the unit is installed and running')).action(status)
}
