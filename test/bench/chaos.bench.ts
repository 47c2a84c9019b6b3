/**
 * Benchmark (issue #20): the chaos loop. A command center and field nodes (real processes, mock
 * actuators) under a kill -9 of a random node every few seconds while operators propose and approve
 * at a steady rate; then the invariant checker reads every node's ledger and evidence log: no
 * proposal executed twice, none executed without its approvals, every approved proposal ended with
 * a reason (test/bench/chaos-loop.ts, test/tools/chaos-invariants.ts).
 *
 *   node test/bench/chaos.bench.ts [--minutes 1] [--kill-every 5] [--approve-rate 0.5] [--fields 3]
 *                                  [--cc-kill-share 0.2] [--hold-ms 250] [--seed 20] [--keep]
 *
 * `--approve-rate` is proposals proposed and approved per second (a pump start, L3, takes two
 * approvals). Prints a table (with restart times, and each slow or failed restart on its own line)
 * and writes test/bench/results/chaos.json; exits 1 on any violation or any node not back.
 */
import { mkdir, rm, writeFile } from 'node:fs/promises'
import { cpus } from 'node:os'
import { join, resolve } from 'node:path'
import { parseArgs } from 'node:util'
import { stopAll } from '../helpers/processes.ts'
import { type ChaosLoopResult, runChaosLoop } from './chaos-loop.ts'
import { percentile } from './stats.ts'

const root = resolve(import.meta.dirname, '../..')
const { values } = parseArgs({
  options: {
    minutes: { type: 'string', default: '1' },
    'kill-every': { type: 'string', default: '5' },
    'approve-rate': { type: 'string', default: '0.5' },
    fields: { type: 'string', default: '3' },
    'cc-kill-share': { type: 'string', default: '0.2' },
    'hold-ms': { type: 'string', default: '250' },
    seed: { type: 'string', default: '20' },
    keep: { type: 'boolean', default: false },
  },
})

const seconds = (ms: number) => `${(ms / 1000).toFixed(1)} s`

function restartLine(result: ChaosLoopResult): string {
  const times = result.restarts.map((restart) => restart.readyMs)
  if (times.length === 0) return 'none'
  return `${times.length}, p50 ${seconds(percentile(times, 50))}, max ${seconds(Math.max(...times))}`
}

const options = {
  durationMs: Number(values.minutes) * 60_000,
  killEveryMs: Number(values['kill-every']) * 1_000,
  proposalsPerSecond: Number(values['approve-rate']),
  fieldNodes: Number(values.fields),
  commandCenterKillShare: Number(values['cc-kill-share']),
  holdExecutionMs: Number(values['hold-ms']),
  seed: Number(values.seed),
}

let stateDirs: Record<string, string> = {}
try {
  const result = await runChaosLoop({
    ...options,
    log: (line) => console.log(`[${new Date().toISOString().slice(11, 19)}] ${line}`),
  })
  stateDirs = { ...result.stateDirs }
  const { report } = result
  const killsTotal = Object.values(result.kills).reduce((sum, count) => sum + count, 0)
  console.table({
    'chaos (s)': (result.chaosMs / 1000).toFixed(0),
    'settle (s)': (result.settleMs / 1000).toFixed(1),
    kills: `${killsTotal} (${Object.entries(result.kills)
      .map(([name, count]) => `${name} ${count}`)
      .join(', ')})`,
    'restarts (spawn → listening)': restartLine(result),
    [`slow restarts (> ${result.restartReadyBoundMs / 1000} s)`]: result.restarts.filter(
      (restart) => restart.readyMs > result.restartReadyBoundMs,
    ).length,
    'failed starts': result.failedStarts.length,
    'nodes not back': Object.keys(result.notBack).join(', ') || 'none',
    'proposals created': result.proposalsCreated,
    'proposals refused or lost': result.proposalsRefused,
    'approvals sent (retried, lost)': `${result.approvalsSent} (${result.approvalsRetried}, ${result.approvalsLost})`,
    'approvals on record': report.approvals,
    'approved proposals': report.approved,
    'executions begun': report.executed,
    endings: Object.entries(report.endings)
      .map(([state, count]) => `${state} ${count}`)
      .join(', '),
    'endings read from evidence only': report.endingsFromEvidenceOnly,
    'unsettled at the end': result.unsettled ?? 'unknown (command center not answering)',
    violations: report.violations.length,
    'load avg (1 min) start → peak → end': `${result.loadAverage.start[0]?.toFixed(2)} → ${result.loadAverage.peak.toFixed(2)} → ${result.loadAverage.end[0]?.toFixed(2)} (${cpus().length} cores)`,
  })
  for (const restart of result.restarts.filter((each) => each.readyMs > result.restartReadyBoundMs))
    console.log(
      `SLOW RESTART ${restart.node}: listening after ${seconds(restart.readyMs)} (at ${restart.atS} s; bound ${seconds(result.restartReadyBoundMs)})`,
    )
  for (const failed of result.failedStarts)
    console.log(
      `FAILED START ${failed.node} at ${failed.atS} s (${failed.why} after ${seconds(failed.afterMs)}):\n  ${failed.lastOutput.replaceAll('\n', '\n  ')}`,
    )
  for (const [node, why] of Object.entries(result.notBack)) console.log(`NOT BACK ${node}: ${why}`)
  for (const violation of report.violations)
    console.log(`VIOLATION ${violation.kind} ${violation.subject}: ${violation.detail}`)
  await mkdir(join(root, 'test/bench/results'), { recursive: true })
  await writeFile(
    join(root, 'test/bench/results/chaos.json'),
    `${JSON.stringify(
      {
        benchmark: 'chaos',
        date: new Date().toISOString(),
        node: process.version,
        cores: cpus().length,
        options,
        killsTotal,
        ...result,
        stateDirs: undefined,
      },
      null,
      2,
    )}\n`,
  )
  if (values.keep) console.log(`state dirs kept: ${JSON.stringify(stateDirs)}`)
  process.exitCode = report.violations.length === 0 && Object.keys(result.notBack).length === 0 ? 0 : 1
} finally {
  await stopAll()
  if (!values.keep)
    await Promise.all(Object.values(stateDirs).map((dir) => rm(dir, { recursive: true, force: true })))
}
