/**
 * Benchmark: cold start of `clawmesh start` to ready (process spawn → "ready" line, fresh state dir
 * each run so key generation is included) and idle RSS of a node after it has run for a while.
 *
 *   node test/bench/node-startup.bench.ts [--runs 10] [--idle-seconds 60]
 *
 * Prints a table and writes test/bench/results/node-startup.json.
 */
import { spawn } from 'node:child_process'
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { parseArgs } from 'node:util'

const root = resolve(import.meta.dirname, '../..')
const cli = join(root, 'node/bin/clawmesh.ts')
const { values } = parseArgs({
  options: { runs: { type: 'string', default: '10' }, 'idle-seconds': { type: 'string', default: '60' } },
})
const runs = Number(values.runs)
const idleSeconds = Number(values['idle-seconds'])

function startNode(stateDir: string): Promise<{ readyMs: number; pid: number; kill: () => void }> {
  const started = performance.now()
  const child = spawn(
    process.execPath,
    [cli, 'start', '--name', 'bench', '--host', '127.0.0.1', '--port', '0'],
    {
      env: { ...process.env, CLAWMESH_STATE_DIR: stateDir },
      stdio: ['ignore', 'pipe', 'inherit'],
    },
  )
  return new Promise((resolveStart, reject) => {
    let output = ''
    child.stdout.on('data', (chunk: Buffer) => {
      output += chunk.toString()
      if (output.includes('listening'))
        resolveStart({
          readyMs: performance.now() - started,
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

const percentile = (values: number[], p: number) =>
  [...values].sort((a, b) => a - b)[
    Math.min(values.length - 1, Math.floor((p / 100) * values.length))
  ] as number

const coldStarts: number[] = []
for (let run = 0; run < runs; run++) {
  const dir = await mkdtemp(join(tmpdir(), 'clawmesh-bench-'))
  const node = await startNode(dir)
  coldStarts.push(node.readyMs)
  node.kill()
  await rm(dir, { recursive: true, force: true })
}

const idleDir = await mkdtemp(join(tmpdir(), 'clawmesh-bench-idle-'))
const idleNode = await startNode(idleDir)
const rssAtReady = await rssBytes(idleNode.pid)
await new Promise((resolveWait) => setTimeout(resolveWait, idleSeconds * 1000))
const rssIdle = await rssBytes(idleNode.pid)
idleNode.kill()
await rm(idleDir, { recursive: true, force: true })

const result = {
  benchmark: 'node-startup',
  node: process.version,
  runs,
  coldStartMs: {
    p50: percentile(coldStarts, 50),
    p90: percentile(coldStarts, 90),
    max: Math.max(...coldStarts),
  },
  rssAtReadyMiB: rssAtReady / 2 ** 20,
  idleSeconds,
  rssIdleMiB: rssIdle / 2 ** 20,
}
console.table({
  'cold start to ready p50 (ms)': result.coldStartMs.p50.toFixed(0),
  'cold start to ready p90 (ms)': result.coldStartMs.p90.toFixed(0),
  'RSS at ready (MiB)': result.rssAtReadyMiB.toFixed(1),
  [`RSS after ${idleSeconds} s idle (MiB)`]: result.rssIdleMiB.toFixed(1),
})
await mkdir(join(root, 'test/bench/results'), { recursive: true })
await writeFile(join(root, 'test/bench/results/node-startup.json'), `${JSON.stringify(result, null, 2)}\n`)
