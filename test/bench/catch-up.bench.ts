/**
 * Benchmark: a node heard again after a silence catches up from its peer (ContextService.syncFrom),
 * two real libp2p nodes in this process over loopback WebSockets, the peer's RPC server with the
 * node's own handlers. The peer holds `--history` seconds of a site publishing `--rate` frames/s in
 * batches of `--batch` (each frame carries its batch proof, as gossip delivers them); the asker holds
 * all of it except a `--silence`-second gap that ended 1 s ago, and asks from where the gap began (the
 * catch-up subtracts its 5 s clock-skew margin).
 *
 * Two ways of asking, alternating over `--runs`:
 * - `listing`: `context.sync.ids` pages, then `context.sync.frames` for the frames the asker lacks;
 * - `one-answer`: the peer serves `context.sync` alone (an older node), one call, the newest frames
 *   that fit one answer.
 *
 * Prints a table (medians) and writes test/bench/results/catch-up.json: gap frames recovered and
 * still missing, frames sent, answer bytes, RPC calls, wall time and CPU of the process (both nodes).
 *
 *   node test/bench/catch-up.bench.ts [--rate 500] [--batch 10] [--history 20] [--silence 3] [--runs 5]
 */
import { mkdir, writeFile } from 'node:fs/promises'
import { dirname, join } from 'node:path'
import { parseArgs } from 'node:util'
import type { PrivateKey } from '@libp2p/interface'
import { type Frame, type FrameFields, sealBatch } from '../../protocol/context/index.ts'
import { PROTOCOL_GENERATION, rpcProtocolId } from '../../protocol/mesh.ts'
import { signerFromPrivateKey } from '../../protocol/signing.ts'
import { Counters } from '../../runtime/counters.ts'
import { installNativeCrypto } from '../../runtime/libp2p/native-crypto.ts'
import { type RpcHandlers, startRpcServer } from '../../runtime/rpc/rpc-server.ts'
import { CONTEXT_TEST_MESH, startContextNode, stopContextNodes } from '../helpers/context-node.ts'
import { percentile } from './stats.ts'

installNativeCrypto()

const { values } = parseArgs({
  options: {
    rate: { type: 'string', default: '500' },
    batch: { type: 'string', default: '10' },
    history: { type: 'string', default: '20' },
    silence: { type: 'string', default: '3' },
    runs: { type: 'string', default: '5' },
  },
})
const rate = Number(values.rate)
const batchSize = Number(values.batch)
const historyMs = Number(values.history) * 1_000
const silenceMs = Number(values.silence) * 1_000
const runs = Number(values.runs)
const mesh = CONTEXT_TEST_MESH
const encoder = new TextEncoder()
const MODES = ['listing', 'one-answer'] as const
type Mode = (typeof MODES)[number]

/** The site's history as gossip delivers it: batches of `batchSize`, one every batchSize/rate s. */
async function siteHistory(privateKey: PrivateKey, now: number) {
  const signer = signerFromPrivateKey(privateKey)
  const frames: Frame[] = []
  const count = Math.round((historyMs / 1_000) * rate)
  const stepMs = 1_000 / rate
  for (let first = 0; first < count; first += batchSize) {
    const fields: FrameFields[] = []
    for (let index = first; index < Math.min(count, first + batchSize); index++) {
      fields.push({
        ...mesh,
        kind: 'observation',
        originName: 'field',
        timestamp: Math.round(now - historyMs + first * stepMs),
        data: { zone: `zone-${index % 8}`, metric: 'soil-moisture', value: index % 100, unit: '%' },
        trust: { tier: 'T1', sources: [`sensor:soil-moisture:zone-${index % 8}`] },
      })
    }
    frames.push(...(await sealBatch(signer, fields)).frames)
  }
  return frames
}

async function run(mode: Mode) {
  const peer = await startContextNode('peer')
  const asker = await startContextNode('asker')
  const answered = { calls: 0, bytes: 0, frames: 0 }
  const note = <T extends object>(answer: T, frames: number): T => {
    answered.calls++
    answered.bytes += encoder.encode(JSON.stringify(answer)).length
    answered.frames += frames
    return answer
  }
  const handlers: Partial<RpcHandlers> = {
    'context.sync': (params) => {
      const frames = peer.service.framesForSync(params?.since, params?.limit)
      return note({ frames }, frames.length)
    },
    ...(mode === 'listing'
      ? {
          'context.sync.ids': (params) => note(peer.service.heldFrameIds(params.since, params.until), 0),
          'context.sync.frames': (params) => {
            const answer = peer.service.heldFramesById(params.frameIds)
            return note(answer, answer.frames.length)
          },
        }
      : {}),
  }
  await startRpcServer({
    libp2p: peer.libp2p,
    protocol: rpcProtocolId(PROTOCOL_GENERATION),
    counters: new Counters(),
    authorize: async () => 'peer',
    handlers,
  })
  const now = Date.now()
  const history = await siteHistory(peer.privateKey, now)
  const gapFrom = now - 1_000 - silenceMs
  const gapUntil = now - 1_000
  const inGap = (frame: Frame) => frame.timestamp >= gapFrom && frame.timestamp < gapUntil
  for (const frame of history) {
    peer.world.ingest(frame)
    if (!inGap(frame)) asker.world.ingest(frame)
  }
  await asker.libp2p.dial(peer.libp2p.getMultiaddrs())
  const gap = history.filter(inGap)
  const cpuBefore = process.cpuUsage()
  const started = performance.now()
  const result = await asker.service.syncFrom(peer.libp2p.peerId.toString(), gapFrom)
  const wallMs = performance.now() - started
  const cpu = process.cpuUsage(cpuBefore)
  const missing = gap.filter((frame) => !asker.world.has(frame.frameId)).length
  await stopContextNodes()
  return {
    mode,
    gapFrames: gap.length,
    recovered: gap.length - missing,
    stillMissing: missing,
    framesSent: answered.frames,
    duplicatesSent: result.received - result.ingested,
    answerKiB: answered.bytes / 1024,
    rpcCalls: answered.calls,
    wallMs,
    cpuMs: (cpu.user + cpu.system) / 1_000,
  }
}

const results: Awaited<ReturnType<typeof run>>[] = []
for (let round = 0; round < runs; round++) {
  for (const mode of round % 2 === 0 ? MODES : [...MODES].reverse()) {
    const result = await run(mode)
    results.push(result)
    console.error(`${mode}: ${JSON.stringify(result)}`)
  }
}

const median = (mode: Mode, key: keyof Omit<Awaited<ReturnType<typeof run>>, 'mode'>) =>
  percentile(
    results.filter((result) => result.mode === mode).map((result) => result[key]),
    50,
  )
const table = Object.fromEntries(
  MODES.map((mode) => [
    mode,
    {
      'gap frames': median(mode, 'gapFrames'),
      recovered: median(mode, 'recovered'),
      'still missing': median(mode, 'stillMissing'),
      'frames sent': median(mode, 'framesSent'),
      'held frames sent again': median(mode, 'duplicatesSent'),
      'answer KiB': median(mode, 'answerKiB').toFixed(0),
      'RPC calls': median(mode, 'rpcCalls'),
      'wall ms': median(mode, 'wallMs').toFixed(1),
      'CPU ms (both nodes)': median(mode, 'cpuMs').toFixed(1),
    },
  ]),
)
console.log(
  `catch-up after a ${silenceMs / 1_000} s silence, ${rate} frames/s in batches of ${batchSize}, ${historyMs / 1_000} s held by the peer; medians of ${runs} runs`,
)
console.table(table)
const out = join(dirname(new URL(import.meta.url).pathname), 'results', 'catch-up.json')
await mkdir(dirname(out), { recursive: true })
await writeFile(
  out,
  `${JSON.stringify({ rate, batchSize, historyMs, silenceMs, runs, medians: table, results }, null, 2)}\n`,
)
process.exit(0)
