/**
 * World-model benchmark: ingest rate over 100,000 pre-built frames (signatures are checked before
 * ingest, so none are verified here) and query latency p50/p99 at 100,000 frames for each query
 * type. Run with `node test/bench/world-model.bench.ts`; results go to
 * test/bench/results/world-model.json. Targets: ingest >= 50,000 frames/s, query p99 < 5 ms.
 */
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { WorldModel, type WorldQuery } from '../../node/world/world-model.ts'
import { WorldSnapshotStore } from '../../node/world/world-snapshot-store.ts'
import type { Frame } from '../../protocol/context/frame.ts'
import { TEST_ORIGIN, TEST_ORIGIN_2, testFrame, testObservation } from '../helpers/frames.ts'

const FRAME_COUNT = 100_000
const QUERY_ITERATIONS = 500
const T0 = 1_750_000_000_000
const ZONES = Array.from({ length: 20 }, (_, i) => `zone-${i + 1}`)
const METRICS = ['soil-moisture', 'temperature', 'humidity']

function buildFrames(): Frame[] {
  const frames: Frame[] = []
  for (let i = 0; i < FRAME_COUNT; i++) {
    const zone = ZONES[i % ZONES.length]!
    const timestamp = T0 + i * 100
    if (i % 50 === 0) {
      frames.push(
        testFrame({
          kind: 'event',
          timestamp,
          origin: TEST_ORIGIN_2,
          trust: { tier: 'T2', sources: [] },
          data: {
            type: 'threshold',
            severity: i % 200 === 0 ? 'warning' : 'info',
            zone,
            message: `event ${i}`,
          },
        }),
      )
    } else if (i % 1_000 === 1) {
      frames.push(
        testFrame({
          kind: 'capability_update',
          timestamp,
          data: { role: 'field', capabilities: ZONES.map((z) => `actuator:valve:${z}`) },
        }),
      )
    } else {
      const metric = METRICS[i % METRICS.length]!
      frames.push(
        testObservation(
          zone,
          metric,
          (i % 997) / 10,
          timestamp,
          i % 2 === 0 ? {} : { origin: TEST_ORIGIN_2 },
        ),
      )
    }
  }
  return frames
}

function percentile(sorted: readonly number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!
}

const frames = buildFrames()

// Warm up the JIT on a separate model so the measured run reflects steady state.
WorldModel.fromFrames(frames.slice(0, 20_000), { historyLimit: FRAME_COUNT })

const model = new WorldModel({ historyLimit: FRAME_COUNT })
const ingestStart = performance.now()
for (const frame of frames) model.ingest(frame)
const ingestMs = performance.now() - ingestStart
const ingestPerSecond = Math.round(FRAME_COUNT / (ingestMs / 1_000))

const now = T0 + FRAME_COUNT * 100
const queries: Record<string, () => unknown> = {
  'kind (observation, 100)': () => model.query({ kind: 'observation' }),
  'origin (100)': () => model.query({ origin: TEST_ORIGIN }),
  'zone (100)': () => model.query({ zone: 'zone-7' }),
  'zone+metric (100)': () => model.query({ zone: 'zone-7', metric: 'temperature' }),
  'capability (100)': () => model.query({ capability: 'sensor:soil-moisture:zone-3' }),
  'time window (last 60 s)': () => model.query({ since: now - 60_000, limit: 1_000 }),
  'old time window (first 60 s)': () => model.query({ since: T0, until: T0 + 60_000, limit: 1_000 }),
  'minTier T2 (100)': () => model.query({ minTier: 'T2' }),
  'rare: event+zone+T2 (1000)': () =>
    model.query({ kind: 'event', zone: 'zone-1', minTier: 'T2', limit: 1_000 } satisfies WorldQuery),
  'latest()': () => model.latest(),
  'rank(top 20)': () => model.rank({ now, limit: 20 }),
  'summary(4000)': () => model.summary({ now, maxChars: 4_000 }),
}

const queryResults: Record<string, { p50Ms: number; p99Ms: number; results: number }> = {}
for (const [name, run] of Object.entries(queries)) {
  for (let i = 0; i < 20; i++) run()
  const samples: number[] = []
  let results = 0
  for (let i = 0; i < QUERY_ITERATIONS; i++) {
    const start = performance.now()
    const result = run()
    samples.push(performance.now() - start)
    results = Array.isArray(result) ? result.length : String(result).length
  }
  samples.sort((a, b) => a - b)
  queryResults[name] = {
    p50Ms: round(percentile(samples, 50)),
    p99Ms: round(percentile(samples, 99)),
    results,
  }
}

function round(value: number): number {
  return Math.round(value * 1_000) / 1_000
}

// Snapshot round trip at 100,000 frames: atomic save, then load with per-frame shape validation.
const stateDir = await mkdtemp(join(tmpdir(), 'clawmesh-bench-'))
const store = new WorldSnapshotStore({ stateDir, historyLimit: FRAME_COUNT })
const saveStart = performance.now()
await store.save(model, now)
const saveMs = performance.now() - saveStart
const loadStart = performance.now()
const loaded = await store.load(now)
const loadMs = performance.now() - loadStart
await rm(stateDir, { recursive: true, force: true })
const snapshot = {
  saveMs: round(saveMs),
  loadMs: round(loadMs),
  restored: loaded.loaded ? loaded.restored : 0,
}

console.log(
  `world-model snapshot: save ${saveMs.toFixed(0)} ms, load ${loadMs.toFixed(0)} ms (${snapshot.restored} frames)`,
)
console.log(
  `world-model ingest: ${FRAME_COUNT} frames in ${ingestMs.toFixed(1)} ms = ${ingestPerSecond} frames/s`,
)
console.table(queryResults)

const worstP99 = Math.max(...Object.values(queryResults).map((entry) => entry.p99Ms))
const result = {
  benchmark: 'world-model',
  node: process.version,
  frames: FRAME_COUNT,
  ingest: {
    ms: round(ingestMs),
    framesPerSecond: ingestPerSecond,
    target: 50_000,
    met: ingestPerSecond >= 50_000,
  },
  queries: queryResults,
  snapshot,
  queryP99Target: { ms: 5, worstMs: worstP99, met: worstP99 < 5 },
  measuredAt: new Date().toISOString(),
}
const out = join(dirname(fileURLToPath(import.meta.url)), 'results', 'world-model.json')
await mkdir(dirname(out), { recursive: true })
await writeFile(out, `${JSON.stringify(result, null, 2)}\n`)
console.log(`written ${out}`)
