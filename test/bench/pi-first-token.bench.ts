/**
 * Pi backend: time from operator input (`respond` called) to the first answer token, with pi-ai's
 * faux provider (no model time: every scripted chunk is delivered on the next microtask), so the
 * figure is the planner's own overhead — prompt and tool construction, the agent loop, tool
 * execution against in-memory PlannerTools. Two flows: a direct answer, and one `query_world` call
 * before the answer. p50/p99 over 100 runs after 10 warm-up runs.
 * Run with `node test/bench/pi-first-token.bench.ts`; JSON goes to
 * test/bench/results/pi-first-token.json.
 */
import { mkdir, writeFile } from 'node:fs/promises'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import {
  type FauxResponseStep,
  fauxAssistantMessage,
  fauxText,
  fauxToolCall,
  registerFauxProvider,
} from '@mariozechner/pi-ai'
import { createPiBackend } from '../../node/planner/pi/pi-backend.ts'
import { recordingTools } from '../helpers/recording-planner-tools.ts'

const RUNS = 100
const WARMUP = 10
const ANSWER = 'Zone 2 soil moisture is 12 %, below its 20 % threshold; the last reading is 40 s old.'

const flows: Record<string, () => FauxResponseStep[]> = {
  'direct answer': () => [fauxAssistantMessage(fauxText(ANSWER))],
  'query_world, then answer': () => [
    fauxAssistantMessage(fauxToolCall('query_world', { zone: 'zone-2' }), { stopReason: 'toolUse' }),
    fauxAssistantMessage(fauxText(ANSWER)),
  ],
}

function percentile(sorted: readonly number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!
}

function round(value: number): number {
  return Math.round(value * 1_000) / 1_000
}

const faux = registerFauxProvider()
const backend = createPiBackend({ model: faux.getModel() })
const results: Record<string, { p50Ms: number; p99Ms: number; runs: number }> = {}

for (const [name, script] of Object.entries(flows)) {
  const samples: number[] = []
  for (let run = 0; run < WARMUP + RUNS; run++) {
    faux.setResponses(script())
    let firstToken: number | undefined
    const start = performance.now()
    const reply = await backend.respond(
      {
        text: 'how dry is zone 2?',
        trigger: 'operator',
        operator: { id: 'op-1', name: 'Ana' },
        signal: new AbortController().signal,
        onToolStart: () => {},
        onToolEnd: () => {},
        onToken: () => {
          firstToken ??= performance.now()
        },
      },
      recordingTools(),
    )
    if (reply.error !== undefined || firstToken === undefined) {
      throw new Error(`run ${run} of "${name}" failed: ${reply.error ?? 'no token'}`)
    }
    if (run >= WARMUP) samples.push(firstToken - start)
  }
  samples.sort((a, b) => a - b)
  results[name] = { p50Ms: round(percentile(samples, 50)), p99Ms: round(percentile(samples, 99)), runs: RUNS }
}
faux.unregister()

console.log('Pi backend, input to first answer token (faux provider, no model time)')
console.table(results)

const out = join(dirname(fileURLToPath(import.meta.url)), 'results', 'pi-first-token.json')
await mkdir(dirname(out), { recursive: true })
await writeFile(
  out,
  `${JSON.stringify(
    {
      benchmark: 'pi-first-token',
      node: process.version,
      provider: 'pi-ai faux (no pacing)',
      flows: results,
      measuredAt: new Date().toISOString(),
    },
    null,
    2,
  )}\n`,
)
console.log(`written ${out}`)
