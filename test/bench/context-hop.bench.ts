/**
 * Micro-benchmark: CPU cost per context frame at the publisher and at each relay hop, in one
 * process, with no network. It runs exactly the per-batch work the node does
 * (node/context/context-service.ts): the publisher seals a batch (`sealBatch`: build, hash, sign
 * once, attach proofs), ingests its own frames and hands the bytes to gossipsub; a relay hop decodes
 * and verifies the batch (`decodeBatch`) and ingests the accepted frames into its world model before
 * gossipsub forwards the received bytes unchanged. Frames are the fan-out bench's 512-byte
 * observations. Every batch is new to the receiving world model and to the batch-signature cache, so
 * every batch pays one Ed25519 verification, as on the wire.
 *
 * CPU time (process.cpuUsage: user + system) is what is reported: on a machine shared with other
 * processes it moves far less than wall-clock time. A stage breakdown times each step of the hop on
 * its own over the same inputs.
 *
 *   node test/bench/context-hop.bench.ts [--batch-sizes 1,3,16,64] [--frames 6400] [--rounds 5]
 *                                        [--ed25519 native,portable]
 *
 * `--ed25519` picks the signature path: `native` is what a node installs at start
 * (runtime/libp2p/native-ed25519.ts: OpenSSL with key objects parsed once), `portable` is protocol/'s
 * default (@libp2p/crypto, which re-imports the key on every call). Given both, every round runs
 * each in turn, so the two are compared under the same machine load.
 *
 * It also reports the heap a hop allocates per frame (garbage for the young generation to collect:
 * every byte of it is scavenged on a real node). That is measured in a child process of this
 * script under `--expose-gc --min-semi-space-size=128 --max-semi-space-size=128`, so no collection
 * falls inside the measured stretch.
 *
 * Prints a table and writes test/bench/results/context-hop.json.
 */

import { spawnSync } from 'node:child_process'
import { mkdir, writeFile } from 'node:fs/promises'
import { cpus, loadavg } from 'node:os'
import { resolve } from 'node:path'
import { parseArgs } from 'node:util'
import { getHeapStatistics } from 'node:v8'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { WorldModel } from '../../node/world/world-model.ts'
import { canonicalBytes, sha256Hex } from '../../protocol/canonical.ts'
import { decodeJsonMessage } from '../../protocol/codec.ts'
import {
  acceptBatchedFrameFast,
  BATCH_MAX_BYTES,
  type BatchProof,
  batchedFrameSchema,
  batchProofSchema,
  buildUnsignedFrame,
  decodeBatch,
  type Frame,
  type FrameFields,
  frameBody,
  sealBatch,
  verifyBatchSignature,
} from '../../protocol/context/index.ts'
import { DEFAULT_MESH_NAME, PROTOCOL_GENERATION } from '../../protocol/mesh.ts'
import { signerFromPrivateKey, useNativeEd25519 } from '../../protocol/signing.ts'
import { createNativeEd25519 } from '../../runtime/libp2p/native-ed25519.ts'
import { installNativeSha256 } from '../../runtime/libp2p/native-hash.ts'

/** The allocation measurement runs in a child with a young generation large enough that no
 * scavenge falls inside it; the CPU figures come from this process, under the flags it was given
 * (`--max-semi-space-size=1` measures a hop as a deployed node runs it). */
const ALLOCATION_FLAGS = ['--expose-gc', '--min-semi-space-size=128', '--max-semi-space-size=128']
const ALLOCATION_CHILD_ENV = 'CONTEXT_HOP_ALLOCATION_CHILD'
const isAllocationChild = process.env[ALLOCATION_CHILD_ENV] === '1'

const { values } = parseArgs({
  options: {
    'batch-sizes': { type: 'string', default: '1,3,16,64' },
    frames: { type: 'string', default: '6400' },
    rounds: { type: 'string', default: '5' },
    ed25519: { type: 'string', default: 'native' },
  },
})
// As a node does at start (node/libp2p/create-node-libp2p.ts).
installNativeSha256()
const batchSizes = values['batch-sizes'].split(',').map(Number)
const framesPerRound = Number(values.frames)
const rounds = Number(values.rounds)
type Ed25519Path = 'native' | 'portable'
const ed25519Paths = values.ed25519.split(',').map((path) => {
  if (path !== 'native' && path !== 'portable') throw new Error(`--ed25519: unknown path ${path}`)
  return path as Ed25519Path
})
const nativeEd25519 = createNativeEd25519()
function useEd25519(path: Ed25519Path): void {
  useNativeEd25519(path === 'native' ? nativeEd25519 : undefined)
}

/** Same as the fan-out bench: a frame is this long as it sits in the batch. */
const FRAME_WIRE_BYTES = 512
const mesh = { meshName: DEFAULT_MESH_NAME, generation: PROTOCOL_GENERATION }
const signer = signerFromPrivateKey(await generateKeyPair('Ed25519'))
const verifyOptions = () => ({
  ...mesh,
  now: Date.now(),
  isTrustedOrigin: () => true,
})

let sequence = 0
function fields(note: string): FrameFields {
  return {
    ...mesh,
    kind: 'observation',
    originName: 'bench',
    data: { zone: 'zone-1', metric: 'soil-moisture', value: sequence++ + Math.random(), unit: '%' },
    trust: { tier: 'T1', sources: ['sensor:soil-moisture:zone-1'] },
    note,
  }
}
const probe = buildUnsignedFrame(signer.id, fields(''))
const padding = 'x'.repeat(Math.max(0, FRAME_WIRE_BYTES - JSON.stringify(probe).length))
const paddedFields = () => fields(`r:${sequence}:${padding}`)

function cpuMicros(since: NodeJS.CpuUsage): number {
  const used = process.cpuUsage(since)
  return used.user + used.system
}

interface Sealed {
  bytes: Uint8Array
  frames: readonly Frame[]
}

/** The publisher's work for `batchCount` batches of `size` frames. */
async function publish(batchCount: number, size: number, world: WorldModel): Promise<Sealed[]> {
  const sealed: Sealed[] = []
  for (let b = 0; b < batchCount; b++) {
    const fieldsList = Array.from({ length: size }, paddedFields)
    const batch = await sealBatch(signer, fieldsList)
    for (const frame of batch.frames) world.ingest(frame)
    sealed.push(batch)
  }
  return sealed
}

/** One relay hop's work: decode and verify each batch, ingest what is accepted. */
async function hop(batches: readonly Sealed[], world: WorldModel): Promise<number> {
  let accepted = 0
  for (const { bytes } of batches) {
    const decoded = await decodeBatch(bytes, {
      ...verifyOptions(),
      isDuplicate: (frameId) => world.has(frameId),
    })
    if (decoded.verdict === 'reject') throw new Error(`bench batch rejected: ${decoded.reason}`)
    for (const verdict of decoded.frames) {
      if (verdict.verdict === 'accept' && world.ingest(verdict.frame)) accepted++
    }
  }
  return accepted
}

/** Each step of a hop alone, over the frames of `batches`, in µs per frame. */
async function hopBreakdown(batches: readonly Sealed[]): Promise<Record<string, number>> {
  const frameCount = batches.reduce((sum, batch) => sum + batch.frames.length, 0)
  const perFrame = (micros: number) => round2(micros / frameCount)
  const stages: Record<string, number> = {}
  let start = process.cpuUsage()
  const parsed = batches.map(({ bytes }) => decodeJsonMessage(bytes, BATCH_MAX_BYTES)) as Array<{
    origin: string
    frames: Array<Record<string, unknown>>
    batchSignature: string
  }>
  stages['utf8 + JSON.parse'] = perFrame(cpuMicros(start))
  start = process.cpuUsage()
  const proofs = parsed.map((batch) =>
    batchProofSchema.parse({
      batchHashes: batch.frames.map((frame) => frame.frameId),
      batchSignature: batch.batchSignature,
    }),
  )
  stages['batch proof schema (once per batch)'] = perFrame(cpuMicros(start))
  start = process.cpuUsage()
  // As checkFrame does: observations and events in the schema's key order take the fast path.
  const frames = parsed.flatMap((batch) =>
    batch.frames.map((frame) => acceptBatchedFrameFast(frame) ?? batchedFrameSchema.parse(frame)),
  )
  stages['frame schema (fast path, else zod)'] = perFrame(cpuMicros(start))
  start = process.cpuUsage()
  for (const frame of frames) sha256Hex(canonicalBytes(frameBody(frame)))
  stages['canonical body + SHA-256 (size check and frame ID)'] = perFrame(cpuMicros(start))
  start = process.cpuUsage()
  for (const [index, batch] of parsed.entries()) {
    const proof = proofs[index] as BatchProof
    if (!(await verifyBatchSignature(batch.origin, proof.batchHashes, proof.batchSignature)))
      throw new Error('bad batch signature')
  }
  stages['batch signature (one Ed25519 per batch)'] = perFrame(cpuMicros(start))
  const world = new WorldModel()
  start = process.cpuUsage()
  for (const frame of frames) world.ingest(frame as Frame)
  stages['world model ingest'] = perFrame(cpuMicros(start))
  return stages
}

/** Heap bytes one hop allocates per frame (decoding, checking and ingesting `batches` into a fresh
 * world model), and how many of them that model keeps (measured after a full collection).
 * Allocation child only. */
async function hopAllocation(batches: readonly Sealed[]): Promise<{ allocated: number; kept: number }> {
  const collectGarbage = globalThis.gc as () => void
  const frameCount = batches.reduce((sum, batch) => sum + batch.frames.length, 0)
  const world = new WorldModel()
  collectGarbage()
  const before = getHeapStatistics().used_heap_size
  await hop(batches, world)
  const after = getHeapStatistics().used_heap_size
  collectGarbage()
  const kept = getHeapStatistics().used_heap_size - before
  return { allocated: Math.round((after - before) / frameCount), kept: Math.round(kept / frameCount) }
}

type Allocation = { allocated: number; kept: number }

/** Per batch size, the median round's allocation (the child's side of the measurement). */
async function measureAllocations(): Promise<Record<number, Allocation>> {
  const bySize: Record<number, Allocation> = {}
  for (const size of batchSizes) {
    // About 2,000 frames per measurement: well inside the young generation.
    const batchCount = Math.max(1, Math.round(2_000 / size))
    const measured: Allocation[] = []
    for (let round = 0; round < rounds; round++) {
      measured.push(await hopAllocation(await publish(batchCount, size, new WorldModel())))
    }
    const middle = <T>(values: T[], key: (value: T) => number) =>
      key([...values].sort((a, b) => key(a) - key(b))[values.length >> 1] as T)
    bySize[size] = {
      allocated: middle(measured, (entry) => entry.allocated),
      kept: middle(measured, (entry) => entry.kept),
    }
  }
  return bySize
}

function allocationsFromChild(): Record<number, Allocation> {
  const child = spawnSync(
    process.execPath,
    [...ALLOCATION_FLAGS, import.meta.filename, ...process.argv.slice(2)],
    {
      env: { ...process.env, [ALLOCATION_CHILD_ENV]: '1' },
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'inherit'],
    },
  )
  if (child.status !== 0) throw new Error(`allocation measurement exited with ${child.status}`)
  return JSON.parse(child.stdout) as Record<number, Allocation>
}

function round2(value: number): number {
  return Math.round(value * 100) / 100
}

interface SizeResult {
  ed25519: Ed25519Path
  batchSize: number
  frames: number
  publisherMicrosPerFrame: number
  hopMicrosPerFrame: number
  bytesPerFrame: number
  /** Heap allocated per frame by a hop (median round), and what its world model keeps of it. */
  hopAllocatedBytesPerFrame: number
  hopKeptBytesPerFrame: number
  breakdown: Record<string, number>
}

if (!isAllocationChild) {
  console.log(
    `context hop CPU: ${cpus().length} cores, node ${process.version}, load ${loadavg()[0]?.toFixed(2)}, ` +
      `${framesPerRound} frames × ${rounds} rounds per batch size, Ed25519 ${ed25519Paths.join(' and ')}`,
  )
}
// Warm up the JIT on every path once.
for (const path of ed25519Paths) {
  useEd25519(path)
  await hop(await publish(20, 64, new WorldModel()), new WorldModel())
  await hopBreakdown(await publish(4, 64, new WorldModel()))
}

if (isAllocationChild) {
  process.stdout.write(JSON.stringify(await measureAllocations()))
  process.exit(0)
}
const allocations = allocationsFromChild()

const results: SizeResult[] = []
for (const size of batchSizes) {
  const batchCount = Math.max(1, Math.round(framesPerRound / size))
  const samples = new Map(
    ed25519Paths.map((path) => [path, { publisher: [] as number[], hop: [] as number[] }]),
  )
  let bytes = 0
  let frameCount = 0
  for (let round = 0; round < rounds; round++) {
    // Interleaved: each path once per round, so a burst of machine load hits both alike.
    for (const path of ed25519Paths) {
      useEd25519(path)
      let start = process.cpuUsage()
      const sealed = await publish(batchCount, size, new WorldModel())
      const publisherMicros = cpuMicros(start)
      frameCount = batchCount * size
      start = process.cpuUsage()
      const accepted = await hop(sealed, new WorldModel())
      const hopMicros = cpuMicros(start)
      if (accepted !== frameCount) throw new Error(`hop accepted ${accepted} of ${frameCount}`)
      samples.get(path)?.publisher.push(publisherMicros / frameCount)
      samples.get(path)?.hop.push(hopMicros / frameCount)
      bytes = sealed.reduce((sum, batch) => sum + batch.bytes.byteLength, 0)
    }
  }
  // The median round: robust to a round that shared its core with someone else's burst.
  const median = (values: number[]) => round2([...values].sort((a, b) => a - b)[values.length >> 1] as number)
  for (const path of ed25519Paths) {
    useEd25519(path)
    const breakdown = await hopBreakdown(await publish(batchCount, size, new WorldModel()))

    const pathSamples = samples.get(path) as { publisher: number[]; hop: number[] }
    const result: SizeResult = {
      ed25519: path,
      batchSize: size,
      frames: frameCount,
      publisherMicrosPerFrame: median(pathSamples.publisher),
      hopMicrosPerFrame: median(pathSamples.hop),
      bytesPerFrame: Math.round(bytes / frameCount),
      hopAllocatedBytesPerFrame: allocations[size]?.allocated ?? Number.NaN,
      hopKeptBytesPerFrame: allocations[size]?.kept ?? Number.NaN,
      breakdown,
    }
    results.push(result)
    console.log(
      `batch ${String(size).padStart(2)}, Ed25519 ${path.padEnd(8)}: publisher ${result.publisherMicrosPerFrame} µs/frame, ` +
        `relay hop ${result.hopMicrosPerFrame} µs/frame, ${result.bytesPerFrame} B/frame on the wire, ` +
        `hop allocates ${result.hopAllocatedBytesPerFrame} B/frame (keeps ${result.hopKeptBytesPerFrame})`,
    )
    for (const [stage, micros] of Object.entries(breakdown)) console.log(`    ${stage.padEnd(52)} ${micros}`)
  }
}

const outputDir = resolve(import.meta.dirname, 'results')
await mkdir(outputDir, { recursive: true })
await writeFile(
  resolve(outputDir, 'context-hop.json'),
  `${JSON.stringify(
    {
      date: new Date().toISOString(),
      machine: { cores: cpus().length, cpu: cpus()[0]?.model, node: process.version },
      loadAverage: round2(loadavg()[0] as number),
      options: { batchSizes, framesPerRound, rounds, ed25519: ed25519Paths },
      results,
    },
    null,
    2,
  )}\n`,
)
