/**
 * Benchmark: host repairs in-process (docs/host-operations.md#repairs).
 *
 * 1. `data-clean-plan` over N candidate files of S bytes (default 2,000 × 64 KiB = 125 MiB, the
 *    manifest's limit): wall time of the plan (walk + SHA-256 of every candidate), then of the apply
 *    (lstat + SHA-256 again + unlink per file).
 * 2. `run` of `/bin/true` as the run user: wall time per run (spawn, wait, redact), p50 over R runs.
 *
 *   node test/bench/host-repairs.bench.ts [--files 2000] [--size 65536] [--runs 20]
 */
import { mkdir, rm, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { parseArgs } from 'node:util'
import { applyDataClean, runDataCleanPlan } from '../../node/host-ops/data-clean.ts'
import { runApproved } from '../../node/host-ops/run-command.ts'
import { hostOpsSettingsSchema } from '../../node/host-ops/settings.ts'
import type { HostWorkflowContext } from '../../node/host-ops/workflow-context.ts'
import { hostCapability } from '../../protocol/host-ops/findings.ts'
import { makeStateDir } from '../helpers/processes.ts'

/** A plan here may take longer than a workflow's budget: the figure is the work, not the cut. */
const BENCH_DEADLINE_MS = 120_000

const { values } = parseArgs({
  options: {
    files: { type: 'string', default: '2000' },
    size: { type: 'string', default: '65536' },
    runs: { type: 'string', default: '20' },
  },
})
const files = Number(values.files)
const size = Number(values.size)
const runs = Number(values.runs)
const p50 = (samples: number[]) => [...samples].sort((a, b) => a - b)[Math.floor(samples.length / 2)] ?? 0

const work = await makeStateDir('repair-bench')
const data = join(work, 'data')
try {
  await mkdir(join(data, 'cache'), { recursive: true })
  const block = Buffer.alloc(size, 7)
  for (let index = 0; index < files; index++) await writeFile(join(data, 'cache', `f${index}.bin`), block)
  const settings = hostOpsSettingsSchema.parse({
    enabled: true,
    diskPaths: [data],
    repairPaths: [data],
    diskWalkMaxEntries: files * 2,
  })
  const context: HostWorkflowContext = {
    nodeName: 'bench',
    capability: hostCapability('bench'),
    settings,
    stateDir: join(work, 'state'),
    trust: { list: () => [], isExpired: () => false },
    self: () => ({ uptimeMs: 0, eventLoopLagP99Ms: 0, connectedPeers: 0 }),
    deadline: Date.now() + BENCH_DEADLINE_MS,
  }
  let started = performance.now()
  const plan = await runDataCleanPlan(context, { path: data })
  const planMs = performance.now() - started
  const manifestId = String(plan.facts?.['manifestId'])
  const manifestHash = String(plan.facts?.['manifestHash'])
  started = performance.now()
  const applied = await applyDataClean(context.stateDir, [data], { manifestId, manifestHash })
  const applyMs = performance.now() - started
  const mib = (files * size) / 1024 / 1024
  console.log(
    `data-clean-plan: ${plan.facts?.['files']} of ${files} files (${mib.toFixed(0)} MiB) in ${planMs.toFixed(0)} ms; apply deleted ${applied.ok ? applied.result['deleted'] : applied.code} in ${applyMs.toFixed(0)} ms`,
  )
  const samples: number[] = []
  for (let run = 0; run < runs; run++) {
    started = performance.now()
    const outcome = await runApproved(['/bin/true'], settings.runUser)
    if (!outcome.ok) throw new Error(`run failed: ${outcome.code} ${outcome.message}`)
    samples.push(performance.now() - started)
  }
  console.log(`run /bin/true as ${settings.runUser}: p50 ${p50(samples).toFixed(1)} ms over ${runs} runs`)
} finally {
  await rm(work, { recursive: true, force: true })
}
