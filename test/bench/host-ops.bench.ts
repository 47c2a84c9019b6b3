/**
 * Benchmark: host workflows in-process (docs/host-operations.md).
 *
 * 1. `disk-investigate` over a tree of N files (default 100,000: 100 directories × 1,000 empty-ish
 *    files): wall time of a whole walk, and how many entries the run's time budget
 *    (HOST_WORKFLOW_BUDGET_MS) covers.
 * 2. `doctor`: wall time and CPU (user + system of this process) per run, p50 over R runs.
 * 3. `monitor-check` over a real mesh of N node processes (default 5: a hub and N-1 nodes dialling
 *    it, all with `--host-ops`): wall time p50 of the whole check over R runs, and the CPU each node
 *    process spends per `doctor` (its /proc utime+stime, tools it ran included, minus its idle rate).
 *
 *   node test/bench/host-ops.bench.ts [--files 100000] [--runs 20] [--fleet 5] [--only disk|doctor|fleet]
 */
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { parseArgs } from 'node:util'
import { connectCliClient } from '../../node/cli/client-node.ts'
import { HOST_WORKFLOW_BUDGET_MS } from '../../node/host-ops/constants.ts'
import { runDiskInvestigate } from '../../node/host-ops/disk-investigate.ts'
import { runDoctor } from '../../node/host-ops/doctor.ts'
import { hostOpsSettingsSchema } from '../../node/host-ops/settings.ts'
import type { HostWorkflowContext } from '../../node/host-ops/workflow-context.ts'
import { makeStateDir, startNode, stopAll, trustEachOther, waitFor } from '../helpers/processes.ts'

const FILES_PER_DIR = 1_000
/** Linux reports process CPU in clock ticks of 1/100 s (USER_HZ). */
const CLOCK_TICK_MS = 10
/** How long each node's idle CPU rate is sampled before the runs. */
const IDLE_SAMPLE_MS = 3_000
/** Files created at once while building the tree. */
const CREATE_CONCURRENCY = 256

const { values } = parseArgs({
  options: {
    files: { type: 'string', default: '100000' },
    runs: { type: 'string', default: '20' },
    fleet: { type: 'string', default: '5' },
    only: { type: 'string' },
  },
})
if (values.only === 'fleet') {
  await benchMonitorCheck(Number(values.fleet), Number(values.runs))
  process.exit(0)
}
const files = Number(values.files)
const runs = Number(values.runs)

function p50(samples: number[]): number {
  return [...samples].sort((a, b) => a - b)[Math.floor(samples.length / 2)] ?? 0
}

const work = await makeStateDir('host-bench')
const root = join(work, 'tree')
try {
  const paths: string[] = []
  for (let dir = 0; dir * FILES_PER_DIR < files; dir++) {
    await mkdir(join(root, `d${dir}`), { recursive: true })
    for (let index = 0; index < FILES_PER_DIR && dir * FILES_PER_DIR + index < files; index++)
      paths.push(join(root, `d${dir}`, `f${index}`))
  }
  for (let at = 0; at < paths.length; at += CREATE_CONCURRENCY)
    await Promise.all(
      paths.slice(at, at + CREATE_CONCURRENCY).map((path, index) => writeFile(path, 'x'.repeat(index % 64))),
    )

  const context = (deadline: number): HostWorkflowContext => ({
    nodeName: 'bench',
    capability: 'host:bench',
    settings: hostOpsSettingsSchema.parse({
      enabled: true,
      diskPaths: [root],
      diskWalkMaxEntries: files * 2,
    }),
    stateDir: work,
    trust: { list: () => [], isExpired: () => false },
    self: () => ({ uptimeMs: 0, eventLoopLagP99Ms: 0, connectedPeers: 0 }),
    deadline,
  })
  const started = performance.now()
  const whole = await runDiskInvestigate(context(Number.POSITIVE_INFINITY), { path: root })
  const wholeMs = performance.now() - started
  const budgeted = await runDiskInvestigate(context(Date.now() + HOST_WORKFLOW_BUDGET_MS), { path: root })
  const walkFact = (output: typeof whole) =>
    output.findings.find((item) => item.id === 'walk')?.evidence[0]?.fact
  console.log(`disk-investigate, ${files} files: whole walk ${Math.round(wholeMs)} ms (${walkFact(whole)})`)
  console.log(`  within the ${HOST_WORKFLOW_BUDGET_MS} ms budget: ${walkFact(budgeted)}`)

  const wall: number[] = []
  const cpu: number[] = []
  for (let run = 0; run < runs; run++) {
    const before = process.cpuUsage()
    const at = performance.now()
    await runDoctor(context(Date.now() + HOST_WORKFLOW_BUDGET_MS), { callerTime: Date.now() }, Date.now())
    wall.push(performance.now() - at)
    const used = process.cpuUsage(before)
    cpu.push((used.user + used.system) / 1000)
  }
  console.log(
    `doctor, ${runs} runs: wall p50 ${p50(wall).toFixed(1)} ms, CPU p50 ${p50(cpu).toFixed(1)} ms (this process; systemctl's own CPU not counted)`,
  )
} finally {
  await rm(work, { recursive: true, force: true })
}

/** CPU seconds a process and its reaped children have used (/proc/<pid>/stat, clock ticks of 10 ms). */
async function cpuMsOf(pid: number): Promise<number> {
  const fields = (await readFile(`/proc/${pid}/stat`, 'utf8')).split(') ')[1]?.split(' ') ?? []
  // After the command: state is field 0; utime, stime, cutime, cstime are 11..14.
  const ticks = [11, 12, 13, 14].reduce((sum, index) => sum + Number(fields[index] ?? 0), 0)
  return ticks * CLOCK_TICK_MS
}

async function benchMonitorCheck(count: number, runs: number): Promise<void> {
  const dirs = await Promise.all(Array.from({ length: count }, (_, index) => makeStateDir(`fleet-${index}`)))
  const names = dirs.map((_, index) => (index === 0 ? 'hub' : `node-${index}`))
  try {
    const [hubId] = await trustEachOther(dirs, names)
    const hub = await startNode(dirs[0] as string, ['--name', 'hub', '--role', 'planner', '--host-ops'])
    const nodes = [
      hub,
      ...(await Promise.all(
        dirs
          .slice(1)
          .map((dir, index) =>
            startNode(dir, [
              '--name',
              names[index + 1] as string,
              '--peer',
              `${hubId}=${hub.url}`,
              '--host-ops',
            ]),
          ),
      )),
    ]
    const client = await connectCliClient(hub.url, hub.stateDir)
    try {
      await waitFor(
        `all ${count} nodes in the fleet`,
        async () => ((await client.call('host.monitor.check', {})).rows.length === count ? true : undefined),
        60_000,
      )
      const pids = nodes.map((node) => node.child.pid as number)
      const idleStart = await Promise.all(pids.map(cpuMsOf))
      const idleAt = performance.now()
      await new Promise((resolve) => setTimeout(resolve, IDLE_SAMPLE_MS))
      const idleRate = (await Promise.all(pids.map(cpuMsOf))).map(
        (used, index) => (used - (idleStart[index] ?? 0)) / (performance.now() - idleAt),
      )
      const wall: number[] = []
      const before = await Promise.all(pids.map(cpuMsOf))
      const startedAt = performance.now()
      for (let run = 0; run < runs; run++) {
        const at = performance.now()
        const check = await client.call('host.monitor.check', {})
        wall.push(performance.now() - at)
        if (check.rows.some((row) => row.status === 'unreachable')) throw new Error('a node did not answer')
      }
      const elapsed = performance.now() - startedAt
      const after = await Promise.all(pids.map(cpuMsOf))
      // The hub also routes every other node's doctor; the others only run their own.
      const perDoctor = after.map(
        (used, index) => (used - (before[index] ?? 0) - (idleRate[index] ?? 0) * elapsed) / runs,
      )
      const others = perDoctor.slice(1)
      console.log(
        `monitor-check over ${count} nodes, ${runs} runs: wall p50 ${p50(wall).toFixed(0)} ms (min ${Math.min(...wall).toFixed(0)}, max ${Math.max(...wall).toFixed(0)})`,
      )
      console.log(
        `  CPU per doctor, per node (idle subtracted): p50 ${p50(others).toFixed(1)} ms over the ${others.length} nodes (${others.map((ms) => ms.toFixed(0)).join(', ')}); hub (its own doctor + routing ${count - 1}) ${perDoctor[0]?.toFixed(1)} ms`,
      )
    } finally {
      await client.close()
    }
  } finally {
    await stopAll()
    await Promise.all(dirs.map((dir) => rm(dir, { recursive: true, force: true })))
  }
}
