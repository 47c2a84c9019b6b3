/**
 * Benchmark: start-up as a user meets it, through the installed launcher (bin/clawmesh, with
 * Node's module compile cache): `clawmesh --help`; `clawmesh status --json` against a running node;
 * cold start of `clawmesh start` to ready (process spawn → "listening" line, fresh state dir each
 * run so key generation is included); idle RSS of a node after it has run for a while. The first
 * run of each fills the compile cache and is not counted (p50 of the next --runs).
 *
 *   node test/bench/node-startup.bench.ts [--runs 10] [--idle-seconds 60]
 *     [--code sources|dist|bundle]   the form of the code the checkout's launcher runs ($CLAWMESH_CODE;
 *                                    dist and bundle need `npm run build`); default: the sources
 *     [--installed]                  `npm run build`, `npm pack`, `npm install` of the tarball into a
 *                                    temp project, then time that project's installed bins
 *     [--without-levers]             the node at Node's defaults (semi-space 16 MiB, glibc's arenas)
 *                                    instead of bin/memory-levers.js's, for the idle RSS before/after
 *
 * Prints a table and writes test/bench/results/node-startup.json.
 */
import { execFile, spawn } from 'node:child_process'
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { availableParallelism, loadavg, tmpdir } from 'node:os'
import { delimiter, dirname, join, resolve } from 'node:path'
import { parseArgs, promisify } from 'node:util'
import { percentile } from './stats.ts'

const root = resolve(import.meta.dirname, '../..')
const TARGETS_MS = { help: 150, status: 400, start: 500 } as const
const { values } = parseArgs({
  options: {
    runs: { type: 'string', default: '10' },
    'idle-seconds': { type: 'string', default: '60' },
    code: { type: 'string' },
    installed: { type: 'boolean', default: false },
    'without-levers': { type: 'boolean', default: false },
  },
})
const runs = Number(values.runs)
const idleSeconds = Number(values['idle-seconds'])
const execFileAsync = promisify(execFile)
// npm and the bins run with this Node, first on PATH.
const benchEnv: NodeJS.ProcessEnv = {
  ...process.env,
  PATH: `${dirname(process.execPath)}${delimiter}${process.env['PATH'] ?? ''}`,
  ...(values.code === undefined ? {} : { CLAWMESH_CODE: values.code }),
  // Node's own defaults, set so the launcher does not relaunch with bin/memory-levers.js's values:
  // V8's 16 MiB semi-space on 64-bit, glibc's 8 arenas per core.
  ...(values['without-levers']
    ? { NODE_OPTIONS: '--max-semi-space-size=16', MALLOC_ARENA_MAX: String(8 * availableParallelism()) }
    : {}),
}

/** The installed package's launcher: build, pack and install into a temp project, as a field machine. */
async function installedCli(): Promise<{ cli: string; project: string }> {
  const work = await mkdtemp(join(tmpdir(), 'clawmesh-bench-installed-'))
  await execFileAsync('npm', ['run', 'build'], { cwd: root, env: benchEnv, maxBuffer: 16 * 2 ** 20 })
  const { stdout } = await execFileAsync(
    'npm',
    ['pack', '--ignore-scripts', '--silent', '--pack-destination', work],
    { cwd: root, env: benchEnv, maxBuffer: 16 * 2 ** 20 },
  )
  const tarball = join(work, stdout.trim().split('\n').at(-1) ?? '')
  await writeFile(join(work, 'package.json'), '{ "name": "field-machine", "private": true }\n')
  await execFileAsync('npm', ['install', '--no-audit', '--no-fund', '--prefer-offline', tarball], {
    cwd: work,
    env: benchEnv,
    maxBuffer: 16 * 2 ** 20,
  })
  // What npm put on the PATH of that project (bin-links: a symlink to bin/clawmesh, made executable).
  return { cli: join(work, 'node_modules/.bin/clawmesh'), project: work }
}

const installed = values.installed ? await installedCli() : undefined
const cli = installed?.cli ?? join(root, 'bin/clawmesh')
/** How a command is run: as a user runs it, the bin file itself, which starts Node (the first on
 * PATH: this one, benchEnv) and, for `start`, with the memory levers; `--without-levers` runs it
 * under `node` so that Node's own defaults in benchEnv stand. */
const invocation = (args: readonly string[]): [string, string[]] =>
  values['without-levers'] ? [process.execPath, [cli, ...args]] : [cli, [...args]]
const codeForm = installed !== undefined ? 'installed' : (values.code ?? 'sources')

function startNode(
  stateDir: string,
): Promise<{ readyMs: number; pid: number; url: string; kill: () => void }> {
  const started = performance.now()
  const child = spawn(...invocation(['start', '--name', 'bench', '--host', '127.0.0.1', '--port', '0']), {
    env: { ...benchEnv, CLAWMESH_STATE_DIR: stateDir },
    stdio: ['ignore', 'pipe', 'inherit'],
  })
  return new Promise((resolveStart, reject) => {
    let output = ''
    child.stdout.on('data', (chunk: Buffer) => {
      output += chunk.toString()
      const port = /listening\s+\/ip4\/127\.0\.0\.1\/tcp\/(\d+)\/ws/.exec(output)?.[1]
      if (port !== undefined)
        resolveStart({
          readyMs: performance.now() - started,
          url: `ws://127.0.0.1:${port}`,
          pid: child.pid as number,
          kill: () => child.kill('SIGKILL'),
        })
    })
    child.once('exit', (code) => reject(new Error(`node exited ${code}: ${output}`)))
  })
}

async function rssBytes(pid: number): Promise<number> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8')
  return Number(/VmRSS:\s+(\d+) kB/.exec(status)?.[1]) * 1024
}

/** Wall time of one CLI run to its exit. */
function timeCli(args: readonly string[], stateDir: string): Promise<number> {
  const started = performance.now()
  return new Promise((resolveRun, reject) => {
    execFile(
      ...invocation(args),
      { env: { ...benchEnv, CLAWMESH_STATE_DIR: stateDir } },
      (error, _stdout, stderr) => {
        if (error !== null) reject(new Error(`clawmesh ${args.join(' ')}: ${stderr}`))
        else resolveRun(performance.now() - started)
      },
    )
  })
}

const coldStarts: number[] = []
for (let run = 0; run <= runs; run++) {
  const dir = await mkdtemp(join(tmpdir(), 'clawmesh-bench-'))
  const node = await startNode(dir)
  if (run > 0) coldStarts.push(node.readyMs)
  node.kill()
  await rm(dir, { recursive: true, force: true })
}

const idleDir = await mkdtemp(join(tmpdir(), 'clawmesh-bench-idle-'))
const idleNode = await startNode(idleDir)
const rssAtReady = await rssBytes(idleNode.pid)
const helpRuns: number[] = []
const statusRuns: number[] = []
const clientDir = await mkdtemp(join(tmpdir(), 'clawmesh-bench-cli-'))
// The node's own state dir: its CLI key is the node's, trusted by it (as on the node's own machine).
for (let run = 0; run <= runs; run++) {
  const help = await timeCli(['--help'], clientDir)
  const status = await timeCli(['status', '--json', '--url', idleNode.url], idleDir)
  if (run === 0) continue
  helpRuns.push(help)
  statusRuns.push(status)
}
await rm(clientDir, { recursive: true, force: true })
await new Promise((resolveWait) => setTimeout(resolveWait, idleSeconds * 1000))
const rssIdle = await rssBytes(idleNode.pid)
idleNode.kill()
await rm(idleDir, { recursive: true, force: true })
if (installed !== undefined) await rm(installed.project, { recursive: true, force: true })

const result = {
  benchmark: 'node-startup',
  node: process.version,
  code: codeForm,
  memoryLevers: !values['without-levers'],
  runs,
  targetsMs: TARGETS_MS,
  helpMs: { p50: percentile(helpRuns, 50), p90: percentile(helpRuns, 90) },
  statusJsonMs: { p50: percentile(statusRuns, 50), p90: percentile(statusRuns, 90) },
  coldStartMs: {
    p50: percentile(coldStarts, 50),
    p90: percentile(coldStarts, 90),
    max: Math.max(...coldStarts),
  },
  loadAverage: loadavg()[0],
  rssAtReadyMiB: rssAtReady / 2 ** 20,
  idleSeconds,
  rssIdleMiB: rssIdle / 2 ** 20,
}
console.log(
  `code: ${codeForm}, memory levers: ${result.memoryLevers ? 'on' : 'off'}, load ${(result.loadAverage ?? Number.NaN).toFixed(1)}`,
)
console.table({
  [`clawmesh --help p50 (ms, target ≤ ${TARGETS_MS.help})`]: result.helpMs.p50.toFixed(0),
  [`clawmesh status --json p50 (ms, target ≤ ${TARGETS_MS.status})`]: result.statusJsonMs.p50.toFixed(0),
  [`cold start to ready p50 (ms, target ≤ ${TARGETS_MS.start})`]: result.coldStartMs.p50.toFixed(0),
  'cold start to ready p90 (ms)': result.coldStartMs.p90.toFixed(0),
  'RSS at ready (MiB)': result.rssAtReadyMiB.toFixed(1),
  [`RSS after ${idleSeconds} s idle (MiB)`]: result.rssIdleMiB.toFixed(1),
})
await mkdir(join(root, 'test/bench/results'), { recursive: true })
await writeFile(join(root, 'test/bench/results/node-startup.json'), `${JSON.stringify(result, null, 2)}\n`)
