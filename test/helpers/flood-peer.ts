/**
 * A trusted peer that floods a node, and a well-behaved pair of peers that measure it, for
 * test/flood.test.ts and test/bench/flood.bench.ts.
 *
 * The flood peer is its own process (run this file with a JSON argument), so its CPU is not the
 * measuring process's: a real libp2p stack with a trusted key and a valid mesh hello that publishes
 * validly signed context batches as fast as gossipsub takes them, and keeps RPC_FLOOD_CALLERS
 * `mesh.status` calls in flight at once, each fired again as soon as it is answered. It prints its
 * tallies as one JSON line a second.
 *
 * The well-behaved peers run in the caller's process: `good` publishes a frame now and then and
 * calls `mesh.status`; `listener` only subscribes, so a frame of `good` reaches it through the
 * target node's gossip validation — the path a flood competes for.
 */
import { type ChildProcess, spawn } from 'node:child_process'
import { generateKeyPair } from '@libp2p/crypto/keys'
import type { PrivateKey } from '@libp2p/interface'
import { peerIdFromPrivateKey, peerIdFromString } from '@libp2p/peer-id'
import { multiaddr } from '@multiformats/multiaddr'
import { createNodeLibp2p, type NodeLibp2p } from '../../node/libp2p/create-node-libp2p.ts'
import { callRpc } from '../../node/rpc/rpc-client.ts'
import { type FrameFields, sealBatch } from '../../protocol/context/index.ts'
import { contextTopic, type MeshIdentity, PROTOCOL_GENERATION, rpcProtocolId } from '../../protocol/mesh.ts'
import { signerFromPrivateKey } from '../../protocol/signing.ts'
import { loadOrCreateIdentity } from '../../runtime/identity/device-identity.ts'
import { installNativeCrypto } from '../../runtime/libp2p/native-crypto.ts'

export const FLOOD_MESH: MeshIdentity = { meshName: 'clawmesh', generation: PROTOCOL_GENERATION }

/** `mesh.status` calls the flooder keeps in flight: above the server's per-peer concurrency (16), so
 * both the rate and the concurrency refusals are exercised. */
const RPC_FLOOD_CALLERS = 32

/** Frames per flood batch: small batches make the most gossip messages, the costlier case. */
const FLOOD_BATCH_FRAMES = 4

export interface FloodTally {
  gossipBatches: number
  rpcAnswered: number
  rpcRefused: number
  rpcFailed: number
}

export interface FloodPeerOptions {
  /** A key file (created if missing) the target node trusts under `name`. */
  keyFile: string
  name: string
  targetPort: number
  targetDeviceId: string
  gossip: boolean
  rpc: boolean
}

export interface FloodPeerProcess {
  readonly child: ChildProcess
  /** The latest tally it printed. */
  tally(): FloodTally
  stop(): Promise<void>
}

export function spawnFloodPeer(options: FloodPeerOptions): Promise<FloodPeerProcess> {
  const child = spawn(process.execPath, [import.meta.filename, JSON.stringify(options)], {
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  let latest: FloodTally = { gossipBatches: 0, rpcAnswered: 0, rpcRefused: 0, rpcFailed: 0 }
  let output = ''
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()))
  return new Promise((resolve, reject) => {
    child.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString()))
    child.stdout?.on('data', (chunk: Buffer) => {
      for (const line of chunk.toString().split('\n')) {
        if (line.startsWith('flooding')) {
          resolve({
            child,
            tally: () => latest,
            stop: async () => {
              if (child.exitCode === null) child.kill('SIGKILL')
              await exited
            },
          })
        } else if (line.startsWith('{')) latest = JSON.parse(line) as FloodTally
      }
    })
    child.once('exit', (code) => reject(new Error(`flood peer exited with ${code}: ${output}`)))
  })
}

/** A peer of the mesh built in this process (trusted by the target under its name). */
export async function meshPeer(privateKey?: PrivateKey): Promise<NodeLibp2p> {
  installNativeCrypto()
  return createNodeLibp2p({
    privateKey: privateKey ?? (await generateKeyPair('Ed25519')),
    mesh: FLOOD_MESH,
    listen: [],
    gater: { denyDialMultiaddr: () => false },
  })
}

export function targetAddress(port: number, deviceId: string) {
  return multiaddr(`/ip4/127.0.0.1/tcp/${port}/ws/p2p/${deviceId}`)
}

/** Waits until `peer` sees the target subscribed to the context topic (gossip can flow). */
export async function joinTopic(peer: NodeLibp2p, targetDeviceId: string, timeoutMs = 20_000): Promise<void> {
  const topic = contextTopic(FLOOD_MESH)
  peer.services.pubsub.subscribe(topic)
  const deadline = Date.now() + timeoutMs
  while (!peer.services.pubsub.getSubscribers(topic).some((id) => id.toString() === targetDeviceId)) {
    if (Date.now() > deadline) throw new Error(`${targetDeviceId} never subscribed to ${topic}`)
    await new Promise((resolve) => setTimeout(resolve, 100))
  }
}

export function observation(name: string, value: number): FrameFields {
  return {
    generation: FLOOD_MESH.generation,
    meshName: FLOOD_MESH.meshName,
    originName: name,
    kind: 'observation',
    data: { zone: 'zone-1', metric: 'soil-moisture', value, unit: '%' },
    trust: { tier: 'T1', sources: [`sensor:soil-moisture:${name}`] },
  } as FrameFields
}

/** The well-behaved side: `good` publishes and calls, `listener` times good's frames through the
 * target. Latencies in milliseconds. */
export interface WellBehavedPeers {
  readonly good: NodeLibp2p
  readonly listener: NodeLibp2p
  statusCall(): Promise<number>
  /** Publishes one frame of `good` and resolves with the time until `listener` received it (or
   * rejects after `timeoutMs`). */
  frameLatency(timeoutMs?: number): Promise<number>
  stop(): Promise<void>
}

export async function wellBehavedPeers(
  keys: { good: PrivateKey; listener: PrivateKey },
  goodName: string,
  target: { port: number; deviceId: string },
): Promise<WellBehavedPeers> {
  const topic = contextTopic(FLOOD_MESH)
  const signer = signerFromPrivateKey(keys.good)
  const good = await meshPeer(keys.good)
  const listener = await meshPeer(keys.listener)
  const waiting = new Map<number, (receivedAt: number) => void>()
  listener.services.pubsub.addEventListener('message', (event) => {
    if (event.detail.topic !== topic) return
    const receivedAt = performance.now()
    const batch = JSON.parse(new TextDecoder().decode(event.detail.data)) as {
      origin: string
      frames: Array<{ data?: { value?: number } }>
    }
    if (batch.origin !== signer.id) return
    for (const frame of batch.frames) {
      const value = frame.data?.value
      if (value !== undefined) waiting.get(value)?.(receivedAt)
    }
  })
  for (const peer of [good, listener]) {
    await peer.dial(targetAddress(target.port, target.deviceId))
    await joinTopic(peer, target.deviceId)
  }
  const targetPeer = peerIdFromString(target.deviceId)
  const rpcProtocol = rpcProtocolId(FLOOD_MESH.generation)
  let sequence = 0
  return {
    good,
    listener,
    statusCall: async () => {
      const startedAt = performance.now()
      await callRpc(good, targetPeer, rpcProtocol, 'mesh.status', {})
      return performance.now() - startedAt
    },
    frameLatency: async (timeoutMs = 10_000) => {
      // Values are the sequence: unique per frame, so the listener matches each frame to its send.
      const value = ++sequence
      const received = new Promise<number>((resolve, reject) => {
        const timer = setTimeout(() => {
          waiting.delete(value)
          reject(new Error(`frame ${value} of ${goodName} did not reach the listener in ${timeoutMs} ms`))
        }, timeoutMs)
        waiting.set(value, (receivedAt) => {
          clearTimeout(timer)
          waiting.delete(value)
          resolve(receivedAt)
        })
      })
      const { bytes } = await sealBatch(signer, [observation(goodName, value)])
      const sentAt = performance.now()
      await good.services.pubsub.publish(topic, bytes)
      return (await received) - sentAt
    },
    stop: async () => {
      await Promise.all([good.stop(), listener.stop()])
    },
  }
}

/** The flood itself, in the flood peer's own process. */
async function flood(options: FloodPeerOptions): Promise<void> {
  const identity = await loadOrCreateIdentity(options.keyFile)
  const peer = await meshPeer(identity.privateKey)
  await peer.dial(targetAddress(options.targetPort, options.targetDeviceId))
  await joinTopic(peer, options.targetDeviceId)
  const tally: FloodTally = { gossipBatches: 0, rpcAnswered: 0, rpcRefused: 0, rpcFailed: 0 }
  setInterval(() => console.log(JSON.stringify(tally)), 1_000)
  console.log('flooding')
  const topic = contextTopic(FLOOD_MESH)
  const signer = signerFromPrivateKey(identity.privateKey)
  const targetPeer = peerIdFromString(options.targetDeviceId)
  const rpcProtocol = rpcProtocolId(FLOOD_MESH.generation)
  if (options.rpc) {
    for (let caller = 0; caller < RPC_FLOOD_CALLERS; caller++) {
      void (async () => {
        for (;;) {
          try {
            await callRpc(peer, targetPeer, rpcProtocol, 'mesh.status', {})
            tally.rpcAnswered++
          } catch (error) {
            if ((error as { code?: string }).code === 'RATE_LIMITED') tally.rpcRefused++
            else tally.rpcFailed++
          }
        }
      })()
    }
  }
  if (!options.gossip) return
  let value = 0
  for (;;) {
    const fields = Array.from({ length: FLOOD_BATCH_FRAMES }, () => observation(options.name, ++value))
    const { bytes } = await sealBatch(signer, fields)
    await peer.services.pubsub.publish(topic, bytes).catch(() => undefined)
    tally.gossipBatches++
    // Let RPC answers and the connection's own work through; otherwise as fast as it can.
    if (tally.gossipBatches % 16 === 0) await new Promise((resolve) => setImmediate(resolve))
  }
}

export function floodPeerId(privateKey: PrivateKey): string {
  return peerIdFromPrivateKey(privateKey).toString()
}

if (process.argv[1] === import.meta.filename) {
  await flood(JSON.parse(process.argv[2] as string) as FloodPeerOptions)
}
