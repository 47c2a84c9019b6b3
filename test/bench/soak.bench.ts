/**
 * Soak (issue #20 item 4): `site10` (fanout-core.ts, SITE10_EDGES; every node in its own process on
 * loopback, the fan-out bench's `clawmesh` worker: libp2p stack, context service, world model) with
 * one publisher at a steady rate for many minutes. Every node's RSS, heap, open file descriptors and
 * event-loop lag are sampled every `--sample-seconds` (test/bench/soak-probe.ts, loaded with
 * `--import`), and each `--round-seconds` of frames is counted (delivery, latency) as a run of its own
 * so no record grows with the soak. The verdict is the slope of each node's RSS floor (the lowest
 * sample of each minute) and live heap (heap used after a full collection, taken once a minute)
 * over the last half of the soak (least squares, MiB/min): a plateau is a slope within
 * PLATEAU_MAX_MIB_PER_MIN. Heap used at a random point of the GC cycle is recorded too, but its
 * sawtooth (tens of MiB between collections) hides a slow leak and invents one in a short window.
 *
 *   node test/bench/soak.bench.ts [--minutes 30] [--rate 500] [--sample-seconds 10]
 *     [--round-seconds 10] [--out docs/soak.json] [--svg docs/soak.svg] [--snapshot-leaker DIR]
 *
 * `--snapshot-leaker DIR`: at a third of the soak, the node whose RSS grew fastest since a sixth
 * (if faster than the plateau bound) writes a V8 heap snapshot to DIR, and again at the end; compare
 * the two in Chrome DevTools (Memory → Comparison) to see what holds the growth. Taking a snapshot
 * raises that node's RSS by a step (tens of MiB), which is why the first one falls before the
 * judged last half.
 */
import { type ChildProcess, fork } from 'node:child_process'
import { writeFile } from 'node:fs/promises'
import { loadavg } from 'node:os'
import { join, resolve } from 'node:path'
import { pathToFileURL } from 'node:url'
import { parseArgs } from 'node:util'
import { type ParentMessage, SITE10_EDGES, type WorkerConfig, type WorkerMessage } from './fanout-core.ts'
import type { ProbeReply, ProbeRequest } from './soak-probe.ts'

const root = resolve(import.meta.dirname, '../..')
const { values } = parseArgs({
  options: {
    minutes: { type: 'string', default: '30' },
    rate: { type: 'string', default: '500' },
    'sample-seconds': { type: 'string', default: '10' },
    'round-seconds': { type: 'string', default: '10' },
    out: { type: 'string', default: join(root, 'docs/soak.json') },
    svg: { type: 'string', default: join(root, 'docs/soak.svg') },
    'snapshot-leaker': { type: 'string' },
    /** libp2p's default: abort a link whose keep-alive ping times out. Off by default here: on a
     * shared machine at load 15+ pings time out, every link of the site closed within 30 s in a
     * trial, and the bench worker (unlike a node's peer lifecycle) redials only once per sample. */
    'abort-slow-links': { type: 'boolean', default: false },
  },
})
const minutes = Number(values.minutes)
const rate = Number(values.rate)
const sampleSeconds = Number(values['sample-seconds'])
const roundSeconds = Number(values['round-seconds'])
const snapshotDir = values['snapshot-leaker']

const SITE_SIZE = 10
/** Growth a plateau tolerates over the last half: 0.2 MiB/min is 12 MiB an hour, below what GC
 * timing moves RSS by between two samples; a slower leak needs a longer soak to be seen. */
const PLATEAU_MAX_MIB_PER_MIN = 0.2
/** Frames of a round still in flight when the next round starts are counted this long after it. */
const COLLECT_GRACE_MS = 5_000
/** Lets every receiver open its record of a round before the round's first frame can reach it. */
const MARK_SETTLE_MS = 20
const MESH_FORMATION_TIMEOUT_MS = 20_000
const DIAL_ATTEMPTS = 5
const SAMPLE_TIMEOUT_MS = 30_000
/** Every this many samples (once a minute at the default 10 s) the probe collects garbage first
 * and reports the live heap: one full GC a minute per node, a pause of tens of ms. */
const LIVE_HEAP_EVERY_SAMPLES = 6
/** A worker starved of CPU (load 30 on 2 cores in a trial) answers a collect after more than a
 * minute; the soak waits rather than ends. */
const REPLY_TIMEOUT_MS = 300_000
const HEAP_SNAPSHOT_TIMEOUT_MS = 300_000
const MIB = 1024 * 1024

type Incoming = WorkerMessage | ProbeReply
type Outgoing = ParentMessage | ProbeRequest

class Worker {
  readonly process: ChildProcess
  readonly #waiters: Array<{ type: Incoming['type']; resolve: (message: Incoming) => void }> = []

  constructor(config: WorkerConfig) {
    this.process = fork(resolve(import.meta.dirname, 'fanout-worker.ts'), [JSON.stringify(config)], {
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
      env: { ...process.env, ...(values['abort-slow-links'] ? {} : { FANOUT_KEEP_SLOW_LINKS: '1' }) },
      execArgv: [
        ...process.execArgv,
        '--expose-gc',
        '--import',
        pathToFileURL(resolve(import.meta.dirname, 'soak-probe.ts')).href,
      ],
    })
    this.process.on('message', (message: Incoming) => {
      if (message.type === 'error') console.error(`worker ${config.name}: ${message.message}`)
      const index = this.#waiters.findIndex((waiter) => waiter.type === message.type)
      if (index >= 0) this.#waiters.splice(index, 1)[0]?.resolve(message)
    })
  }

  next<T extends Incoming['type']>(type: T, timeoutMs = 60_000): Promise<Extract<Incoming, { type: T }>> {
    return new Promise((resolvePromise, reject) => {
      const waiter = {
        type,
        resolve: (message: Incoming) => {
          clearTimeout(timer)
          resolvePromise(message as Extract<Incoming, { type: T }>)
        },
      }
      // A reply that comes after its timeout must not answer the next request of its type.
      const timer = setTimeout(() => {
        this.#waiters.splice(this.#waiters.indexOf(waiter), 1)
        reject(new Error(`no '${type}' from worker within ${timeoutMs} ms`))
      }, timeoutMs)
      this.#waiters.push(waiter)
    })
  }

  /** Dials `addrs`: true when every link is up, false when one dial failed (the worker says why). */
  dial(addrs: string[]): Promise<boolean> {
    return new Promise((resolveDial) => {
      const onMessage = (message: Incoming) => {
        if (message.type !== 'dialled' && message.type !== 'error') return
        this.process.off('message', onMessage)
        resolveDial(message.type === 'dialled')
      }
      this.process.on('message', onMessage)
      this.send({ type: 'dial', addrs })
    })
  }

  send(message: Outgoing): void {
    this.process.send(message)
  }

  request<T extends Incoming['type']>(message: Outgoing, reply: T, timeoutMs?: number) {
    const answer = this.next(reply, timeoutMs)
    this.send(message)
    return answer
  }
}

const sleep = (ms: number) => new Promise((resolveLater) => setTimeout(resolveLater, ms))
const round2 = (value: number) => Math.round(value * 100) / 100

function hopsFromPublisher(): number[] {
  const hops = new Array<number>(SITE_SIZE).fill(Number.POSITIVE_INFINITY)
  hops[0] = 0
  const queue = [0]
  while (queue.length > 0) {
    const node = queue.shift() as number
    for (const [a, b] of SITE10_EDGES) {
      const next = a === node ? b : b === node ? a : undefined
      if (next !== undefined && (hops[next] as number) > (hops[node] as number) + 1) {
        hops[next] = (hops[node] as number) + 1
        queue.push(next)
      }
    }
  }
  return hops
}

interface Sample {
  /** Minutes since the first frame. */
  minute: number
  node: number
  rssMiB: number
  heapUsedMiB: number
  /** Heap used after a full collection: on one sample a minute. */
  liveHeapMiB?: number
  externalMiB: number
  openFds: number
  lagP99Ms: number
  lagMaxMs: number
  /** libp2p connections and gossip mesh peers: a link lost under load shows here. */
  connections: number
  meshPeers: number
  /** Peers gossipsub holds an outbound stream to: a link up without one carries no gossip. */
  outboundStreams: number
}

interface Round {
  round: number
  minute: number
  sent: number
  deliveryRatio: number
  farP99Ms: number | null
  publisherLateTicks: number
}

/** Least-squares slope of y over x. */
function slope(points: Array<[number, number]>): number {
  const n = points.length
  if (n < 2) return 0
  const meanX = points.reduce((sum, [x]) => sum + x, 0) / n
  const meanY = points.reduce((sum, [, y]) => sum + y, 0) / n
  const sxx = points.reduce((sum, [x]) => sum + (x - meanX) ** 2, 0)
  const sxy = points.reduce((sum, [x, y]) => sum + (x - meanX) * (y - meanY), 0)
  return sxx === 0 ? 0 : sxy / sxx
}

function slopesSince(
  samples: Sample[],
  fromMinute: number,
  field: 'rssMiB' | 'heapUsedMiB' | 'liveHeapMiB' | 'openFds',
) {
  return Array.from({ length: SITE_SIZE }, (_, node) =>
    slope(
      samples
        .filter((s) => s.node === node && s.minute >= fromMinute && s[field] !== undefined)
        .map((s) => [s.minute, s[field] as number]),
    ),
  )
}

/** Slope of each node's lowest RSS sample per whole minute since `fromMinute`: the floor under the
 * GC cycle, which a leak raises. */
function rssFloorSlopesSince(samples: Sample[], fromMinute: number) {
  return Array.from({ length: SITE_SIZE }, (_, node) => {
    const floors = new Map<number, number>()
    for (const s of samples)
      if (s.node === node && s.minute >= fromMinute) {
        const minute = Math.floor(s.minute)
        floors.set(minute, Math.min(floors.get(minute) ?? Number.POSITIVE_INFINITY, s.rssMiB))
      }
    return slope([...floors.entries()])
  })
}

const workers = Array.from(
  { length: SITE_SIZE },
  (_, index) =>
    new Worker({ mode: 'clawmesh', role: index === 0 ? 'publisher' : 'receiver', name: `n${index}` }),
)
const hops = hopsFromPublisher()
const farNodes = hops.flatMap((hop, node) => (hop === Math.max(...hops) ? [node] : []))
const samples: Sample[] = []
const rounds: Round[] = []
const loads: Array<{ minute: number; load1: number }> = []
const snapshots: Array<{ node: number; minute: number; path: string; ms: number }> = []
const startedAtIso = new Date().toISOString()
/** Link trouble each worker saw (stream errors, PRUNEs, disconnections), as it reports it. */
const linkEvents: Array<{ minute: number; node: string; event: string }> = []
/** Times a node with fewer links than its topology gives was told to redial them. */
let redials = 0
/** Frames that reached a receiver after their round was counted (more than COLLECT_GRACE_MS late). */
let framesAfterCollect = 0
const loadAtStart = loadavg().map(round2)

try {
  const listening = await Promise.all(workers.map((worker) => worker.next('listening')))
  // On a loaded machine a Noise handshake can time out; dialling again redials only what failed.
  await Promise.all(
    workers.map(async (worker, index) => {
      const addrs = SITE10_EDGES.filter(([dialer]) => dialer === index).map(
        ([, dialled]) => listening[dialled]?.addr as string,
      )
      for (let attempt = 1; !(await worker.dial(addrs)); attempt++)
        if (attempt >= DIAL_ATTEMPTS)
          throw new Error(`n${index} could not dial its links in ${DIAL_ATTEMPTS} attempts`)
    }),
  )
  const degree = (index: number) => SITE10_EDGES.filter(([a, b]) => a === index || b === index).length
  const meshDeadline = Date.now() + MESH_FORMATION_TIMEOUT_MS
  for (;;) {
    const statuses = await Promise.all(workers.map((worker) => worker.request({ type: 'status' }, 'status')))
    if (statuses.every((status, index) => status.meshPeers >= Math.min(degree(index), status.meshDegree)))
      break
    if (Date.now() > meshDeadline) {
      throw new Error(`mesh incomplete after ${MESH_FORMATION_TIMEOUT_MS} ms: ${JSON.stringify(statuses)}`)
    }
    await sleep(250)
  }

  const publisher = workers[0] as Worker
  const receivers = workers.slice(1)
  const started = performance.now()
  const minuteNow = () => (performance.now() - started) / 60_000

  const linksOf = (index: number) =>
    SITE10_EDGES.filter(([dialer]) => dialer === index).map(
      ([, dialled]) => listening[dialled]?.addr as string,
    )
  let sampleCount = 0
  const takeSample = async () => {
    const minute = round2(minuteNow())
    loads.push({ minute, load1: round2(loadavg()[0] as number) })
    const liveHeap = sampleCount++ % LIVE_HEAP_EVERY_SAMPLES === 0
    const replies = await Promise.all(
      workers.map((worker) => worker.request({ type: 'sample', liveHeap }, 'sample', SAMPLE_TIMEOUT_MS)),
    )
    const statuses = await Promise.all(
      workers.map((worker) => worker.request({ type: 'status' }, 'status', SAMPLE_TIMEOUT_MS)),
    )
    for (const [node, reply] of replies.entries())
      samples.push({
        minute,
        node,
        rssMiB: round2(reply.rssBytes / MIB),
        heapUsedMiB: round2(reply.heapUsedBytes / MIB),
        ...(reply.liveHeapBytes === undefined ? {} : { liveHeapMiB: round2(reply.liveHeapBytes / MIB) }),
        externalMiB: round2(reply.externalBytes / MIB),
        openFds: reply.openFds,
        lagP99Ms: reply.lagP99Ms,
        lagMaxMs: reply.lagMaxMs,
        connections: statuses[node]?.connections ?? 0,
        meshPeers: statuses[node]?.meshPeers ?? 0,
        outboundStreams: statuses[node]?.outboundStreams ?? 0,
      })
    // As a node redials its static peers: a lost link comes back (a dial of a connected peer is a no-op).
    for (const [node, status] of statuses.entries())
      if (status.connections < degree(node)) {
        redials++
        void (workers[node] as Worker).dial(linksOf(node))
      }
    for (const [node, status] of statuses.entries())
      for (const event of status.linkEvents ?? []) {
        linkEvents.push({ minute, node: `n${node}`, event })
        console.log(`${minute.toFixed(1)} min: n${node} ${event}`)
      }
  }
  let leaker: number | undefined
  const snapshot = async (node: number) => {
    const path = join(snapshotDir as string, `soak-n${node}-${Math.round(minuteNow())}min.heapsnapshot`)
    const reply = await (workers[node] as Worker).request(
      { type: 'heap-snapshot', path },
      'heap-snapshot',
      HEAP_SNAPSHOT_TIMEOUT_MS,
    )
    snapshots.push({ node, minute: round2(minuteNow()), path: reply.path, ms: reply.ms })
    console.log(`heap snapshot of n${node}: ${reply.path} (${reply.ms} ms)`)
  }
  let sampling = Promise.resolve()
  const sampler = setInterval(() => {
    sampling = sampling
      .then(takeSample)
      .catch((error: unknown) => console.error(`sample failed: ${String(error)}`))
  }, sampleSeconds * 1_000)
  await takeSample()

  const collect = async (round: number, sent: number, minute: number, lateTicks: number) => {
    const runId = `soak${round}`
    const collected = await Promise.all(
      receivers.map((worker) => worker.request({ type: 'collect', runId }, 'collected', REPLY_TIMEOUT_MS)),
    )
    const far = collected
      .filter((_, index) => farNodes.includes(index + 1))
      .flatMap((reply) => reply.latenciesMs)
      .sort((a, b) => a - b)
    const received = collected.reduce((sum, reply) => sum + reply.received, 0)
    framesAfterCollect = collected.reduce((sum, reply) => sum + (reply.framesAfterCollect ?? 0), 0)
    const entry: Round = {
      round,
      minute: round2(minute),
      sent,
      deliveryRatio: sent === 0 ? 0 : Math.round((received / (sent * receivers.length)) * 10_000) / 10_000,
      farP99Ms:
        far.length === 0
          ? null
          : round2(far[Math.min(far.length - 1, Math.floor(0.99 * far.length))] as number),
      publisherLateTicks: lateTicks,
    }
    rounds.push(entry)
    if (round % 6 === 0) void writeResults().catch(() => {})
    if (round % 6 === 0)
      console.log(
        `${entry.minute.toFixed(1)} min: round ${round} delivery ${entry.deliveryRatio}, far p99 ${entry.farP99Ms} ms, load ${loadavg()[0]?.toFixed(2)}`,
      )
  }

  let pendingCollect: Promise<void> = Promise.resolve()
  for (let round = 0; minuteNow() < minutes; round++) {
    const runId = `soak${round}`
    for (const worker of receivers) worker.send({ type: 'mark', runId })
    await sleep(MARK_SETTLE_MS)
    const minute = minuteNow()
    const published = await publisher.request(
      { type: 'publish', runId, rate, seconds: roundSeconds },
      'published',
      roundSeconds * 1_000 + REPLY_TIMEOUT_MS,
    )
    await pendingCollect
    pendingCollect = sleep(COLLECT_GRACE_MS).then(() =>
      collect(round, published.sent, minute, published.lateTicks),
    )
    if (snapshotDir !== undefined && leaker === undefined && minuteNow() >= minutes / 3) {
      const growth = slopesSince(samples, minutes / 6, 'rssMiB')
      const worst = growth.indexOf(Math.max(...growth))
      leaker = (growth[worst] as number) > PLATEAU_MAX_MIB_PER_MIN ? worst : -1
      console.log(`RSS slopes since ${minutes / 6} min (MiB/min): ${growth.map(round2).join(', ')}`)
      if (leaker >= 0) await snapshot(leaker)
    }
  }
  await pendingCollect
  clearInterval(sampler)
  await sampling
  await takeSample()
  if (leaker !== undefined && leaker >= 0) await snapshot(leaker)
} finally {
  for (const worker of workers) worker.send({ type: 'exit' })
  await sleep(3_500)
  for (const worker of workers) if (worker.process.exitCode === null) worker.process.kill('SIGKILL')
}

/** The soak's figures so far: written every minute, so a soak cut short still leaves its record. */
function summarise() {
  /** Judged over the last half of what ran (all of it, or up to now when written mid-soak). */
  const halfway = Math.max(...samples.map((sample) => sample.minute), 0) / 2
  const rssSlopes = slopesSince(samples, halfway, 'rssMiB').map(round2)
  const rssFloorSlopes = rssFloorSlopesSince(samples, halfway).map(round2)
  const heapSlopes = slopesSince(samples, halfway, 'heapUsedMiB').map(round2)
  const liveHeapSlopes = slopesSince(samples, halfway, 'liveHeapMiB').map(round2)
  const fdSlopes = slopesSince(samples, halfway, 'openFds').map(round2)
  const plateau = rssFloorSlopes.every(
    (value, node) =>
      value <= PLATEAU_MAX_MIB_PER_MIN && (liveHeapSlopes[node] as number) <= PLATEAU_MAX_MIB_PER_MIN,
  )
  const nodeSummary = Array.from({ length: SITE_SIZE }, (_, node) => {
    const own = samples.filter((sample) => sample.node === node)
    return {
      node: `n${node}`,
      role: node === 0 ? 'publisher' : node === 1 ? 'command center' : `field, ${hops[node]} hops`,
      rssMiB: { first: own[0]?.rssMiB, max: Math.max(...own.map((s) => s.rssMiB)), last: own.at(-1)?.rssMiB },
      heapUsedMiB: {
        first: own[0]?.heapUsedMiB,
        max: Math.max(...own.map((s) => s.heapUsedMiB)),
        last: own.at(-1)?.heapUsedMiB,
      },
      openFds: {
        first: own[0]?.openFds,
        max: Math.max(...own.map((s) => s.openFds)),
        last: own.at(-1)?.openFds,
      },
      lagP99MsMax: Math.max(...own.map((s) => s.lagP99Ms)),
      connections: { min: Math.min(...own.map((s) => s.connections)), last: own.at(-1)?.connections },
      meshPeers: { min: Math.min(...own.map((s) => s.meshPeers)), last: own.at(-1)?.meshPeers },
      outboundStreams: {
        min: Math.min(...own.map((s) => s.outboundStreams)),
        last: own.at(-1)?.outboundStreams,
      },
      liveHeapMiB: {
        first: own.find((s) => s.liveHeapMiB !== undefined)?.liveHeapMiB,
        last: own.findLast((s) => s.liveHeapMiB !== undefined)?.liveHeapMiB,
      },
      lastHalfSlope: {
        rssMiBPerMin: rssSlopes[node],
        rssFloorMiBPerMin: rssFloorSlopes[node],
        heapMiBPerMin: heapSlopes[node],
        liveHeapMiBPerMin: liveHeapSlopes[node],
        fdsPerMin: fdSlopes[node],
      },
    }
  })
  const delivered = rounds.reduce((sum, round) => sum + round.deliveryRatio * round.sent, 0)
  const sentTotal = rounds.reduce((sum, round) => sum + round.sent, 0)
  const result = {
    command: `node test/bench/soak.bench.ts ${process.argv.slice(2).join(' ')}`.trim(),
    startedAt: startedAtIso,
    endedAt: new Date().toISOString(),
    node: process.version,
    config: {
      topology: 'site10',
      abortSlowLinks: values['abort-slow-links'],
      minutes,
      rate,
      sampleSeconds,
      roundSeconds,
      farNodes: farNodes.map((n) => `n${n}`),
    },
    load: {
      atStart: loadAtStart,
      atEnd: loadavg().map(round2),
      load1Max: Math.max(...loads.map((l) => l.load1)),
    },
    verdict: {
      plateau,
      rule: `every node's RSS floor (lowest sample per minute) and live heap (after a full GC, once a minute) grow ≤ ${PLATEAU_MAX_MIB_PER_MIN} MiB/min over the last half (from ${halfway} min)`,
      framesSent: sentTotal,
      deliveryRatio: sentTotal === 0 ? 0 : Math.round((delivered / sentTotal) * 10_000) / 10_000,
      framesLaterThanGrace: framesAfterCollect,
      redials,
      linkEvents: linkEvents.length,
      roundsBelowFullDelivery: rounds.filter((round) => round.deliveryRatio < 1).length,
      farP99MsWorstRound: Math.max(...rounds.map((round) => round.farP99Ms ?? 0)),
    },
    nodes: nodeSummary,
    snapshots,
    linkEvents,
    loads,
    rounds,
    samples,
  }
  return result
}

async function writeResults() {
  const result = summarise()
  await writeFile(values.out, `${JSON.stringify(result, null, 1)}\n`)
  await writeFile(values.svg, renderSvg(result))
  return result
}

const result = await writeResults()
console.table(
  result.nodes.map((n) => ({
    node: n.node,
    role: n.role,
    ...n.rssMiB,
    rssFloorSlope: n.lastHalfSlope.rssFloorMiBPerMin,
    liveHeap: `${n.liveHeapMiB.first} → ${n.liveHeapMiB.last}`,
    liveHeapSlope: n.lastHalfSlope.liveHeapMiBPerMin,
    fds: n.openFds.last,
    lagP99Max: n.lagP99MsMax,
    connMin: n.connections.min,
    meshMin: n.meshPeers.min,
  })),
)
console.log(JSON.stringify(result.verdict), `load ${JSON.stringify(result.load)}`)
console.log(`wrote ${values.out} and ${values.svg}`)

/** Four panels (RSS, heap used, open fds, event-loop lag p99) of every node over the soak, one line
 * per node; plain SVG so the docs need no plotting dependency. */
function renderSvg(data: ReturnType<typeof summarise>): string {
  const width = 960
  const height = 660
  const panelWidth = 440
  const panelHeight = 250
  const colors = [
    '#1f77b4',
    '#d62728',
    '#2ca02c',
    '#ff7f0e',
    '#9467bd',
    '#8c564b',
    '#e377c2',
    '#7f7f7f',
    '#bcbd22',
    '#17becf',
  ]
  const panels: Array<{ title: string; field: keyof Sample; x: number; y: number }> = [
    { title: 'RSS (MiB)', field: 'rssMiB', x: 50, y: 50 },
    data.samples.some((s) => s.liveHeapMiB !== undefined)
      ? { title: 'live heap after a full GC, once a minute (MiB)', field: 'liveHeapMiB', x: 510, y: 50 }
      : { title: 'heap used (MiB)', field: 'heapUsedMiB', x: 510, y: 50 },
    { title: 'open file descriptors', field: 'openFds', x: 50, y: 360 },
    { title: 'event-loop lag p99 per 10 s (ms)', field: 'lagP99Ms', x: 510, y: 360 },
  ]
  const maxMinute = Math.max(data.config.minutes, ...data.samples.map((s) => s.minute))
  const parts: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" font-family="sans-serif" font-size="11" role="img">`,
    `<title>Soak of site10: RSS, heap, file descriptors and event-loop lag per node over time</title>`,
    `<rect width="${width}" height="${height}" fill="white"/>`,
    `<text x="${width / 2}" y="20" text-anchor="middle" font-size="14">Soak: site10, ${data.config.rate} frames/s, ${data.config.minutes} min — ${data.verdict.plateau ? 'plateau' : 'NO plateau'} (load ${data.load.atStart[0]} → ${data.load.atEnd[0]})</text>`,
  ]
  for (const panel of panels) {
    const plotted = data.samples.filter((s) => s[panel.field] !== undefined)
    const values = plotted.map((s) => s[panel.field] as number)
    const top = Math.max(1, ...values) * 1.05
    const sx = (minute: number) => panel.x + (minute / maxMinute) * panelWidth
    const sy = (value: number) => panel.y + panelHeight - (value / top) * panelHeight
    parts.push(
      `<text x="${panel.x}" y="${panel.y - 8}" font-size="12">${panel.title}</text>`,
      `<rect x="${panel.x}" y="${panel.y}" width="${panelWidth}" height="${panelHeight}" fill="none" stroke="#999"/>`,
    )
    for (let tick = 0; tick <= 4; tick++) {
      const value = (top / 4) * tick
      parts.push(
        `<text x="${panel.x - 4}" y="${sy(value) + 4}" text-anchor="end">${value >= 10 ? Math.round(value) : value.toFixed(1)}</text>`,
        `<line x1="${panel.x}" x2="${panel.x + panelWidth}" y1="${sy(value)}" y2="${sy(value)}" stroke="#eee"/>`,
      )
      const minute = (maxMinute / 4) * tick
      parts.push(
        `<text x="${sx(minute)}" y="${panel.y + panelHeight + 14}" text-anchor="middle">${Math.round(minute)} min</text>`,
      )
    }
    for (let node = 0; node < SITE_SIZE; node++) {
      const points = plotted
        .filter((s) => s.node === node)
        .map((s) => `${sx(s.minute).toFixed(1)},${sy(s[panel.field] as number).toFixed(1)}`)
      parts.push(
        `<polyline fill="none" stroke="${colors[node]}" stroke-width="1.2" points="${points.join(' ')}"/>`,
      )
    }
  }
  for (let node = 0; node < SITE_SIZE; node++)
    parts.push(
      `<rect x="${50 + node * 88}" y="${height - 22}" width="10" height="10" fill="${colors[node]}"/>`,
      `<text x="${64 + node * 88}" y="${height - 13}">n${node}${node === 0 ? ' pub' : node === 1 ? ' cc' : ''}</text>`,
    )
  parts.push('</svg>')
  return `${parts.join('\n')}\n`
}
