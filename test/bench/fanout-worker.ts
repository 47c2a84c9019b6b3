import { writeFile } from 'node:fs/promises'
import { Session } from 'node:inspector/promises'
import { generateKeyPair } from '@libp2p/crypto/keys'
import type { Message } from '@libp2p/gossipsub'
import { multiaddr } from '@multiformats/multiaddr'
import { ContextService } from '../../node/context/context-service.ts'
import { createNodeLibp2p } from '../../node/libp2p/create-node-libp2p.ts'
import { EventRing } from '../../node/mesh/event-ring.ts'
import { WorldModel } from '../../node/world/world-model.ts'
import { buildUnsignedFrame, type FrameFields } from '../../protocol/context/index.ts'
import {
  contextTopic,
  DEFAULT_MESH_NAME,
  type MeshIdentity,
  PROTOCOL_GENERATION,
} from '../../protocol/mesh.ts'
import { signerFromPrivateKey } from '../../protocol/signing.ts'
import { Counters } from '../../runtime/counters.ts'
import { installNativeCrypto } from '../../runtime/libp2p/native-crypto.ts'

// As the node's composition root does: these libp2p stacks are built here, in-process.
installNativeCrypto()

export type FanoutMode = 'clawmesh' | 'clawmesh-signed' | 'raw' | 'raw-signed'
export type FanoutRole = 'publisher' | 'receiver'

export interface WorkerConfig {
  mode: FanoutMode
  role: FanoutRole
  name: string
}

/** Parent → worker. */
export type ParentMessage =
  | { type: 'dial'; addrs: string[] }
  | { type: 'status' }
  | { type: 'mark'; runId: string }
  | { type: 'publish'; runId: string; rate: number; seconds: number }
  | { type: 'count'; runId: string }
  | { type: 'collect'; runId: string }
  | { type: 'exit' }

/** Worker → parent. */
export type WorkerMessage =
  | { type: 'listening'; addr: string; peerId: string }
  | { type: 'dialled' }
  | {
      type: 'status'
      connections: number
      meshPeers: number
      /** gossipsub's target mesh degree (D): a node with more links keeps this many in its mesh. */
      meshDegree: number
      /** Peers gossipsub still tracks, and those it holds an outbound stream to. */
      gossipPeers?: number
      outboundStreams?: number
      /** Link trouble seen since start: read-stream errors (gossipsub then drops the peer), PRUNEs. */
      linkEvents?: string[]
    }
  | {
      type: 'published'
      runId: string
      sent: number
      failed: number
      lateTicks: number
      /** Gossip messages sent for the rate's frames (absent: a baseline worker that predates it). */
      messages?: number
      /** The publisher's coalescing window over the publish ticks (clawmesh modes). */
      window?: { meanMs: number; maxMs: number }
    }
  | { type: 'count'; runId: string; received: number }
  | { type: 'collected'; runId: string; received: number; latenciesMs: number[]; cpuMs: number }
  | { type: 'error'; message: string }

/** Encoded size of one frame (or raw payload) on the wire, before batching. */
export const FRAME_WIRE_BYTES = 512
/** The publisher wakes this often and publishes every frame that has fallen due since. */
const PUBLISH_TICK_MS = 5

const mesh: MeshIdentity = { meshName: DEFAULT_MESH_NAME, generation: PROTOCOL_GENERATION }
const topic = contextTopic(mesh)
const config = JSON.parse(process.argv[2] ?? '{}') as WorkerConfig
const signed = config.mode === 'clawmesh-signed' || config.mode === 'raw-signed'
const usesContextService = config.mode === 'clawmesh' || config.mode === 'clawmesh-signed'

/** Send times use the high-resolution clock anchored at the process's time origin, so processes on
 * one machine agree to well under a millisecond. */
const now = (): number => performance.timeOrigin + performance.now()
/** `FANOUT_LATENCY_DUMP_DIR=DIR`: each receiver writes `[arrival ms, seq, latency ms]` of every frame
 * of a measured rate to DIR/<name>-<runId>-<pid>.json. */
const latencyDumpDir = process.env.FANOUT_LATENCY_DUMP_DIR

function send(message: WorkerMessage): void {
  process.send?.(message)
}

const privateKey = await generateKeyPair('Ed25519')
const listen = ['/ip4/127.0.0.1/tcp/0/ws']
const libp2p = await createNodeLibp2p({
  privateKey,
  mesh,
  listen,
  gater: { denyDialMultiaddr: () => false },
  gossipSigning: signed ? 'strict' : 'off',
})

/** Per run: sequence numbers seen and latency of each. */
interface RunRecord {
  seen: Set<number>
  latenciesMs: number[]
  /** Arrival (ms since the run's mark), sequence number and latency of each frame, kept only with
   * `FANOUT_LATENCY_DUMP_DIR` (to see whether a tail is one stall or spread out). */
  arrivals: Array<[number, number, number]>
  markedAt: number
  cpuStart: NodeJS.CpuUsage
}
const runs = new Map<string, RunRecord>()

function newRun(): RunRecord {
  return { seen: new Set(), latenciesMs: [], arrivals: [], markedAt: now(), cpuStart: process.cpuUsage() }
}

function record(runId: string, seq: number, sentAt: number): void {
  let run = runs.get(runId)
  if (run === undefined) {
    run = newRun()
    runs.set(runId, run)
  }
  if (run.seen.has(seq)) return
  run.seen.add(seq)
  const at = now()
  run.latenciesMs.push(at - sentAt)
  if (latencyDumpDir !== undefined) run.arrivals.push([at - run.markedAt, seq, at - sentAt])
}

/** The run tag and sequence number travel in a prefix of the padding: `runId:seq:`. */
function parseTag(tagged: string): { runId: string; seq: number } | undefined {
  const [runId, seq] = tagged.split(':', 2)
  if (runId === undefined || seq === undefined) return undefined
  return { runId, seq: Number(seq) }
}

let publishOne: (runId: string, seq: number) => Promise<unknown>
/** Gossip messages the context service sent so far and its current coalescing window; undefined
 * for raw gossipsub, where every frame is a message. */
let publishing: () => { batches: number; windowMs: number } | undefined = () => undefined

if (usesContextService) {
  const signer = signerFromPrivateKey(privateKey)
  const counters = new Counters()
  const service = new ContextService({
    libp2p,
    mesh,
    signer,
    displayName: config.name,
    world: new WorldModel(),
    counters,
    events: new EventRing(500),
    isTrustedOrigin: () => true,
    log: () => {},
  })
  service.start()
  service.onFrame((frame) => {
    if (frame.kind !== 'observation' || frame.origin === signer.id) return
    const tag = parseTag(frame.note ?? '')
    if (tag !== undefined) record(tag.runId, tag.seq, frame.data.value)
  })
  const fields = (runId: string, seq: number, note: string): FrameFields => ({
    generation: mesh.generation,
    meshName: mesh.meshName,
    kind: 'observation',
    originName: config.name,
    data: { zone: 'zone-1', metric: 'soil-moisture', value: now(), unit: '%' },
    trust: { tier: 'T1', sources: ['sensor:soil-moisture:zone-1'] },
    note: `${runId}:${seq}:${note}`,
  })
  // Pad so a frame, as it sits in the batch on the wire, is FRAME_WIRE_BYTES long.
  const probe = buildUnsignedFrame(signer.id, fields('warmup', 100_000, ''))
  const padding = 'x'.repeat(Math.max(0, FRAME_WIRE_BYTES - JSON.stringify(probe).length))
  publishOne = (runId, seq) => service.publish(fields(runId, seq, padding))
  publishing = () => ({
    batches: counters.get('frames.published.batches'),
    windowMs: service.publishing.windowMs,
  })
} else {
  const pubsub = libp2p.services.pubsub
  pubsub.subscribe(topic)
  const encoder = new TextEncoder()
  const decoder = new TextDecoder()
  pubsub.addEventListener('message', (event: CustomEvent<Message>) => {
    if (event.detail.topic !== topic) return
    const payload = JSON.parse(decoder.decode(event.detail.data)) as { tag: string; sentAt: number }
    const tag = parseTag(payload.tag)
    if (tag !== undefined) record(tag.runId, tag.seq, payload.sentAt)
  })
  publishOne = (runId, seq) => {
    const body = JSON.stringify({ tag: `${runId}:${seq}:`, sentAt: now(), pad: '' })
    const padded = body.replace(
      '"pad":""',
      `"pad":"${'x'.repeat(Math.max(0, FRAME_WIRE_BYTES - body.length))}"`,
    )
    return pubsub.publish(topic, encoder.encode(padded))
  }
}

/** Diagnostics for overload: gossipsub drops a peer whose inbound stream errors and PRUNEs peers
 * from the mesh; both are recorded with the time since start. Reaches into gossipsub internals
 * (bench only). */
const linkEvents: string[] = []
const startedAt = performance.now()
const since = () => `${Math.round(performance.now() - startedAt)} ms`
{
  const internals = libp2p.services.pubsub as unknown as {
    handlePeerReadStreamError(error: Error, peerId: unknown): void
    streamsOutbound: Map<string, unknown>
  }
  const original = internals.handlePeerReadStreamError.bind(internals)
  internals.handlePeerReadStreamError = (error, peerId) => {
    linkEvents.push(`${since()}: read stream from ${String(peerId).slice(-6)} failed: ${error.message}`)
    original(error, peerId)
  }
  libp2p.services.pubsub.addEventListener('gossipsub:prune', (event) => {
    const detail = (event as CustomEvent<{ peerId: unknown; direction: string }>).detail
    linkEvents.push(`${since()}: prune ${detail.direction} ${String(detail.peerId).slice(-6)}`)
  })
  libp2p.addEventListener('peer:disconnect', (event) =>
    linkEvents.push(`${since()}: disconnected from ${event.detail.toString().slice(-6)}`),
  )
}

await libp2p.start()
const address = libp2p.getMultiaddrs().find((addr) => addr.toString().includes('/ws'))
send({ type: 'listening', addr: address?.toString() ?? '', peerId: libp2p.peerId.toString() })

/** Publishes `rate` frames per second for `seconds`, in bursts of whatever fell due each tick. */
async function publishAtRate(runId: string, rate: number, seconds: number): Promise<void> {
  const total = Math.round(rate * seconds)
  const started = performance.now()
  let sent = 0
  let failed = 0
  let lateTicks = 0
  const batchesBefore = publishing()?.batches ?? 0
  const windowsMs: number[] = []
  const pending: Promise<unknown>[] = []
  await new Promise<void>((done) => {
    let lastTick = started
    const timer = setInterval(() => {
      const tickAt = performance.now()
      if (tickAt - lastTick > PUBLISH_TICK_MS * 3) lateTicks++
      lastTick = tickAt
      const window = publishing()?.windowMs
      if (window !== undefined) windowsMs.push(window)
      const due = Math.min(total, Math.floor(((tickAt - started) / 1_000) * rate))
      while (sent < due) {
        pending.push(
          publishOne(runId, sent).catch(() => {
            failed++
          }),
        )
        sent++
      }
      if (sent >= total) {
        clearInterval(timer)
        done()
      }
    }, PUBLISH_TICK_MS)
  })
  await Promise.all(pending)
  const after = publishing()
  send({
    type: 'published',
    runId,
    sent,
    failed,
    lateTicks,
    messages: after === undefined ? sent : after.batches - batchesBefore,
    window:
      windowsMs.length === 0
        ? undefined
        : {
            meanMs: windowsMs.reduce((sum, window) => sum + window, 0) / windowsMs.length,
            maxMs: Math.max(...windowsMs),
          },
  })
}

/** `FANOUT_CPU_PROFILE_DIR=DIR`: each worker writes a CPU profile of every measured rate (from its
 * mark to its collect) to DIR/<name>-<runId>.cpuprofile, for Chrome DevTools or a summary script.
 * `FANOUT_HEAP_PROFILE_DIR=DIR`: the same for allocations (V8's sampling heap profiler, counting
 * objects the garbage collector has already freed, so it shows what each frame allocates), to
 * DIR/<name>-<runId>.heapprofile. */
const profileDir = process.env.FANOUT_CPU_PROFILE_DIR
const heapProfileDir = process.env.FANOUT_HEAP_PROFILE_DIR
let profiler: Session | undefined
/** Finer than V8's default 1 ms: a hop at low rates is a few hundred µs of work. */
const PROFILE_SAMPLING_INTERVAL_US = 100
/** Bytes between allocation samples; finer than V8's default 32 KiB, since a frame is 512 bytes. */
const HEAP_PROFILE_SAMPLING_BYTES = 4096

async function startProfile(): Promise<void> {
  profiler = new Session()
  profiler.connect()
  if (profileDir !== undefined) {
    await profiler.post('Profiler.enable')
    await profiler.post('Profiler.setSamplingInterval', { interval: PROFILE_SAMPLING_INTERVAL_US })
    await profiler.post('Profiler.start')
  }
  if (heapProfileDir !== undefined) {
    await profiler.post('HeapProfiler.enable')
    await profiler.post('HeapProfiler.startSampling', {
      samplingInterval: HEAP_PROFILE_SAMPLING_BYTES,
      includeObjectsCollectedByMajorGC: true,
      includeObjectsCollectedByMinorGC: true,
    })
  }
}

async function stopProfile(runId: string): Promise<void> {
  const session = profiler as Session
  profiler = undefined
  if (profileDir !== undefined) {
    const { profile } = await session.post('Profiler.stop')
    await writeFile(`${profileDir}/${config.name}-${runId}.cpuprofile`, JSON.stringify(profile))
  }
  if (heapProfileDir !== undefined) {
    const { profile } = await session.post('HeapProfiler.stopSampling')
    await writeFile(`${heapProfileDir}/${config.name}-${runId}.heapprofile`, JSON.stringify(profile))
  }
  session.disconnect()
}

process.on('message', (message: ParentMessage) => {
  void handle(message).catch((error: unknown) => send({ type: 'error', message: String(error) }))
})

async function handle(message: ParentMessage): Promise<void> {
  switch (message.type) {
    case 'dial':
      await Promise.all(message.addrs.map((addr) => libp2p.dial(multiaddr(addr))))
      send({ type: 'dialled' })
      return
    case 'status':
      send({
        type: 'status',
        connections: libp2p.getConnections().length,
        // Mesh membership is not on the public GossipSub interface; the implementation has it.
        meshPeers: (
          libp2p.services.pubsub as unknown as { getMeshPeers(topic: string): string[] }
        ).getMeshPeers(topic).length,
        meshDegree: (libp2p.services.pubsub as unknown as { opts: { D: number } }).opts.D,
        gossipPeers: libp2p.services.pubsub.getPeers().length,
        outboundStreams: (libp2p.services.pubsub as unknown as { streamsOutbound: Map<string, unknown> })
          .streamsOutbound.size,
        linkEvents: linkEvents.splice(0),
      })
      return
    case 'mark':
      runs.set(message.runId, newRun())
      if ((profileDir ?? heapProfileDir) !== undefined && message.runId !== 'idle') await startProfile()
      return
    case 'publish':
      await publishAtRate(message.runId, message.rate, message.seconds)
      return
    case 'count':
      send({ type: 'count', runId: message.runId, received: runs.get(message.runId)?.seen.size ?? 0 })
      return
    case 'collect': {
      const run = runs.get(message.runId)
      runs.delete(message.runId)
      const cpu = process.cpuUsage(run?.cpuStart)
      if (profiler !== undefined) await stopProfile(message.runId)
      if (latencyDumpDir !== undefined && run !== undefined && run.arrivals.length > 0)
        await writeFile(
          `${latencyDumpDir}/${config.name}-${message.runId}-${process.pid}.json`,
          JSON.stringify(run.arrivals),
        )
      send({
        type: 'collected',
        runId: message.runId,
        received: run?.seen.size ?? 0,
        latenciesMs: run?.latenciesMs ?? [],
        cpuMs: (cpu.user + cpu.system) / 1_000,
      })
      return
    }
    case 'exit':
      await Promise.race([libp2p.stop(), new Promise((resolve) => setTimeout(resolve, 3_000))])
      process.exit(0)
  }
}
