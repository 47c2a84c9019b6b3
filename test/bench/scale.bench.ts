/**
 * Benchmark: a simulated mesh of 50 and 100 ClawMesh nodes on loopback (issue #20, docs/scale.md).
 * Several nodes per process (test/bench/scale-worker.ts), each with the node's own libp2p stack and
 * context service: real WebSockets, Noise, yamux, gossipsub with the node's score parameters, signed
 * frame batches validated on receipt. Every node dials `--links` random earlier nodes (a connected
 * random graph, mean degree ≈ 2 × links); `--publishers` nodes spread over the mesh publish
 * `--rate` frames/s between them.
 *
 * Reports, per mesh size: delivery ratio, duplicate copies per gossip message (each frame rides in
 * one batch message), latency p50/p99 over all receipts and at the far nodes (those at the largest
 * hop distance from the frame's origin in the connection graph), and the time until frames cross
 * again after a partition heals (the last `--cut` share of the nodes is disconnected from the rest
 * and refused for `--partition-seconds`, then the links are redialled).
 *
 *   node test/bench/scale.bench.ts [--nodes 50,100] [--procs 4] [--rate 100] [--seconds 15]
 *
 * Prints a table and writes test/bench/results/scale[-slow-links-kept]-<sizes>.json. Keep runs short on shared machines.
 */
import { type ChildProcess, fork } from 'node:child_process'
import { mkdir, writeFile } from 'node:fs/promises'
import { loadavg } from 'node:os'
import { join, resolve } from 'node:path'
import { parseArgs } from 'node:util'
import type { ScaleParentMessage, ScaleWorkerMessage } from './scale-worker.ts'

const root = resolve(import.meta.dirname, '../..')
const { values } = parseArgs({
  options: {
    nodes: { type: 'string', default: '50,100' },
    procs: { type: 'string', default: '4' },
    rate: { type: 'string', default: '100' },
    seconds: { type: 'string', default: '15' },
    publishers: { type: 'string', default: '10' },
    links: { type: 'string', default: '3' },
    cut: { type: 'string', default: '0.2' },
    'partition-seconds': { type: 'string', default: '5' },
    'heal-seconds': { type: 'string', default: '10' },
    seed: { type: 'string', default: '1' },
    /** Keep links whose keep-alive ping times out (libp2p aborts them by default): separates what
     * CPU starvation does to links from what gossip does. */
    'keep-slow-links': { type: 'boolean', default: false },
  },
})
const sizes = (values.nodes as string).split(',').map(Number)
const procs = Number(values.procs)
const rate = Number(values.rate)
const seconds = Number(values.seconds)
const publisherCount = Number(values.publishers)
const links = Number(values.links)
const cutShare = Number(values.cut)
const partitionSeconds = Number(values['partition-seconds'])
const healSeconds = Number(values['heal-seconds'])
/** How long the mesh gets to form after dialling before traffic starts, at most. */
const MESH_FORMATION_TIMEOUT_MS = 30_000
/** The CPU gossipsub's heartbeats and timers burn with no traffic is measured this long, and taken
 * off the steady run's CPU before it is divided by the messages handled. */
const IDLE_MEASURE_MS = 3_000
/** Frames still in flight when publishing ends get this long to arrive. */
const DRAIN_MS = 3_000

const percentile = (sorted: number[], p: number) =>
  sorted.length === 0
    ? Number.NaN
    : (sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] as number)

/** A small seeded generator (mulberry32): the same seed gives the same topology. */
function seeded(seed: number): () => number {
  let state = seed >>> 0
  return () => {
    state = (state + 0x6d2b79f5) >>> 0
    let t = state
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

class Worker {
  readonly child: ChildProcess
  readonly #waiting: Array<{ type: string; resolve: (message: ScaleWorkerMessage) => void }> = []
  constructor(indexes: number[]) {
    this.child = fork(
      join(import.meta.dirname, 'scale-worker.ts'),
      [JSON.stringify({ indexes, keepSlowLinks: values['keep-slow-links'] })],
      {
        stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
        serialization: 'advanced',
      },
    )
    this.child.on('message', (message: ScaleWorkerMessage) => {
      const index = this.#waiting.findIndex((waiter) => waiter.type === message.type)
      if (index >= 0) this.#waiting.splice(index, 1)[0]?.resolve(message)
    })
  }
  next<T extends ScaleWorkerMessage['type']>(type: T): Promise<Extract<ScaleWorkerMessage, { type: T }>> {
    return new Promise((resolveNext) =>
      this.#waiting.push({ type, resolve: resolveNext as (message: ScaleWorkerMessage) => void }),
    )
  }
  ask<T extends ScaleWorkerMessage['type']>(
    message: ScaleParentMessage,
    answer: T,
  ): Promise<Extract<ScaleWorkerMessage, { type: T }>> {
    const reply = this.next(answer)
    this.child.send(message)
    return reply
  }
}

function distancesFrom(origin: number, adjacency: number[][]): number[] {
  const distance = adjacency.map(() => Number.POSITIVE_INFINITY)
  distance[origin] = 0
  const queue = [origin]
  while (queue.length > 0) {
    const at = queue.shift() as number
    for (const next of adjacency[at] ?? [])
      if (distance[next] === Number.POSITIVE_INFINITY) {
        distance[next] = (distance[at] as number) + 1
        queue.push(next)
      }
  }
  return distance
}

async function simulate(size: number) {
  const random = seeded(Number(values.seed) * 1000 + size)
  const workers = Array.from(
    { length: procs },
    (_, w) => new Worker(Array.from({ length: size }, (_, i) => i).filter((i) => i % procs === w)),
  )
  const ownerOf = (index: number) => workers[index % procs] as Worker
  const connectionsNow = async () =>
    (await Promise.all(workers.map((worker) => worker.ask({ type: 'status' }, 'status'))))
      .flatMap((status) => status.nodes)
      .reduce((sum, node) => sum + node.connections, 0) / 2
  const setupStarted = performance.now()
  const listening = await Promise.all(workers.map((worker) => worker.next('listening')))
  const addr: string[] = []
  const peerId: string[] = []
  for (const message of listening)
    for (const node of message.nodes) {
      addr[node.index] = node.addr
      peerId[node.index] = node.peerId
    }
  // Node i dials `links` distinct random earlier nodes.
  const edges: Array<[number, number]> = []
  const degree = Array.from({ length: size }, () => 0)
  for (let i = 1; i < size; i++) {
    // No cap on links: with gossipsub's IP-colocation penalty off (IP_COLOCATION_SCORE_WEIGHT) a
    // node may have any number of peers at 127.0.0.1; the early nodes become hubs of 15–20 links.
    const open = Array.from({ length: i }, (_, j) => j)
    const targets = new Set<number>()
    while (targets.size < Math.min(open.length, links))
      targets.add(open[Math.floor(random() * open.length)] as number)
    for (const target of targets) {
      edges.push([i, target])
      degree[i] = (degree[i] as number) + 1
      degree[target] = (degree[target] as number) + 1
    }
  }
  const adjacency: number[][] = Array.from({ length: size }, () => [])
  for (const [a, b] of edges) {
    adjacency[a]?.push(b)
    adjacency[b]?.push(a)
  }
  const dialled = await Promise.all(
    workers.map((worker, w) =>
      worker.ask(
        {
          type: 'dial',
          links: edges
            .filter(([from]) => from % procs === w)
            .map(([from, to]) => ({ from, to: addr[to] as string })),
        },
        'dialled',
      ),
    ),
  )
  const dialFailures = dialled.reduce((sum, message) => sum + message.failed, 0)
  const connectionsAfterDial = await connectionsNow()
  // The gossip mesh has formed when every node holds min(4, its links) mesh peers (gossipsub's Dlo).
  const formationStarted = performance.now()
  let meshPeers: number[] = []
  let connectionsAfterFormation = 0
  for (;;) {
    const statuses = await Promise.all(workers.map((worker) => worker.ask({ type: 'status' }, 'status')))
    const nodes = statuses.flatMap((status) => status.nodes)
    meshPeers = []
    for (const node of nodes) meshPeers[node.index] = node.meshPeers
    connectionsAfterFormation = nodes.reduce((sum, node) => sum + node.connections, 0) / 2
    if (nodes.every((node) => node.meshPeers >= Math.min(4, node.connections) && node.connections > 0)) break
    if (performance.now() - formationStarted > MESH_FORMATION_TIMEOUT_MS) break
    await new Promise((resolveWait) => setTimeout(resolveWait, 500))
  }
  const setupMs = performance.now() - setupStarted
  const publishers = Array.from({ length: publisherCount }, (_, k) => Math.floor((k * size) / publisherCount))
  const distance = new Map(publishers.map((origin) => [origin, distancesFrom(origin, adjacency)]))
  const eccentricity = new Map(
    [...distance].map(([origin, d]) => [origin, Math.max(...d.filter(Number.isFinite))]),
  )

  async function run(
    runId: string,
    runSeconds: number,
    drainMs: number,
    beforePublish?: () => Promise<void>,
  ) {
    await Promise.all(workers.map((worker) => worker.ask({ type: 'mark', runId }, 'marked')))
    await beforePublish?.()
    const publishedAt = performance.now()
    const owners = [...new Set(publishers.map(ownerOf))]
    const published = await Promise.all(
      owners.map((worker) =>
        worker.ask(
          {
            type: 'publish',
            runId,
            publishers: publishers.filter((p) => ownerOf(p) === worker),
            ratePerPublisher: rate / publisherCount,
            seconds: runSeconds,
          },
          'published',
        ),
      ),
    )
    await new Promise((resolveWait) => setTimeout(resolveWait, drainMs))
    const collected = await Promise.all(
      workers.map((worker) => worker.ask({ type: 'collect', runId }, 'collected')),
    )
    return {
      publishedAt,
      sent: published.reduce((sum, message) => sum + message.sent, 0),
      failed: published.reduce((sum, message) => sum + message.failed, 0),
      receipts: collected.flatMap((message) => message.receipts),
      received: collected.reduce((sum, message) => sum + message.firstMessages, 0),
      duplicates: collected.reduce((sum, message) => sum + message.duplicates, 0),
      cpuMs: collected.reduce((sum, message) => sum + message.cpuMs, 0),
      closeReasons: collected.reduce<Record<string, number>>((all, message) => {
        for (const [reason, count] of Object.entries(message.closeReasons))
          all[reason] = (all[reason] ?? 0) + count
        return all
      }, {}),
    }
  }

  // Idle: what heartbeats cost with no frames, per second, all processes.
  const idleStarted = performance.now()
  const idle = await run(`idle${size}`, 0, IDLE_MEASURE_MS)
  const idleCpuMsPerSecond = idle.cpuMs / ((performance.now() - idleStarted) / 1000)
  // Steady traffic.
  const load1 = loadavg()[0] as number
  const steadyStarted = performance.now()
  const steady = await run(`steady${size}`, seconds, DRAIN_MS)
  const steadyMs = performance.now() - steadyStarted
  const latencies = steady.receipts.map((r) => r[3] as number).sort((a, b) => a - b)
  const far = steady.receipts
    .filter(
      ([receiver, origin]) =>
        distance.get(origin as number)?.[receiver as number] === eccentricity.get(origin as number),
    )
    .map((r) => r[3] as number)
    .sort((a, b) => a - b)
  const unique = steady.received - steady.duplicates
  const byReceiver = new Map<number, number>()
  const byOrigin = new Map<number, number>()
  for (const [receiver, origin] of steady.receipts) {
    byReceiver.set(receiver as number, (byReceiver.get(receiver as number) ?? 0) + 1)
    byOrigin.set(origin as number, (byOrigin.get(origin as number) ?? 0) + 1)
  }
  const starved = Array.from({ length: size }, (_, i) => i).filter(
    (i) => (byReceiver.get(i) ?? 0) < 0.5 * (steady.sent - steady.sent / publisherCount),
  )
  const expected = steady.sent * (size - 1)

  // Partition: the last cutShare of the nodes lose every link to the rest, then heal.
  const cutFrom = Math.ceil(size * (1 - cutShare))
  const inGroup = (index: number) => index >= cutFrom
  const crossing = edges.filter(([a, b]) => inGroup(a) !== inGroup(b))
  const cut = (side: 0 | 1) =>
    crossing.map((edge) => ({ from: edge[side], peerId: peerId[edge[1 - side] as number] as string }))
  const cuts = [...cut(0), ...cut(1)]
  await Promise.all(
    workers.map((worker, w) =>
      worker.ask({ type: 'partition', cut: cuts.filter((c) => c.from % procs === w) }, 'partitioned'),
    ),
  )
  await new Promise((resolveWait) => setTimeout(resolveWait, partitionSeconds * 1000))
  // Heal, then publish at once: the first frame from which every frame reaches every node marks
  // the moment the mesh carries traffic across the former cut again.
  const connectionsDuring = await connectionsNow()
  // Frames queued under load arrive late: the heal run waits for twice the steady p99 as well.
  const healDrainMs = Math.max(DRAIN_MS, 2 * percentile(latencies, 99))
  const heal = await run(`heal${size}`, healSeconds, healDrainMs, async () => {
    await Promise.all(workers.map((worker) => worker.ask({ type: 'heal' }, 'healed')))
  })
  const convergence = convergenceAfterHeal(heal.receipts, publishers, size)
  const connectionsAfter = await connectionsNow()
  await Promise.all(workers.map((worker) => worker.child.send({ type: 'exit' } satisfies ScaleParentMessage)))
  await Promise.all(workers.map((worker) => new Promise((done) => worker.child.once('exit', done))))
  const meshSorted = [...meshPeers].sort((a, b) => a - b)
  return {
    nodes: size,
    keepSlowLinks: values['keep-slow-links'],
    processes: procs,
    links: edges.length,
    meanDegree: (2 * edges.length) / size,
    diameterFromPublishers: Math.max(...eccentricity.values()),
    dialFailures,
    connectionsAfterDial,
    connectionsAfterFormation,
    setupMs,
    meshPeers: { min: meshSorted[0], p50: percentile(meshSorted, 50), max: meshSorted.at(-1) },
    loadAverageAtStart: load1,
    /** Nodes that received under half the frames, with their gossip mesh size; receipts per origin. */
    starvedNodes: starved.map((i) => ({ node: i, meshPeers: meshPeers[i], links: adjacency[i]?.length })),
    receiptsPerOrigin: Object.fromEntries(byOrigin),
    steady: {
      framesPerSecond: rate,
      seconds,
      framesSent: steady.sent,
      publishFailures: steady.failed,
      deliveryRatio: steady.receipts.length / expected,
      gossipMessagesUnique: unique,
      duplicatesPerMessage: steady.duplicates / Math.max(1, unique),
      latencyMs: { p50: percentile(latencies, 50), p99: percentile(latencies, 99), max: latencies.at(-1) },
      farNodeLatencyMs: { p50: percentile(far, 50), p99: percentile(far, 99), receipts: far.length },
      cpuSecondsAllProcesses: steady.cpuMs / 1000,
      idleCpuMsPerSecond,
      /** CPU above idle per gossip message per node that handled it (validation, ingest, forwarding,
       * duplicates dropped; publishing included), µs. */
      cpuMicrosPerMessagePerNode:
        ((steady.cpuMs - (idleCpuMsPerSecond * steadyMs) / 1000) * 1000) / Math.max(1, unique),
      closeReasons: steady.closeReasons,
    },
    partition: {
      cutNodes: size - cutFrom,
      cutLinks: crossing.length,
      seconds: partitionSeconds,
      afterHealDeliveryRatio: heal.receipts.length / (heal.sent * (size - 1)),
      connectionsDuringCut: connectionsDuring,
      connectionsAfterHeal: connectionsAfter,
      firstFullRound: convergence.seq,
      convergeMs: convergence.ms,
    },
    loadAverageAtEnd: loadavg()[0],
  }
}

/** After the heal every publisher sends frame 0, 1, 2, … one interval apart: the first round whose
 * frames (one per publisher) all reach every other node marks the mesh carrying traffic across the
 * former cut again. Its time is the round's send offset plus the slowest receipt of that round. */
function convergenceAfterHeal(receipts: number[][], publishers: number[], size: number) {
  const intervalMs = 1000 / (rate / publisherCount)
  const rounds = Math.round((rate / publisherCount) * healSeconds)
  const copies = new Map<string, number>()
  const slowest = new Map<number, number>()
  for (const [, origin, seq, latency] of receipts) {
    copies.set(`${origin}:${seq}`, (copies.get(`${origin}:${seq}`) ?? 0) + 1)
    slowest.set(seq as number, Math.max(slowest.get(seq as number) ?? 0, latency as number))
  }
  for (let seq = 0; seq < rounds; seq++)
    if (publishers.every((origin) => copies.get(`${origin}:${seq}`) === size - 1))
      return { seq, ms: seq * intervalMs + (slowest.get(seq) ?? 0) }
  return { seq: -1, ms: Number.NaN }
}

const results = []
for (const size of sizes) {
  const result = await simulate(size)
  results.push(result)
  console.log('connections closed during steady traffic, by reason:', result.steady.closeReasons)
  console.log(
    'starved nodes:',
    JSON.stringify(result.starvedNodes),
    'receipts per origin:',
    JSON.stringify(result.receiptsPerOrigin),
  )
  console.table({
    nodes: `${result.nodes}${result.keepSlowLinks ? ' (slow links kept)' : ''}`,
    'load average (1 min) at start / end': `${result.loadAverageAtStart.toFixed(2)} / ${result.loadAverageAtEnd?.toFixed(2)}`,
    'links (mean degree)': `${result.links} (${result.meanDegree.toFixed(1)})`,
    'max hops publisher → node': result.diameterFromPublishers,
    'setup to mesh formed (ms)': result.setupMs.toFixed(0),
    'mesh peers min/p50/max': `${result.meshPeers.min}/${result.meshPeers.p50}/${result.meshPeers.max}`,
    'frames sent': result.steady.framesSent,
    'delivery ratio': result.steady.deliveryRatio.toFixed(4),
    'duplicate copies per gossip message': result.steady.duplicatesPerMessage.toFixed(2),
    'latency p50 / p99 (ms)': `${result.steady.latencyMs.p50.toFixed(1)} / ${result.steady.latencyMs.p99.toFixed(1)}`,
    'far-node latency p50 / p99 (ms)': `${result.steady.farNodeLatencyMs.p50.toFixed(1)} / ${result.steady.farNodeLatencyMs.p99.toFixed(1)}`,
    'CPU s (all processes, steady run) / idle ms per s': `${result.steady.cpuSecondsAllProcesses.toFixed(1)} / ${result.steady.idleCpuMsPerSecond.toFixed(0)}`,
    'CPU above idle per gossip message per node (µs)': result.steady.cpuMicrosPerMessagePerNode.toFixed(0),
    'partition: nodes cut / links cut': `${result.partition.cutNodes} / ${result.partition.cutLinks}`,
    'connections: dialled / mesh formed / during cut / after heal': `${result.connectionsAfterDial} / ${result.connectionsAfterFormation} / ${result.partition.connectionsDuringCut} / ${result.partition.connectionsAfterHeal}`,
    'after heal: delivery ratio': result.partition.afterHealDeliveryRatio.toFixed(4),
    'after heal: time to full delivery (ms)': result.partition.convergeMs.toFixed(0),
  })
}
await mkdir(join(root, 'test/bench/results'), { recursive: true })
await writeFile(
  join(
    root,
    `test/bench/results/scale${values['keep-slow-links'] ? '-slow-links-kept' : ''}-${sizes.join('-')}.json`,
  ),
  `${JSON.stringify({ benchmark: 'scale', node: process.version, results }, null, 2)}\n`,
)
