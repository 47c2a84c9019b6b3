/**
 * What a fan-out run's tail coincides with: reads the dumps `FANOUT_LATENCY_DUMP_DIR=DIR` left (see
 * fanout-core.ts) and, per round, lays every far-node frame slower than a threshold beside the GC
 * pauses of every process of that round, and groups the slow frames into bursts.
 *
 *   node test/bench/fanout-tail.ts DIR [--over MS] [--far NODE] [--min-pause MS]
 *
 * `--over` (default 8 ms) is what counts as slow, `--far` the node whose frames are examined (default:
 * the highest-numbered node of the round, the far node of chain3), `--min-pause` the shortest GC
 * pause counted (default 1 ms). Prints a line per round and per burst.
 */
import { readdir, readFile } from 'node:fs/promises'
import { parseArgs } from 'node:util'
import { z } from 'zod'

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    over: { type: 'string', default: '8' },
    far: { type: 'string' },
    'min-pause': { type: 'string', default: '1' },
  },
})
const directory = positionals[0]
if (directory === undefined) {
  console.error('usage: node test/bench/fanout-tail.ts DIR [--over MS] [--far NODE] [--min-pause MS]')
  process.exit(2)
}
const milliseconds = (name: string, text: string): number => {
  const value = Number(text)
  if (!Number.isFinite(value) || value < 0) {
    console.error(`--${name} must be a number of milliseconds, got ${JSON.stringify(text)}`)
    process.exit(2)
  }
  return value
}
const overMs = milliseconds('over', values.over)
const minPauseMs = milliseconds('min-pause', values['min-pause'])

/** Frames this far apart (ms of arrival) belong to different bursts. */
const BURST_GAP_MS = 30
/** Dumps whose marks lie this close together are one round (the parent marks all workers at once). */
const ROUND_MARK_SPREAD_MS = 2_000

const dumpSchema = z.object({
  markedAt: z.number(),
  /** Since 2026-12-07 `markedAt` is on the monotonic clock and this is the wall clock's. */
  markedAtWallMs: z.number().optional(),
  arrivals: z.array(z.tuple([z.number(), z.number(), z.number()])),
  gcPauses: z.array(z.tuple([z.number(), z.number(), z.string()])),
})
type Dump = z.infer<typeof dumpSchema> & { node: string }

const dumps: Dump[] = []
for (const file of await readdir(directory)) {
  const match = /^(n\d+)-(.+)-(\d+)\.json$/.exec(file)
  if (match === null || match[2] === 'warmup') continue
  const parsed = dumpSchema.safeParse(JSON.parse(await readFile(`${directory}/${file}`, 'utf8')))
  if (!parsed.success) {
    console.warn(`${file}: not a dump with GC pauses (written before 2026-12-07?), skipped`)
    continue
  }
  dumps.push({ ...parsed.data, node: match[1] as string })
}
dumps.sort((a, b) => a.markedAt - b.markedAt)
const rounds: Dump[][] = []
for (const dump of dumps) {
  const round = rounds.find(
    (members) => Math.abs((members[0] as Dump).markedAt - dump.markedAt) < ROUND_MARK_SPREAD_MS,
  )
  if (round === undefined) rounds.push([dump])
  else round.push(dump)
}

const nodeNumber = (node: string) => Number(node.slice(1))
for (const round of rounds) {
  const far =
    values.far === undefined
      ? round.reduce((best, dump) => (nodeNumber(dump.node) > nodeNumber(best.node) ? dump : best))
      : round.find((dump) => dump.node === values.far)
  if (far === undefined) continue
  const pauses = round.flatMap((dump) =>
    dump.gcPauses
      .filter(([, duration]) => duration >= minPauseMs)
      .map(([start, duration, kind]) => ({
        label: `${dump.node} ${kind} ${duration.toFixed(1)} ms`,
        start: dump.markedAt + start,
        end: dump.markedAt + start + duration,
      })),
  )
  const slow = far.arrivals.filter(([, , latency]) => latency > overMs).sort((a, b) => a[0] - b[0])
  const overlapping = slow.filter(([arrival, , latency]) => {
    const at = far.markedAt + arrival
    return pauses.some((pause) => pause.end > at - latency && pause.start < at)
  })
  console.log(
    `round marked ${new Date(far.markedAtWallMs ?? far.markedAt).toISOString().slice(11, 19)} UTC, far node ${far.node}: ` +
      `${far.arrivals.length} frames, ${slow.length} over ${overMs} ms, ` +
      `${overlapping.length} of them while a GC pause of ≥ ${minPauseMs} ms ran on some process`,
  )
  const bursts: Array<typeof slow> = []
  for (const frame of slow) {
    const current = bursts[bursts.length - 1]
    const previous = current?.[current.length - 1]
    if (current === undefined || previous === undefined || frame[0] - previous[0] > BURST_GAP_MS)
      bursts.push([frame])
    else current.push(frame)
  }
  for (const burst of bursts) {
    const from = (burst[0] as [number, number, number])[0]
    const worst = Math.max(...burst.map(([, , latency]) => latency))
    const during = pauses
      .filter(
        (pause) =>
          pause.end > far.markedAt + from - worst && pause.start < far.markedAt + from + BURST_GAP_MS,
      )
      .map((pause) => pause.label)
    console.log(
      `  burst at ${from.toFixed(0)} ms: ${burst.length} frames, worst ${worst.toFixed(1)} ms` +
        (during.length === 0 ? '' : `; GC: ${during.join(', ')}`),
    )
  }
}
