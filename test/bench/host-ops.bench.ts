/**
 * Benchmark: host workflows in-process (docs/host-operations.md).
 *
 * 1. `disk-investigate` over a tree of N files (default 100,000: 100 directories × 1,000 empty-ish
 *    files): wall time of a whole walk, and how many entries the run's time budget
 *    (HOST_WORKFLOW_BUDGET_MS) covers.
 * 2. `doctor`: wall time and CPU (user + system of this process) per run, p50 over R runs.
 *
 *   node test/bench/host-ops.bench.ts [--files 100000] [--runs 20]
 */
import { mkdir, rm, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { parseArgs } from 'node:util'
import { HOST_WORKFLOW_BUDGET_MS } from '../../node/host-ops/constants.ts'
import { runDiskInvestigate } from '../../node/host-ops/disk-investigate.ts'
import { runDoctor } from '../../node/host-ops/doctor.ts'
import { hostOpsSettingsSchema } from '../../node/host-ops/settings.ts'
import type { HostWorkflowContext } from '../../node/host-ops/workflow-context.ts'
import { makeStateDir } from '../helpers/processes.ts'

const FILES_PER_DIR = 1_000
/** Files created at once while building the tree. */
const CREATE_CONCURRENCY = 256

const { values } = parseArgs({
  options: { files: { type: 'string', default: '100000' }, runs: { type: 'string', default: '20' } },
})
const files = Number(values.files)
const runs = Number(values.runs)

const p50 = (samples: number[]) => [...samples].sort((a, b) => a - b)[Math.floor(samples.length / 2)] ?? 0

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
