/**
 * Helpers for tests that run real ClawMesh processes: temporary state dirs, the CLI, and nodes
 * started with `clawmesh start` on free loopback ports. Every process started here is killed in
 * `stopAll()`, which tests call from `afterEach`/`afterAll`.
 */
import { type ChildProcess, execFile, spawn } from 'node:child_process'
import { mkdtemp, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { promisify } from 'node:util'
import { loadOrCreateIdentity } from '../../runtime/identity/device-identity.ts'
import { statePaths } from '../../runtime/state/state-dir.ts'
import { TrustStore } from '../../runtime/trust/trust-store.ts'

const execFileAsync = promisify(execFile)
export const REPO_ROOT = resolve(import.meta.dirname, '../..')
export const CLI = join(REPO_ROOT, 'node/bin/clawmesh.ts')
const NODE_BIN = join(REPO_ROOT, 'node/bin/clawmesh-node.ts')
const HELD_EXECUTION_NODE = join(REPO_ROOT, 'test/helpers/held-execution-node.ts')
/** How long a started node may take to print its device ID and listen address before it is killed
 * and the start fails (NodeNotReadyError); ProcessPlacement.readyTimeoutMs overrides it. */
const READY_TIMEOUT_MS = 20_000

const running = new Set<ChildProcess>()

export async function makeStateDir(label = 'node'): Promise<string> {
  return mkdtemp(join(tmpdir(), `clawmesh-${label}-`))
}

export interface CliResult {
  code: number
  stdout: string
  stderr: string
}

/** Optional argv prefix (e.g. `ip netns exec NAME`) to run a process inside a network namespace,
 * Node flags (e.g. `--import` of a test-only preload) and extra environment. */
export interface ProcessPlacement {
  prefix?: string[]
  nodeFlags?: string[]
  env?: Record<string, string>
  /** Readiness bound for a started node, instead of READY_TIMEOUT_MS (a loaded machine, a bench). */
  readyTimeoutMs?: number
}

/** A started node exited, or did not become ready in time (it was then killed), before it listened. */
export class NodeNotReadyError extends Error {
  static readonly NAME = 'NodeNotReadyError'
  override readonly name = NodeNotReadyError.NAME
  /** `exited`: the process ended on its own; `timeout`: it was killed at the readiness bound. */
  readonly why: 'exited' | 'timeout'
  readonly elapsedMs: number
  readonly output: string
  constructor(why: 'exited' | 'timeout', elapsedMs: number, output: string, detail: string) {
    super(`${detail} after ${elapsedMs} ms:\n${output}`)
    this.why = why
    this.elapsedMs = elapsedMs
    this.output = output
  }
}

function command(placement: ProcessPlacement | undefined, args: string[]): [string, string[]] {
  const argv = [...(placement?.prefix ?? []), process.execPath, ...(placement?.nodeFlags ?? []), ...args]
  return [argv[0] as string, argv.slice(1)]
}

export async function runCli(
  args: string[],
  stateDir: string,
  placement?: ProcessPlacement,
): Promise<CliResult> {
  try {
    const [file, argv] = command(placement, [CLI, ...args])
    const { stdout, stderr } = await execFileAsync(file, argv, {
      env: { ...process.env, CLAWMESH_STATE_DIR: stateDir },
      timeout: 30_000,
    })
    return { code: 0, stdout, stderr }
  } catch (error) {
    const failure = error as { code?: number; stdout?: string; stderr?: string }
    return {
      code: typeof failure.code === 'number' ? failure.code : 1,
      stdout: failure.stdout ?? '',
      stderr: failure.stderr ?? '',
    }
  }
}

export async function cliJson<T = Record<string, unknown>>(
  args: string[],
  stateDir: string,
  placement?: ProcessPlacement,
): Promise<T> {
  const result = await runCli([...args, '--json'], stateDir, placement)
  if (result.code !== 0)
    throw new Error(`clawmesh ${args.join(' ')} failed (${result.code}): ${result.stderr}`)
  return JSON.parse(result.stdout) as T
}

/** The device ID of a state dir, creating its keys as `clawmesh identity` does (same code, same
 * files, without a CLI process per call: the CLI itself is tested in trust-and-membership). */
export async function deviceIdOf(stateDir: string): Promise<string> {
  const paths = statePaths(stateDir)
  await loadOrCreateIdentity(paths.cliIdentity)
  return (await loadOrCreateIdentity(paths.deviceIdentity)).deviceId
}

/** Every state dir trusts every other one (by device ID, under `names[i]` when given), as
 * `clawmesh trust add` would: the same trust-store code writing the same file. */
export async function trustEachOther(
  dirs: readonly string[],
  names: readonly (string | undefined)[] = [],
): Promise<string[]> {
  const ids = await Promise.all(dirs.map((dir) => deviceIdOf(dir)))
  for (const [index, dir] of dirs.entries()) {
    const trust = await TrustStore.open(statePaths(dir).trustedPeers)
    for (const [other, id] of ids.entries()) if (other !== index) await trust.add(id, names[other])
  }
  return ids
}

export interface NodeProcess {
  readonly child: ChildProcess
  readonly deviceId: string
  readonly stateDir: string
  readonly port: number
  readonly url: string
  output(): string
  /** Resolves with the exit code after SIGTERM (or the given signal). */
  stop(signal?: NodeJS.Signals): Promise<number | null>
}

export async function startNode(
  stateDir: string,
  args: string[],
  placement?: ProcessPlacement,
): Promise<NodeProcess> {
  return spawnNode(
    stateDir,
    [CLI, 'start', '--host', '127.0.0.1', '--port', '0', ...withoutDiscoveryUnlessAsked(args)],
    placement,
  )
}

/** Starts the same node as `startNode`, through the test-only entry that holds every execution
 * `holdMs` between the ledger's `started` record and the device write (held-execution-node.ts). */
export async function startNodeHoldingExecutions(
  stateDir: string,
  args: string[],
  holdMs: number,
  placement?: ProcessPlacement,
): Promise<NodeProcess> {
  return spawnNode(
    stateDir,
    [
      HELD_EXECUTION_NODE,
      String(holdMs),
      'start',
      '--host',
      '127.0.0.1',
      '--port',
      '0',
      ...withoutDiscoveryUnlessAsked(args),
    ],
    placement,
  )
}

/** Starts `clawmesh-node --config` with a configuration file written from `config` (for settings
 * the command line does not take, such as TURN servers); loopback, free port, no mDNS by default. */
export async function startNodeFromConfig(
  stateDir: string,
  config: Record<string, unknown>,
): Promise<NodeProcess> {
  const file = join(stateDir, 'node.json')
  await writeFile(
    file,
    JSON.stringify({ host: '127.0.0.1', port: 0, discovery: false, stateDir, ...config }, null, 2),
  )
  return spawnNode(stateDir, [NODE_BIN, '--config', file])
}

async function spawnNode(
  stateDir: string,
  args: string[],
  placement?: ProcessPlacement,
): Promise<NodeProcess> {
  const [file, argv] = command(placement, args)
  const child = spawn(file, argv, {
    env: { ...process.env, ...placement?.env, CLAWMESH_STATE_DIR: stateDir },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  running.add(child)
  let output = ''
  child.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString()))
  child.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString()))
  const exited = new Promise<number | null>((resolveExit) => child.once('exit', (code) => resolveExit(code)))
  child.once('exit', () => running.delete(child))
  const startedAt = Date.now()
  const readyTimeoutMs = placement?.readyTimeoutMs ?? READY_TIMEOUT_MS
  const ready = await new Promise<{ deviceId: string; port: number }>((resolveReady, reject) => {
    const timer = setTimeout(() => {
      // Killed, not left running: a retried start on the same state dir and port must not find a
      // late twin still starting up.
      child.kill('SIGKILL')
      reject(
        new NodeNotReadyError(
          'timeout',
          Date.now() - startedAt,
          output,
          `node did not become ready within ${readyTimeoutMs} ms`,
        ),
      )
    }, readyTimeoutMs)
    const check = () => {
      const deviceId = /device ID {2}(\S+)/.exec(output)?.[1]
      const port = /listening {2}\/ip4\/127\.0\.0\.1\/tcp\/(\d+)\/ws/.exec(output)?.[1]
      if (deviceId !== undefined && port !== undefined) {
        clearTimeout(timer)
        resolveReady({ deviceId, port: Number(port) })
      }
    }
    child.stdout?.on('data', check)
    child.once('exit', (code, signal) => {
      clearTimeout(timer)
      reject(
        new NodeNotReadyError(
          'exited',
          Date.now() - startedAt,
          output,
          `node exited with ${code ?? signal} before ready`,
        ),
      )
    })
  })
  return {
    child,
    deviceId: ready.deviceId,
    stateDir,
    port: ready.port,
    url: `ws://127.0.0.1:${ready.port}`,
    output: () => output,
    stop: async (signal = 'SIGTERM') => {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal)
      return exited
    },
  }
}

/** Runs `clawmesh start` expecting it to fail; returns its exit code and output. */
export async function startExpectingFailure(stateDir: string, args: string[]): Promise<CliResult> {
  return runCli(
    ['start', '--host', '127.0.0.1', '--port', '0', ...withoutDiscoveryUnlessAsked(args)],
    stateDir,
  )
}

/** Tests never send multicast onto the machine's real network: discovery is off unless a test
 * runs inside its own network namespace and passes `--discovery`. */
function withoutDiscoveryUnlessAsked(args: string[]): string[] {
  return args.includes('--discovery')
    ? args.filter((arg) => arg !== '--discovery')
    : ['--no-discovery', ...args]
}

export async function stopAll(): Promise<void> {
  await Promise.all(
    [...running].map(
      (child) =>
        new Promise<void>((resolveStop) => {
          child.once('exit', () => resolveStop())
          child.kill('SIGKILL')
        }),
    ),
  )
}

export async function waitFor<T>(
  what: string,
  probe: () => Promise<T | undefined> | T | undefined,
  timeoutMs = 15_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs
  let lastError: unknown
  while (Date.now() < deadline) {
    try {
      const value = await probe()
      if (value !== undefined && value !== false) return value
    } catch (error) {
      lastError = error
    }
    await new Promise((resolveSleep) => setTimeout(resolveSleep, 200))
  }
  throw new Error(
    `timed out waiting for ${what}${lastError === undefined ? '' : ` (last error: ${(lastError as Error).message})`}`,
  )
}

/** Waits until the planner node leads the election (it claims after a start-up grace): planner
 * answers and proposals before that are refused with NO_PLANNER. */
export async function waitForPlannerLead(node: NodeProcess, stateDir: string): Promise<void> {
  await waitFor(`${node.deviceId} leading the planners`, async () => {
    const status = await cliJson<{ leader?: { deviceId: string; live: boolean } }>(
      ['status', '--url', node.url],
      stateDir,
    )
    return status.leader?.deviceId === node.deviceId && status.leader.live ? true : undefined
  })
}
