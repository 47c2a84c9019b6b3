/**
 * Benchmark: what a flood costs a well-behaved peer (issue #20, Floods). One real node process; a
 * well-behaved peer and a listener in this process (test/helpers/flood-peer.ts): the peer calls
 * `mesh.status` and publishes one frame at a time, the listener receives each frame through the
 * node's gossip validation. Samples are taken idle, then while a trusted flood peer (its own
 * process) publishes signed batches as fast as it can and keeps 32 `mesh.status` calls in flight.
 * Per phase: p50/p99 of the status call and of the frame latency, the node's and the flooder's CPU
 * share (from /proc), the node's event-loop lag, and the machine's load average.
 *
 *   node test/bench/flood.bench.ts [--samples 150] [--interval 50] [--flooder-core own|shared]
 *     [--cpu-prof DIR]
 *
 * The flooder is another device: on a site it spends its own CPU, not the node's. With
 * `--flooder-core own` (the default on a machine of two or more cores) the bench pins the flooder
 * process to the last core and the node and this process (the well-behaved peers) to the others, in
 * every phase, idle included, so the flood reaches the node as traffic, not as a process competing
 * for the node's core. `shared` leaves all processes to the scheduler, as the bench did before: on
 * two cores the flooder then takes more than one of them, and what the node loses is mostly CPU.
 *
 * With --cpu-prof the node runs under V8's profiler and writes a .cpuprofile to DIR when the bench
 * stops it (open it in Chrome DevTools, or sum self time per function).
 *
 * Prints a table and writes test/bench/results/flood.json.
 */

import { execFileSync } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { mkdir, writeFile } from 'node:fs/promises'
import { availableParallelism, loadavg } from 'node:os'
import { join, resolve } from 'node:path'
import { parseArgs } from 'node:util'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { peerIdFromString } from '@libp2p/peer-id'
import { callRpc } from '../../node/rpc/rpc-client.ts'
import { rpcProtocolId } from '../../protocol/mesh.ts'
import { loadOrCreateIdentity } from '../../runtime/identity/device-identity.ts'
import { statePaths } from '../../runtime/state/state-dir.ts'
import { TrustStore } from '../../runtime/trust/trust-store.ts'
import {
  FLOOD_MESH,
  type FloodPeerProcess,
  floodPeerId,
  spawnFloodPeer,
  wellBehavedPeers,
} from '../helpers/flood-peer.ts'
import { makeStateDir, startNode, stopAll } from '../helpers/processes.ts'
import { summarise } from './stats.ts'

const root = resolve(import.meta.dirname, '../..')
const { values } = parseArgs({
  options: {
    samples: { type: 'string', default: '150' },
    interval: { type: 'string', default: '50' },
    'flooder-core': { type: 'string', default: availableParallelism() > 1 ? 'own' : 'shared' },
    'cpu-prof': { type: 'string' },
  },
})
const flooderCore = values['flooder-core']
if (flooderCore !== 'own' && flooderCore !== 'shared') throw new Error('--flooder-core: own or shared')
/** The flooder's core and the node's (and this process's) cores when the flooder has its own. */
const LAST_CORE = availableParallelism() - 1
const NODE_CORES = LAST_CORE === 1 ? '0' : `0-${LAST_CORE - 1}`

/** Pins every thread of process `pid` to `cores` (taskset's list syntax); threads it starts later
 * inherit the affinity. */
function pin(pid: number | undefined, cores: string): void {
  if (pid === undefined) throw new Error('cannot pin a process that has no PID')
  execFileSync('taskset', ['-a', '-c', '-p', cores, String(pid)], { stdio: 'ignore' })
}
const samples = Number(values.samples)
const intervalMs = Number(values.interval)
/** The flood runs this long before sampling starts, so the samples see the throttled steady state
 * (the first second, before the flooder is scored down, is reported as `onset`). */
const FLOOD_SETTLE_MS = 3_000

/** CPU seconds (user + system) a process has used, from /proc/<pid>/stat. */
function cpuSeconds(pid: number | undefined): number {
  if (pid === undefined) return Number.NaN
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.split(' ') ?? []
    return (Number(fields[11]) + Number(fields[12])) / 100
  } catch {
    return Number.NaN
  }
}

const dir = await makeStateDir('flood-bench')
const keyFile = join(await makeStateDir('flood-bench-flooder'), 'flooder.key')
const flooderId = (await loadOrCreateIdentity(keyFile)).deviceId
const goodKey = await generateKeyPair('Ed25519')
const listenerKey = await generateKeyPair('Ed25519')
const trust = await TrustStore.open(statePaths(dir).trustedPeers)
await trust.add(flooderId, 'flooder')
await trust.add(floodPeerId(goodKey), 'good')
await trust.add(floodPeerId(listenerKey), 'listener')
const profileDir = values['cpu-prof']
const target = await startNode(
  dir,
  ['--name', 'hub', '--mesh-name', FLOOD_MESH.meshName],
  profileDir === undefined ? undefined : { nodeFlags: ['--cpu-prof', `--cpu-prof-dir=${profileDir}`] },
)
if (flooderCore === 'own') {
  pin(target.child.pid, NODE_CORES)
  pin(process.pid, NODE_CORES)
}
const peers = await wellBehavedPeers({ good: goodKey, listener: listenerKey }, 'good', target)
const targetPeer = peerIdFromString(target.deviceId)
const rpcProtocol = rpcProtocolId(FLOOD_MESH.generation)
let flooder: FloodPeerProcess | undefined

async function phase(label: string, count: number) {
  const status: number[] = []
  const frame: number[] = []
  const startedAt = Date.now()
  const targetCpu = cpuSeconds(target.child.pid)
  const flooderCpu = cpuSeconds(flooder?.child.pid)
  const load = loadavg()[0] as number
  for (let index = 0; index < count; index++) {
    status.push(await peers.statusCall())
    frame.push(await peers.frameLatency())
    await new Promise((resolveSleep) => setTimeout(resolveSleep, intervalMs))
  }
  const seconds = (Date.now() - startedAt) / 1000
  const health = await callRpc(peers.good, targetPeer, rpcProtocol, 'mesh.health', {})
  return {
    label,
    samples: count,
    seconds,
    statusMs: summarise(status),
    frameMs: summarise(frame),
    targetCpuShare: (cpuSeconds(target.child.pid) - targetCpu) / seconds,
    flooderCpuShare: flooder === undefined ? 0 : (cpuSeconds(flooder.child.pid) - flooderCpu) / seconds,
    targetEventLoopLagP99Ms: health.eventLoopLagMs,
    loadAverage1m: { start: load, end: loadavg()[0] as number },
    flood: flooder?.tally(),
    throttled: health.throttledPeers,
  }
}

try {
  for (let index = 0; index < 5; index++) await phase('warm-up', 1)
  const idle = await phase('idle', samples)
  flooder = await spawnFloodPeer({
    keyFile,
    name: 'flooder',
    targetPort: target.port,
    targetDeviceId: target.deviceId,
    gossip: true,
    rpc: true,
  })
  if (flooderCore === 'own') pin(flooder.child.pid, String(LAST_CORE))
  const onset = await phase('onset', 10)
  await new Promise((resolveSleep) => setTimeout(resolveSleep, FLOOD_SETTLE_MS))
  const flood = await phase('flood', samples)
  const rows = [idle, onset, flood]
  const format = (value: number) => value.toFixed(1).padStart(8)
  console.log(
    `flooder core: ${flooderCore === 'own' ? `own (core ${LAST_CORE}; node and peers on ${NODE_CORES})` : 'shared'}`,
  )
  console.log(
    'phase     n  status p50  status p99  frame p50  frame p99  node CPU  flooder CPU  loop lag  load(1m)',
  )
  for (const row of rows)
    console.log(
      `${row.label.padEnd(6)} ${String(row.samples).padStart(4)} ${format(row.statusMs.p50)}    ${format(row.statusMs.p99)}    ${format(row.frameMs.p50)}   ${format(row.frameMs.p99)}   ${(row.targetCpuShare * 100).toFixed(0).padStart(5)} %   ${(row.flooderCpuShare * 100).toFixed(0).padStart(6)} %   ${format(row.targetEventLoopLagP99Ms)}  ${row.loadAverage1m.start.toFixed(1)}→${row.loadAverage1m.end.toFixed(1)}`,
    )
  console.log(
    `flood / idle p99: status ${(flood.statusMs.p99 / idle.statusMs.p99).toFixed(2)}×, frame ${(flood.frameMs.p99 / idle.frameMs.p99).toFixed(2)}×`,
  )
  console.log(`flooder: ${JSON.stringify(flood.flood)}; throttled: ${JSON.stringify(flood.throttled)}`)
  await mkdir(join(root, 'test/bench/results'), { recursive: true })
  await writeFile(
    join(root, 'test/bench/results/flood.json'),
    `${JSON.stringify({ at: new Date().toISOString(), samples, intervalMs, flooderCore, rows }, null, 2)}\n`,
  )
} finally {
  await flooder?.stop()
  await peers.stop()
  // A clean exit writes the profile; stopAll's SIGKILL would not.
  if (profileDir !== undefined) await target.stop('SIGTERM')
  await stopAll()
}
