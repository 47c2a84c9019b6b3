/**
 * Benchmark: how long two nodes with no direct address take to meet through `clawmesh-relay` and
 * stand on a direct WebRTC link. Per run, with fresh keys: A starts and its reservation on the relay
 * appears as a `/p2p-circuit/webrtc` address ("reservation"), then B dials that address until the
 * direct WebRTC connection is open ("upgrade"), then A's first gossip message reaches B ("first
 * gossip"). The relay runs in this process on loopback, so the figures are the protocol's cost, not a
 * WAN's round trips.
 *
 *   node test/bench/relay-upgrade.bench.ts [--runs 10]
 *
 * Prints a table and writes test/bench/results/relay-upgrade.json.
 */
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { parseArgs } from 'node:util'
import { generateKeyPair } from '@libp2p/crypto/keys'
import type { PrivateKey } from '@libp2p/interface'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { createNodeLibp2p, type NodeLibp2p } from '../../node/libp2p/create-node-libp2p.ts'
import {
  contextTopic,
  DEFAULT_MESH_NAME,
  type MeshIdentity,
  PROTOCOL_GENERATION,
} from '../../protocol/mesh.ts'
import { installNativeCrypto } from '../../runtime/libp2p/native-crypto.ts'
import { createTrustGater } from '../../runtime/trust/trust-gater.ts'
import { startRelay } from '../../signaling/relay.ts'
import { percentile } from './stats.ts'

// As the node's composition root does: these libp2p stacks are built here, in-process.
installNativeCrypto()

const root = resolve(import.meta.dirname, '../..')
const { values } = parseArgs({ options: { runs: { type: 'string', default: '10' } } })
const runs = Number(values.runs)
const mesh: MeshIdentity = { meshName: DEFAULT_MESH_NAME, generation: PROTOCOL_GENERATION }
const STOP_TIMEOUT_MS = 5_000

const stateDir = await mkdtemp(join(tmpdir(), 'clawmesh-bench-relay-'))
const relay = await startRelay({
  stateDir,
  host: '127.0.0.1',
  port: 0,
  healthPort: 0,
  meshName: mesh.meshName,
  log: () => {},
})
const relayAddress = relay.listenAddrs()[0] as string

async function nattedNode(privateKey: PrivateKey, peer: string): Promise<NodeLibp2p> {
  return createNodeLibp2p({
    privateKey,
    mesh,
    listen: [`${relayAddress}/p2p-circuit`, '/webrtc'],
    discovery: false,
    gater: createTrustGater({
      isAllowed: (deviceId) => deviceId === relay.deviceId || deviceId === peer,
      onRefused: () => {},
    }),
  })
}

async function until<T>(probe: () => T | undefined, timeoutMs = 20_000): Promise<T> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const value = probe()
    if (value !== undefined) return value
    if (Date.now() > deadline) throw new Error('timed out')
    await new Promise((resolveLater) => setTimeout(resolveLater, 5))
  }
}

async function stop(node: NodeLibp2p): Promise<void> {
  await Promise.all(node.getConnections().map((connection) => connection.close().catch(() => {})))
  await Promise.race([node.stop(), new Promise((resolveLater) => setTimeout(resolveLater, STOP_TIMEOUT_MS))])
}

const reservationMs: number[] = []
const upgradeMs: number[] = []
const firstGossipMs: number[] = []
const failures: string[] = []
for (let run = 0; run < runs; run++) {
  const [keyA, keyB] = await Promise.all([generateKeyPair('Ed25519'), generateKeyPair('Ed25519')])
  const idA = peerIdFromPrivateKey(keyA).toString()
  const idB = peerIdFromPrivateKey(keyB).toString()
  await relay.trust.add(idA)
  await relay.trust.add(idB)

  const runNodes: NodeLibp2p[] = []
  try {
    const started = performance.now()
    const nodeA = await nattedNode(keyA, idB)
    runNodes.push(nodeA)
    const address = await until(() =>
      nodeA.getMultiaddrs().find((candidate) => candidate.toString().includes('/p2p-circuit/webrtc/')),
    )
    reservationMs.push(performance.now() - started)

    const nodeB = await nattedNode(keyB, idA)
    runNodes.push(nodeB)
    const dialed = performance.now()
    const connection = await nodeB.dial(address, { signal: AbortSignal.timeout(20_000) })
    if (!connection.remoteAddr.toString().includes('/webrtc') || connection.limits !== undefined)
      throw new Error(`expected a direct WebRTC connection, got ${connection.remoteAddr}`)
    upgradeMs.push(performance.now() - dialed)

    const topic = contextTopic(mesh)
    const received = new Promise<void>((resolveMessage) =>
      nodeB.services.pubsub.addEventListener('message', () => resolveMessage(), { once: true }),
    )
    nodeA.services.pubsub.subscribe(topic)
    nodeB.services.pubsub.subscribe(topic)
    const subscribed = performance.now()
    await until(() =>
      nodeA.services.pubsub.getSubscribers(topic).some((peer) => peer.toString() === idB) ? true : undefined,
    )
    await nodeA.services.pubsub.publish(topic, new TextEncoder().encode(`run ${run}`))
    await received
    firstGossipMs.push(performance.now() - subscribed)
  } catch (error) {
    failures.push(`run ${run + 1}: ${(error as Error).name}: ${(error as Error).message.split('\n')[0]}`)
  } finally {
    await Promise.all(runNodes.map(stop))
  }
  console.error(
    `run ${run + 1}/${runs} ${failures.at(-1)?.startsWith(`run ${run + 1}:`) ? 'FAILED' : 'done'}`,
  )
}
await relay.stop()
await rm(stateDir, { recursive: true, force: true })

const summary = (samples: number[]) => ({
  p50: Number(percentile(samples, 50).toFixed(1)),
  p90: Number(percentile(samples, 90).toFixed(1)),
  max: Number(Math.max(...samples).toFixed(1)),
})

const result = {
  benchmark: 'relay-upgrade',
  node: process.version,
  runs,
  failures,
  transport: 'loopback, relay in-process, iceServers: []',
  reservationMs: summary(reservationMs),
  upgradeToDirectWebRtcMs: summary(upgradeMs),
  subscribeToFirstGossipMs: summary(firstGossipMs),
}
console.table({
  'node start -> reservation': result.reservationMs,
  'dial via relay -> direct WebRTC': result.upgradeToDirectWebRtcMs,
  'subscribe -> first gossip': result.subscribeToFirstGossipMs,
})
await mkdir(join(root, 'test/bench/results'), { recursive: true })
await writeFile(join(root, 'test/bench/results/relay-upgrade.json'), `${JSON.stringify(result, null, 2)}\n`)
// node-datachannel can keep the event loop alive after every peer connection is closed.
process.exit(0)
