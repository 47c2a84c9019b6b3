/**
 * What every fan-out bench worker shares, whatever carries its frames (gossipsub through libp2p in
 * test/bench/fanout-worker.ts, an MQTT broker in test/bench/fanout-mqtt-worker.ts): the clock, the
 * pacing of the publisher, the per-run records of a receiver, CPU accounting and profiles, and the
 * answers to the parent's `mark` / `publish` / `count` / `collect` messages. Keeping them in one
 * place is what makes the systems comparable: same frames per tick, same clock, same rules.
 */
import { writeFile } from 'node:fs/promises'
import { Session } from 'node:inspector/promises'
import { type PerformanceEntry, PerformanceObserver, constants as perfConstants } from 'node:perf_hooks'
import type { EarlyBatchCounts } from '../../node/context/publish-coalescer.ts'
import { now } from './shared-clock.ts'

export const FANOUT_MODES = [
  'clawmesh',
  'clawmesh-flat',
  'clawmesh-signed',
  'raw',
  'raw-hub',
  'raw-signed',
  'mqtt',
] as const
export type FanoutMode = (typeof FANOUT_MODES)[number]

/** `FANOUT_WS_DIALER=1` (an experiment): every libp2p worker dials through the `ws` client
 * (runtime/libp2p/ws-dialer.ts, as the CLI's client does) instead of Node's built-in WebSocket
 * (undici), which a node and @libp2p/websockets use by default. Unset or `0`: the default. */
export function dialsThroughWs(value = process.env.FANOUT_WS_DIALER): boolean {
  if (value === undefined || value === '0') return false
  if (value === '1') return true
  throw new Error(`FANOUT_WS_DIALER takes 0 or 1; not ${JSON.stringify(value)}`)
}

export type FanoutRole = 'publisher' | 'receiver'

export interface WorkerConfig {
  mode: FanoutMode
  role: FanoutRole
  name: string
  /** `mqtt` mode: the broker's URL (test/bench/fanout-mqtt-worker.ts). */
  brokerUrl?: string
  /** The node's part in a site's gossip (create-node-libp2p.ts, GossipSite): `clawmesh` and
   * `clawmesh-signed` in a topology with a command center; the hub's peer ID comes with `dial`. */
  site?: 'hub' | 'spoke'
}

/** Parent → worker. */
export type ParentMessage =
  | { type: 'dial'; addrs: string[]; hub?: string }
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
      /** Of those messages, the early batches and missed predictions (clawmesh modes). */
      early?: EarlyBatchCounts
    }
  | { type: 'count'; runId: string; received: number }
  | {
      type: 'collected'
      runId: string
      received: number
      latenciesMs: number[]
      cpuMs: number
      /** Frames of runs already collected that arrived since start (not in any run's count). */
      framesAfterCollect?: number
    }
  | { type: 'error'; message: string }

/** `site10` (the fan-out bench, the soak): [dialer, dialled] links of a site of 10. Node 1 is the
 * command center, which every other node links to (as its static peer); the 9 field nodes (the
 * publisher, 0, among them) form a ring with three chords, so each also links to 2–3 neighbours
 * (what mDNS or a neighbour list gives). The publisher reaches the command center and its 2 ring
 * neighbours in 1 hop and everyone else in 2. */
const SITE10_FIELD_NODES = [0, 2, 3, 4, 5, 6, 7, 8, 9]
export const SITE10_EDGES: ReadonlyArray<readonly [number, number]> = [
  ...SITE10_FIELD_NODES.map((node): [number, number] => [node, 1]),
  ...SITE10_FIELD_NODES.map((node, i, ring): [number, number] => [
    node,
    ring[(i + 1) % ring.length] as number,
  ]),
  [2, 6],
  [4, 8],
  [5, 9],
]

/** Encoded size of one frame (or raw payload) on the wire, before batching. */
export const FRAME_WIRE_BYTES = 512
/** The publisher wakes this often and publishes every frame that has fallen due since. */
const PUBLISH_TICK_MS = 5

/** Send times, on the clock every process of a run shares (shared-clock.ts). */
export { now }

/** `now()` − `performance.now()`: places a performance-timeline entry (a GC pause) on the shared clock. */
const PERFORMANCE_TIMELINE_ON_SHARED_CLOCK_MS = now() - performance.now()

/** `FANOUT_LATENCY_DUMP_DIR=DIR`: each worker writes, per measured rate, DIR/<name>-<runId>-<pid>.json:
 * `{ markedAt, markedAtWallMs, arrivals, gcPauses }` — its mark on the shared clock (`now()`) and on
 * the wall clock, `[arrival ms since the mark, seq, latency ms]` of every frame it received, and
 * `[start ms since the mark, duration ms, kind]` of every garbage-collection pause V8 reported
 * meanwhile (the publisher's too), so a tail frame can be laid beside the pauses of every process on
 * its path. */
const latencyDumpDir = process.env.FANOUT_LATENCY_DUMP_DIR

/** Garbage-collection kinds as `PerformanceEntry.detail.kind` numbers them. */
const GC_KINDS: Readonly<Record<number, string>> = {
  [perfConstants.NODE_PERFORMANCE_GC_MINOR]: 'minor',
  [perfConstants.NODE_PERFORMANCE_GC_MAJOR]: 'major',
  [perfConstants.NODE_PERFORMANCE_GC_INCREMENTAL]: 'incremental',
  [perfConstants.NODE_PERFORMANCE_GC_WEAKCB]: 'weak-callbacks',
}

/** An unsigned frame stand-in (raw and mqtt modes): its run tag, its send time, padded to
 * FRAME_WIRE_BYTES as JSON. */
export function rawPayload(runId: string, seq: number): string {
  const body = JSON.stringify({ tag: `${runId}:${seq}:`, sentAt: now(), pad: '' })
  return body.replace('"pad":""', `"pad":"${'x'.repeat(Math.max(0, FRAME_WIRE_BYTES - body.length))}"`)
}

export function sendToParent(message: WorkerMessage): void {
  process.send?.(message)
}

/** The run tag and sequence number travel in a prefix of the padding: `runId:seq:`. */
export function parseTag(tagged: string): { runId: string; seq: number } | undefined {
  const [runId, seq] = tagged.split(':', 2)
  if (runId === undefined || seq === undefined) return undefined
  return { runId, seq: Number(seq) }
}

export interface WorkerCoreInit {
  readonly name: string
  /** Publishes frame `seq` of run `runId`, carrying its send time. */
  readonly publishOne: (runId: string, seq: number) => Promise<unknown>
  /** Messages sent so far and the current coalescing window, when the carrier batches frames;
   * undefined when every frame is one message. */
  readonly publishing?: () => { batches: number; windowMs: number; early?: EarlyBatchCounts } | undefined
}

export type CoreMessage = Extract<ParentMessage, { type: 'mark' | 'publish' | 'count' | 'collect' }>

/** Per run: sequence numbers seen and latency of each. */
interface RunRecord {
  seen: Set<number>
  latenciesMs: number[]
  /** Arrival (ms since the run's mark), sequence number and latency of each frame, kept only with
   * `FANOUT_LATENCY_DUMP_DIR` (to see whether a tail is one stall or spread out). */
  arrivals: Array<[number, number, number]>
  /** Start (ms since the mark), duration (ms) and kind of each GC pause, kept only with
   * `FANOUT_LATENCY_DUMP_DIR`. */
  gcPauses: Array<[number, number, string]>
  gcObserver: PerformanceObserver | undefined
  markedAt: number
  /** The mark on the wall clock (`Date.now()`), for telling the time only. */
  markedAtWallMs: number
  cpuStart: NodeJS.CpuUsage
}

/** `FANOUT_CPU_PROFILE_DIR=DIR`: each worker writes a CPU profile of every measured rate (from its
 * mark to its collect) to DIR/<name>-<runId>.cpuprofile, for Chrome DevTools or a summary script.
 * `FANOUT_HEAP_PROFILE_DIR=DIR`: the same for allocations (V8's sampling heap profiler, counting
 * objects the garbage collector has already freed, so it shows what each frame allocates), to
 * DIR/<name>-<runId>.heapprofile. */
const profileDir = process.env.FANOUT_CPU_PROFILE_DIR
const heapProfileDir = process.env.FANOUT_HEAP_PROFILE_DIR
/** Finer than V8's default 1 ms: a hop at low rates is a few hundred µs of work. */
const PROFILE_SAMPLING_INTERVAL_US = 100
/** Bytes between allocation samples; finer than V8's default 32 KiB, since a frame is 512 bytes. */
const HEAP_PROFILE_SAMPLING_BYTES = 4096

export class WorkerCore {
  readonly #init: WorkerCoreInit
  readonly #runs = new Map<string, RunRecord>()
  /** Runs already collected: a frame of one that arrives late is counted, not recorded (a record
   * opened for it would never be collected, and a soak would see it as a leak). */
  readonly #collected = new Set<string>()
  #framesAfterCollect = 0
  #profiler: Session | undefined

  constructor(init: WorkerCoreInit) {
    this.#init = init
  }

  /** A receiver got frame `seq` of `runId`, sent at `sentAt` (ms, the shared clock). */
  record(runId: string, seq: number, sentAt: number): void {
    let run = this.#runs.get(runId)
    if (run === undefined && this.#collected.has(runId)) {
      this.#framesAfterCollect++
      return
    }
    if (run === undefined) {
      run = newRun()
      this.#runs.set(runId, run)
    }
    if (run.seen.has(seq)) return
    run.seen.add(seq)
    const at = now()
    run.latenciesMs.push(at - sentAt)
    if (latencyDumpDir !== undefined) run.arrivals.push([at - run.markedAt, seq, at - sentAt])
  }

  async handle(message: CoreMessage): Promise<void> {
    switch (message.type) {
      case 'mark':
        // A frame that arrived before the mark opened a record; the mark starts it afresh.
        this.#runs.get(message.runId)?.gcObserver?.disconnect()
        this.#runs.set(message.runId, newRun())
        if ((profileDir ?? heapProfileDir) !== undefined && message.runId !== 'idle')
          await this.#startProfile()
        return
      case 'publish':
        await this.#publishAtRate(message.runId, message.rate, message.seconds)
        return
      case 'count':
        sendToParent({
          type: 'count',
          runId: message.runId,
          received: this.#runs.get(message.runId)?.seen.size ?? 0,
        })
        return
      case 'collect': {
        const run = this.#runs.get(message.runId)
        this.#runs.delete(message.runId)
        this.#collected.add(message.runId)
        const cpu = process.cpuUsage(run?.cpuStart)
        if (run !== undefined) stopGcRecord(run)
        if (this.#profiler !== undefined) await this.#stopProfile(message.runId)
        if (latencyDumpDir !== undefined && run !== undefined && message.runId !== 'idle')
          await writeFile(
            `${latencyDumpDir}/${this.#init.name}-${message.runId}-${process.pid}.json`,
            JSON.stringify({
              markedAt: run.markedAt,
              markedAtWallMs: run.markedAtWallMs,
              arrivals: run.arrivals,
              gcPauses: run.gcPauses,
            }),
          )
        sendToParent({
          type: 'collected',
          runId: message.runId,
          received: run?.seen.size ?? 0,
          latenciesMs: run?.latenciesMs ?? [],
          cpuMs: (cpu.user + cpu.system) / 1_000,
          framesAfterCollect: this.#framesAfterCollect,
        })
        return
      }
    }
  }

  /** Publishes `rate` frames per second for `seconds`, in bursts of whatever fell due each tick. */
  async #publishAtRate(runId: string, rate: number, seconds: number): Promise<void> {
    const publishing = this.#init.publishing ?? (() => undefined)
    const total = Math.round(rate * seconds)
    const started = performance.now()
    let sent = 0
    let failed = 0
    let lateTicks = 0
    const before = publishing()
    const batchesBefore = before?.batches ?? 0
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
            this.#init.publishOne(runId, sent).catch(() => {
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
    sendToParent({
      type: 'published',
      runId,
      sent,
      failed,
      lateTicks,
      messages: after === undefined ? sent : after.batches - batchesBefore,
      ...(after?.early === undefined
        ? {}
        : {
            early: {
              sent: after.early.sent - (before?.early?.sent ?? 0),
              missed: after.early.missed - (before?.early?.missed ?? 0),
            },
          }),
      window:
        windowsMs.length === 0
          ? undefined
          : {
              meanMs: windowsMs.reduce((sum, window) => sum + window, 0) / windowsMs.length,
              maxMs: Math.max(...windowsMs),
            },
    })
  }

  async #startProfile(): Promise<void> {
    const profiler = new Session()
    this.#profiler = profiler
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

  async #stopProfile(runId: string): Promise<void> {
    const session = this.#profiler as Session
    this.#profiler = undefined
    if (profileDir !== undefined) {
      const { profile } = await session.post('Profiler.stop')
      await writeFile(`${profileDir}/${this.#init.name}-${runId}.cpuprofile`, JSON.stringify(profile))
    }
    if (heapProfileDir !== undefined) {
      const { profile } = await session.post('HeapProfiler.stopSampling')
      await writeFile(`${heapProfileDir}/${this.#init.name}-${runId}.heapprofile`, JSON.stringify(profile))
    }
    session.disconnect()
  }
}

function newRun(): RunRecord {
  const markedAt = now()
  const markedAtWallMs = Date.now()
  const gcPauses: Array<[number, number, string]> = []
  let gcObserver: PerformanceObserver | undefined
  if (latencyDumpDir !== undefined) {
    gcObserver = new PerformanceObserver((list) => {
      for (const entry of list.getEntries()) gcPauses.push(gcPause(entry, markedAt))
    })
    gcObserver.observe({ entryTypes: ['gc'] })
  }
  return {
    seen: new Set(),
    latenciesMs: [],
    arrivals: [],
    gcPauses,
    gcObserver,
    markedAt,
    markedAtWallMs,
    cpuStart: process.cpuUsage(),
  }
}

/** Ends a run's GC record, keeping the pauses V8 reported but the observer had not yet delivered. */
function stopGcRecord(run: RunRecord): void {
  const observer = run.gcObserver
  if (observer === undefined) return
  for (const entry of observer.takeRecords()) run.gcPauses.push(gcPause(entry, run.markedAt))
  observer.disconnect()
}

function gcPause(entry: PerformanceEntry, markedAt: number): [number, number, string] {
  const kind = (entry as { detail?: { kind?: number } }).detail?.kind ?? 0
  return [
    PERFORMANCE_TIMELINE_ON_SHARED_CLOCK_MS + entry.startTime - markedAt,
    entry.duration,
    GC_KINDS[kind] ?? `${kind}`,
  ]
}
