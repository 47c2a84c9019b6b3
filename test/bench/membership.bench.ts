/**
 * Benchmark: mesh membership between real `clawmesh start` processes.
 *
 * 1. LAN discovery: N trusted nodes (fresh keys, everyone trusts everyone) are spawned at once with
 *    mDNS on; "ready" is the spawn → listening time of the slowest node, "connected" the all-ready →
 *    every node holds a `kind: 'node'` connection to every other node.
 * 2. Reconnect: A has B as a static peer (`--peer`), B is killed (SIGKILL, or stopped with SIGTERM)
 *    and restarted at once on the same port; measured from the restart spawn to both A and B
 *    reporting the other as `connected` in `mesh.peers`. A's static dialer backoff decides most of it,
 *    so the dial that succeeded and the backoff wait before it are reported too.
 *
 * mDNS is multicast, so everything runs inside a private network namespace that has only its own
 * loopback (needs root): the script creates the namespace, re-executes itself inside it with
 * `--inside`, and removes it afterwards. Nodes are polled over in-process RPC clients (one per node,
 * reused), every POLL_INTERVAL_MS.
 *
 *   node test/bench/membership.bench.ts [--runs 5] [--sizes 2,5,10]
 *
 * Prints tables and writes test/bench/results/membership.json.
 */
import { spawn } from 'node:child_process'
import { mkdir, readdir, rm, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { parseArgs } from 'node:util'
import { type CliClient, connectCliClient } from '../../node/cli/client-node.ts'
import { MDNS_QUERY_INTERVAL_MS } from '../../node/libp2p/create-node-libp2p.ts'
import {
  STATIC_PEER_BACKOFF_INITIAL_MS,
  STATIC_PEER_BACKOFF_MAX_MS,
} from '../../node/mesh/static-peer-dialer.ts'
import { loadOrCreateIdentity } from '../../runtime/identity/device-identity.ts'
import { statePaths } from '../../runtime/state/state-dir.ts'
import { TrustStore } from '../../runtime/trust/trust-store.ts'
import { createMulticastNetns } from '../helpers/netns.ts'
import { makeStateDir, type NodeProcess, REPO_ROOT, startNode, stopAll } from '../helpers/processes.ts'

const POLL_INTERVAL_MS = 100
const DISCOVERY_TIMEOUT_MS = 40_000
const RECONNECT_TIMEOUT_MS = 40_000
/** Lets the restarted pair settle (identify, membership) before the next repetition. */
const SETTLE_MS = 1_000
const CLIENT_CONNECT_ATTEMPTS = 20
const CLIENT_RETRY_MS = 250

const { values } = parseArgs({
  options: {
    runs: { type: 'string', default: '5' },
    sizes: { type: 'string', default: '2,5,10' },
    inside: { type: 'boolean', default: false },
  },
})

if (!values.inside) process.exit(await runInsideNamespace())

const runs = Number(values.runs)
const sizes = values.sizes.split(',').map(Number)
await refuseOutsideNamespace()
const benchStarted = performance.now()
const log = (line: string) =>
  console.log(`[${((performance.now() - benchStarted) / 1000).toFixed(1).padStart(5)} s] ${line}`)

/** Creates the namespace, runs this script inside it, and always removes the namespace. */
async function runInsideNamespace(): Promise<number> {
  if (process.getuid?.() !== 0) {
    console.error('membership bench needs root to create a network namespace for mDNS: run it as root.')
    return 1
  }
  const netns = await createMulticastNetns('bench')
  try {
    const child = spawn(
      netns.prefix[0] as string,
      [
        ...netns.prefix.slice(1),
        process.execPath,
        import.meta.filename,
        '--inside',
        ...process.argv.slice(2),
      ],
      { stdio: 'inherit' },
    )
    // Forwarded so the inner run stops its nodes and this process still removes the namespace.
    for (const signal of ['SIGINT', 'SIGTERM'] as const) process.once(signal, () => child.kill(signal))
    return await new Promise<number>((resolveExit) => child.once('exit', (code) => resolveExit(code ?? 1)))
  } finally {
    await netns.remove()
  }
}

/** Multicast must never reach a real interface: inside the namespace there is only `lo`. */
async function refuseOutsideNamespace(): Promise<void> {
  const interfaces = await readdir('/sys/class/net')
  if (interfaces.some((name) => name !== 'lo')) {
    console.error(
      `refusing to run discovery outside a private namespace (interfaces: ${interfaces.join(', ')})`,
    )
    process.exit(1)
  }
}

const sleep = (ms: number) => new Promise((resolveSleep) => setTimeout(resolveSleep, ms))

function summary(samples: Array<number | null>): {
  p50: number | null
  max: number | null
  failures: number
} {
  const done = samples.filter((sample): sample is number => sample !== null).sort((a, b) => a - b)
  return {
    p50: done.length === 0 ? null : (done[Math.floor((done.length - 1) / 2)] as number),
    max: done.length === 0 ? null : (done[done.length - 1] as number),
    failures: samples.length - done.length,
  }
}

const ms = (value: number | null) => (value === null ? 'n/a' : value.toFixed(0))

/** Fresh state dirs whose devices all trust each other, written in-process (no CLI per pair). */
async function trustingStateDirs(count: number, label: string): Promise<Array<{ dir: string; id: string }>> {
  const nodes = await Promise.all(
    Array.from({ length: count }, async (_, index) => {
      const dir = await makeStateDir(`${label}-${index}`)
      const identity = await loadOrCreateIdentity(statePaths(dir).deviceIdentity)
      return { dir, id: identity.deviceId }
    }),
  )
  for (const node of nodes) {
    const store = await TrustStore.open(statePaths(node.dir).trustedPeers)
    for (const other of nodes) if (other !== node) await store.add(other.id)
  }
  return nodes
}

/**
 * All nodes here share 127.0.0.1, and libp2p's connection manager refuses a host's inbound
 * connections beyond a few per second, so while ten nodes dial each other the bench's own RPC
 * client can be turned away: retry it.
 */
async function connectWithRetry(url: string, stateDir: string): Promise<CliClient> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await connectCliClient(url, stateDir)
    } catch (error) {
      if (attempt >= CLIENT_CONNECT_ATTEMPTS) throw error
      await sleep(CLIENT_RETRY_MS)
    }
  }
}

async function closeAll(clients: Iterable<CliClient | undefined>): Promise<void> {
  await Promise.all([...clients].map((client) => client?.close().catch(() => {})))
}

interface DiscoveryRun {
  nodes: number
  run: number
  readyMs: number | null
  connectedMs: number | null
  error?: string
}

async function discoveryRun(count: number, run: number): Promise<DiscoveryRun> {
  const members = await trustingStateDirs(count, `mdns${count}`)
  const clients: Array<CliClient | undefined> = []
  try {
    const spawnedAt = performance.now()
    const started = await Promise.all(
      members.map(async (member, index) => {
        const node = await startNode(member.dir, ['--name', `n${index}`, '--discovery'])
        const readyAt = performance.now()
        clients[index] = await connectWithRetry(node.url, member.dir)
        return { node, readyAt }
      }),
    )
    const allReadyAt = Math.max(...started.map((entry) => entry.readyAt))
    const connectedAt: Array<number | undefined> = members.map(() => undefined)
    while (connectedAt.some((at) => at === undefined)) {
      if (performance.now() - allReadyAt > DISCOVERY_TIMEOUT_MS) break
      await Promise.all(
        members.map(async (member, index) => {
          if (connectedAt[index] !== undefined) return
          const status = await (clients[index] as CliClient).call('mesh.status', {}).catch(() => undefined)
          if (status === undefined) return
          const seen = new Set(
            status.connections.filter((connection) => connection.kind === 'node').map((c) => c.deviceId),
          )
          if (members.every((other) => other === member || seen.has(other.id)))
            connectedAt[index] = performance.now()
        }),
      )
      await sleep(POLL_INTERVAL_MS)
    }
    const complete = connectedAt.every((at) => at !== undefined)
    return {
      nodes: count,
      run,
      readyMs: allReadyAt - spawnedAt,
      connectedMs: complete ? Math.max(...(connectedAt as number[])) - allReadyAt : null,
    }
  } finally {
    await closeAll(clients)
    await stopAll()
    await Promise.all(members.map((member) => rm(member.dir, { recursive: true, force: true })))
  }
}

type StopKind = 'SIGKILL' | 'SIGTERM'

interface ReconnectRun {
  stop: StopKind
  run: number
  /** restart spawn → B listening */
  readyMs: number
  /** restart spawn → A and B both report the other `connected` */
  reconnectMs: number | null
  /** dials of A's static dialer that failed after B went away */
  failedDials: number
  /** backoff wait before the dial that succeeded */
  lastBackoffMs: number
}

/** The wait the dialer schedules before its next dial after `failedDials` failures (see its code). */
function backoffBefore(failedDials: number): number {
  return failedDials === 0
    ? STATIC_PEER_BACKOFF_INITIAL_MS
    : Math.min(STATIC_PEER_BACKOFF_MAX_MS, STATIC_PEER_BACKOFF_INITIAL_MS * 2 ** Math.min(failedDials, 16))
}

async function seesConnected(client: CliClient, deviceId: string): Promise<boolean> {
  const { peers } = await client.call('mesh.peers', {})
  return peers.some((peer) => peer.deviceId === deviceId && peer.state === 'connected')
}

async function reconnectRuns(): Promise<ReconnectRun[]> {
  const [memberA, memberB] = (await trustingStateDirs(2, 'restart')) as [
    { dir: string; id: string },
    { dir: string; id: string },
  ]
  const results: ReconnectRun[] = []
  let b: NodeProcess = await startNode(memberB.dir, ['--name', 'b'])
  const startB = () => startNode(memberB.dir, ['--name', 'b', '--port', String(b.port)])
  const a = await startNode(memberA.dir, ['--name', 'a', '--peer', `${memberB.id}=${b.url}`])
  const clientA = await connectWithRetry(a.url, memberA.dir)
  let clientB: CliClient | undefined
  try {
    for (const stop of ['SIGKILL', 'SIGTERM'] as const) {
      for (let run = 1; run <= runs; run++) {
        const deadline = performance.now() + RECONNECT_TIMEOUT_MS
        while (!(await seesConnected(clientA, memberB.id))) {
          if (performance.now() > deadline) throw new Error('a and b never connected before the restart')
          await sleep(POLL_INTERVAL_MS)
        }
        await clientB?.close().catch(() => {})
        clientB = undefined
        await b.stop(stop)
        const spawnedAt = performance.now()
        let failedDials = 0
        let aSeesBAt: number | undefined
        let bSeesAAt: number | undefined
        let readyAt: number | undefined
        const restarted = startB().then(async (node) => {
          readyAt = performance.now()
          b = node
          clientB = await connectWithRetry(node.url, memberB.dir)
          return node
        })
        while (aSeesBAt === undefined || bSeesAAt === undefined) {
          if (performance.now() > deadline) break
          if (aSeesBAt === undefined) {
            const status = await clientA.call('mesh.status', {})
            const dial = status.staticPeers?.find((peer) => peer.deviceId === memberB.id)
            if (dial?.state === 'backoff') failedDials = Math.max(failedDials, dial.attempts)
            if (await seesConnected(clientA, memberB.id)) aSeesBAt = performance.now()
          }
          if (bSeesAAt === undefined && clientB !== undefined && (await seesConnected(clientB, memberA.id)))
            bSeesAAt = performance.now()
          await sleep(POLL_INTERVAL_MS)
        }
        await restarted
        const result: ReconnectRun = {
          stop,
          run,
          readyMs: (readyAt as number) - spawnedAt,
          reconnectMs:
            aSeesBAt === undefined || bSeesAAt === undefined
              ? null
              : Math.max(aSeesBAt, bSeesAAt) - spawnedAt,
          failedDials,
          lastBackoffMs: backoffBefore(failedDials),
        }
        results.push(result)
        log(
          `reconnect after ${stop} run ${run}: ready ${ms(result.readyMs)} ms, both connected ${ms(result.reconnectMs)} ms (dial ${failedDials + 1}, after a ${result.lastBackoffMs} ms backoff)`,
        )
        await sleep(SETTLE_MS)
      }
    }
  } finally {
    await closeAll([clientA, clientB])
    await stopAll()
    await Promise.all([memberA, memberB].map((member) => rm(member.dir, { recursive: true, force: true })))
  }
  return results
}

log(
  `membership bench: ${runs} runs, sizes ${sizes.join(', ')}, mDNS query interval ${MDNS_QUERY_INTERVAL_MS} ms`,
)
const discovery: DiscoveryRun[] = []
for (const count of sizes) {
  for (let run = 1; run <= runs; run++) {
    const result = await discoveryRun(count, run).catch(
      (error: Error): DiscoveryRun => ({
        nodes: count,
        run,
        readyMs: null,
        connectedMs: null,
        error: error.message.split('\n').slice(0, 2).join(' '),
      }),
    )
    discovery.push(result)
    log(
      result.error === undefined
        ? `mDNS ${count} nodes run ${run}: all ready ${ms(result.readyMs)} ms, then fully connected ${ms(result.connectedMs)} ms`
        : `mDNS ${count} nodes run ${run} failed: ${result.error}`,
    )
  }
}
const reconnect = await reconnectRuns()

const discoverySummary = sizes.map((count) => {
  const ofSize = discovery.filter((result) => result.nodes === count)
  return {
    nodes: count,
    readyMs: summary(ofSize.map((result) => result.readyMs)),
    connectedMs: summary(ofSize.map((result) => result.connectedMs)),
  }
})
const reconnectSummary = (['SIGKILL', 'SIGTERM'] as const).map((stop) => {
  const ofKind = reconnect.filter((result) => result.stop === stop)
  return {
    stop,
    readyMs: summary(ofKind.map((result) => result.readyMs)),
    reconnectMs: summary(ofKind.map((result) => result.reconnectMs)),
    succeededOnDial: ofKind.map((result) => result.failedDials + 1),
  }
})

console.log(`\nLAN discovery (mDNS, query interval ${MDNS_QUERY_INTERVAL_MS} ms), ${runs} runs each`)
console.table(
  Object.fromEntries(
    discoverySummary.map((entry) => [
      `${entry.nodes} nodes`,
      {
        'spawn → all ready p50 (ms)': ms(entry.readyMs.p50),
        'ready max (ms)': ms(entry.readyMs.max),
        'all ready → connected p50 (ms)': ms(entry.connectedMs.p50),
        'connected max (ms)': ms(entry.connectedMs.max),
        'timed out': entry.connectedMs.failures,
      },
    ]),
  ),
)
console.log(
  `\nReconnect of a restarted static peer (backoff ${STATIC_PEER_BACKOFF_INITIAL_MS} ms doubling, max ${STATIC_PEER_BACKOFF_MAX_MS} ms)`,
)
console.table(
  Object.fromEntries(
    reconnectSummary.map((entry) => [
      entry.stop,
      {
        'restart → ready p50 (ms)': ms(entry.readyMs.p50),
        'restart → both connected p50 (ms)': ms(entry.reconnectMs.p50),
        'both connected max (ms)': ms(entry.reconnectMs.max),
        'succeeded on dial #': entry.succeededOnDial.join(' '),
        'timed out': entry.reconnectMs.failures,
      },
    ]),
  ),
)

const output = {
  benchmark: 'membership',
  node: process.version,
  runs,
  pollIntervalMs: POLL_INTERVAL_MS,
  mdnsQueryIntervalMs: MDNS_QUERY_INTERVAL_MS,
  staticPeerBackoff: { initialMs: STATIC_PEER_BACKOFF_INITIAL_MS, maxMs: STATIC_PEER_BACKOFF_MAX_MS },
  discovery: discoverySummary,
  reconnect: reconnectSummary,
  samples: { discovery, reconnect },
}
await mkdir(join(REPO_ROOT, 'test/bench/results'), { recursive: true })
await writeFile(join(REPO_ROOT, 'test/bench/results/membership.json'), `${JSON.stringify(output, null, 2)}\n`)
log(`wrote test/bench/results/membership.json in ${((performance.now() - benchStarted) / 1000).toFixed(0)} s`)
// Closed libp2p clients can leave timers behind that keep the process (and the namespace) alive.
process.exit(0)
