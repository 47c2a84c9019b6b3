/**
 * Benchmark: heap a world model keeps per frame, for frames as a node receives them — decoded from
 * signed batches (each frame parsed from the wire, with its own copy of every string) and ingested.
 * Measured with forced GCs before and after (the script re-runs itself with --expose-gc).
 *
 *   node test/bench/world-retained.bench.ts [--frames 20000] [--batch 10]
 *
 * Prints a table and writes test/bench/results/world-retained.json.
 */
import { spawnSync } from 'node:child_process'
import { mkdir, writeFile } from 'node:fs/promises'
import { dirname, join } from 'node:path'
import { parseArgs } from 'node:util'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { WorldModel } from '../../node/world/world-model.ts'
import { decodeBatch, type Frame, type FrameFields, sealBatch } from '../../protocol/context/index.ts'
import { signerFromPrivateKey } from '../../protocol/signing.ts'

const gc = (globalThis as { gc?: () => void }).gc
if (gc === undefined) {
  const rerun = spawnSync(process.execPath, ['--expose-gc', ...process.argv.slice(1)], { stdio: 'inherit' })
  process.exit(rerun.status ?? 1)
}

const { values } = parseArgs({
  options: { frames: { type: 'string', default: '20000' }, batch: { type: 'string', default: '10' } },
})
const frameCount = Number(values.frames)
const batchSize = Number(values.batch)
const mesh = { meshName: 'clawmesh', generation: 1 }
const signer = signerFromPrivateKey(await generateKeyPair('Ed25519'))
const now = Date.now()
const batches: Uint8Array[] = []
for (let first = 0; first < frameCount; first += batchSize) {
  const fields: FrameFields[] = []
  for (let index = first; index < Math.min(frameCount, first + batchSize); index++) {
    fields.push({
      ...mesh,
      kind: 'observation',
      originName: 'field-3',
      timestamp: now - frameCount + index,
      data: { zone: `zone-${index % 8}`, metric: 'soil-moisture', value: index % 100, unit: '%' },
      trust: { tier: 'T1', sources: [`sensor:soil-moisture:zone-${index % 8}`] },
    })
  }
  batches.push((await sealBatch(signer, fields)).bytes)
}

const world = new WorldModel()
const collect = gc as () => void
collect()
collect()
const before = process.memoryUsage().heapUsed
for (const bytes of batches) {
  const decoded = await decodeBatch(bytes, {
    ...mesh,
    now: Date.now(),
    isTrustedOrigin: () => true,
    isDuplicate: (frameId) => world.has(frameId),
  })
  for (const verdict of decoded.frames) if (verdict.verdict === 'accept') world.ingest(verdict.frame as Frame)
}
collect()
collect()
const retained = process.memoryUsage().heapUsed - before
const result = {
  frames: world.historySize,
  batchSize,
  retainedBytesPerFrame: Math.round(retained / world.historySize),
}
console.table({ 'world model, frames decoded from signed batches': result })
const out = join(import.meta.dirname, 'results', 'world-retained.json')
await mkdir(dirname(out), { recursive: true })
await writeFile(out, `${JSON.stringify(result, null, 2)}\n`)
