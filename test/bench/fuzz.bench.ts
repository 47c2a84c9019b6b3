/**
 * Benchmark: a million fuzzed inputs through every boundary decoder (test/fuzz/targets.ts), counting
 * crashes (anything thrown outside the decoder's closed vocabulary) and forgeries (a mutated signed
 * record that verifies). The CI slice of the same targets is test/fuzz/fuzz.test.ts.
 *
 *   node test/bench/fuzz.bench.ts [--inputs 1000000] [--seed 1]
 *
 * Inputs are split evenly over the targets and generated in chunks from seed + chunk, so a failure
 * names the seed that replays it. Prints a table and writes test/bench/results/fuzz.json.
 */
import { mkdir, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { parseArgs } from 'node:util'
import fc from 'fast-check'
import { buildSamples, buildTargets, FuzzFailure } from '../fuzz/targets.ts'
import { REPO_ROOT } from '../helpers/processes.ts'

const CHUNK = 2_000
const EXAMPLES_KEPT = 5

const { values } = parseArgs({
  options: { inputs: { type: 'string', default: '1000000' }, seed: { type: 'string', default: '1' } },
})
const totalInputs = Number(values.inputs)
const seed = Number(values.seed)

const targets = buildTargets(await buildSamples())
const perTarget = Math.ceil(totalInputs / targets.length)
const rows: Array<{ target: string; inputs: number; failures: number; ms: number }> = []
const examples: string[] = []
let failures = 0
let unexpected = 0
const started = performance.now()
for (const [index, target] of targets.entries()) {
  const targetStarted = performance.now()
  let done = 0
  let targetFailures = 0
  for (let chunk = 0; done < perTarget; chunk++) {
    const runs = Math.min(CHUNK, perTarget - done)
    const chunkSeed = seed * 1_000_003 + index * 10_007 + chunk
    for (const input of fc.sample(target.arbitrary, { numRuns: runs, seed: chunkSeed })) {
      try {
        await target.run(input)
      } catch (error) {
        targetFailures++
        if (!(error instanceof FuzzFailure)) unexpected++
        if (examples.length < EXAMPLES_KEPT)
          examples.push(`seed ${chunkSeed}: ${(error as Error).message.slice(0, 300)}`)
      }
    }
    done += runs
  }
  failures += targetFailures
  rows.push({
    target: target.name,
    inputs: done,
    failures: targetFailures,
    ms: Math.round(performance.now() - targetStarted),
  })
}
const seconds = (performance.now() - started) / 1_000
const inputs = rows.reduce((sum, row) => sum + row.inputs, 0)
console.table(rows)
console.log(
  `${inputs} inputs over ${targets.length} decoders in ${seconds.toFixed(1)} s (${Math.round(inputs / seconds)}/s): ${failures} failures (${unexpected} outside the harness)`,
)
for (const example of examples) console.log(`  ${example}`)
const results = join(REPO_ROOT, 'test/bench/results')
await mkdir(results, { recursive: true })
await writeFile(
  join(results, 'fuzz.json'),
  `${JSON.stringify({ inputs, seconds, failures, seed, node: process.version, rows, examples }, null, 2)}\n`,
)
process.exitCode = failures === 0 ? 0 : 1
