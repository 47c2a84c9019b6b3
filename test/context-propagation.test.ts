/**
 * Context frames across five real node processes: what one node observes reaches every world model
 * with its origin signature intact; forged, oversized, malformed and untrusted-origin gossip sent by
 * a trusted-but-hostile peer is refused and counted, and that peer loses gossip score. A restarted
 * node restores its world model from its snapshot, and a node that was offline catches up with
 * `context.sync`.
 */
import { existsSync } from 'node:fs'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { multiaddr } from '@multiformats/multiaddr'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createNodeLibp2p, type NodeLibp2p } from '../node/libp2p/create-node-libp2p.ts'
import {
  BATCH_COALESCE_WINDOW_MAX_MS,
  BATCH_COALESCE_WINDOW_MS,
  buildUnsignedFrame,
  createBatch,
  encodeBatch,
  type Frame,
  frameSigningValue,
  hasValidOriginSignature,
} from '../protocol/context/index.ts'
import { WORLD_QUERY_MAX_LIMIT } from '../protocol/limits.ts'
import { contextTopic, PROTOCOL_GENERATION } from '../protocol/mesh.ts'
import type { MeshHealth, MeshInspect } from '../protocol/rpc/methods.ts'
import { signerFromPrivateKey, signValue } from '../protocol/signing.ts'
import { installNativeCrypto } from '../runtime/libp2p/native-crypto.ts'
import {
  cliJson,
  makeStateDir,
  type NodeProcess,
  runCli,
  startNode,
  stopAll,
  trustEachOther,
  waitFor,
} from './helpers/processes.ts'

// As the node's composition root does: these libp2p stacks are built here, in-process.
installNativeCrypto()

const MESH = { meshName: 'clawmesh', generation: PROTOCOL_GENERATION }
const NAMES = ['hub', 'field-1', 'n2', 'n3', 'n4']
let nodes: NodeProcess[] = []
let dirs: string[] = []
let ids: string[] = []
let hostile: NodeLibp2p
let hostileSigner: ReturnType<typeof signerFromPrivateKey>

const worldOf = (node: NodeProcess, args: string[] = []) =>
  cliJson<{ frames: Frame[] }>(
    ['world', '--url', node.url, '--limit', String(WORLD_QUERY_MAX_LIMIT), ...args],
    node.stateDir,
  )

beforeAll(async () => {
  dirs = await Promise.all(NAMES.map((name) => makeStateDir(name)))
  ids = await trustEachOther(dirs)
  const hostileKey = await generateKeyPair('Ed25519')
  const hostileId = peerIdFromPrivateKey(hostileKey).toString()
  hostileSigner = signerFromPrivateKey(hostileKey)
  await runCli(['trust', 'add', hostileId, '--name', 'hostile'], dirs[0] as string)
  const hub = await startNode(dirs[0] as string, ['--name', 'hub', '--role', 'planner'])
  const peerArgs = ['--peer', `${ids[0]}=${hub.url}`]
  const rest = await Promise.all(
    NAMES.slice(1).map((name, index) =>
      startNode(dirs[index + 1] as string, [
        '--name',
        name,
        ...(name === 'field-1' ? ['--field-node'] : []),
        ...peerArgs,
      ]),
    ),
  )
  nodes = [hub, ...rest]
  hostile = await createNodeLibp2p({
    privateKey: hostileKey,
    mesh: MESH,
    listen: [],
    gater: { denyDialMultiaddr: () => false },
  })
  hostile.services.pubsub.subscribe(contextTopic(MESH))
  await hostile.dial(multiaddr(`/ip4/127.0.0.1/tcp/${hub.port}/ws/p2p/${ids[0]}`))
}, 90_000)

afterAll(async () => {
  await hostile?.stop()
  await stopAll()
})

describe('context frames over gossipsub', () => {
  it('an observation published on the field node is in every world model with a valid origin signature', async () => {
    const fieldId = ids[1] as string
    for (const node of nodes) {
      const frames = await waitFor(
        `observations of field-1 at ${node.deviceId}`,
        async () => {
          const world = await worldOf(node, ['--kind', 'observation'])
          const fromField = world.frames.filter((frame) => frame.origin === fieldId)
          return fromField.length > 0 ? fromField : undefined
        },
        30_000,
      )
      for (const frame of frames.slice(0, 5)) expect(await hasValidOriginSignature(frame)).toBe(true)
    }
    // The publisher says how long it holds frames to batch them, and the CPU pressure behind that.
    const field = nodes[1] as NodeProcess
    const { health } = await cliJson<{ health: MeshHealth }>(['status', '--url', field.url], field.stateDir)
    expect(health.publishing?.windowMs).toBeGreaterThanOrEqual(BATCH_COALESCE_WINDOW_MS)
    expect(health.publishing?.windowMs).toBeLessThanOrEqual(BATCH_COALESCE_WINDOW_MAX_MS)
    if (existsSync('/proc/pressure/cpu')) expect(health.publishing?.cpuPressure).toBeGreaterThanOrEqual(0)
    else expect(health.publishing?.cpuPressure).toBeNull()
    const batches = health.counters['frames.published.batches'] ?? 0
    expect(batches).toBeGreaterThanOrEqual(1)
    expect(batches).toBeLessThanOrEqual(health.counters['frames.published'] ?? 0)
    const text = await runCli(['status', '--url', field.url], field.stateDir)
    expect(text.stdout).toMatch(
      /publishing frames batched within \d+\.\d ms \(CPU pressure (\d+ %|not reported)\)/,
    )
  })

  it('refuses forged, oversized, malformed and untrusted-origin gossip and lowers the sender score', async () => {
    const hub = nodes[0] as NodeProcess
    await waitFor('the hostile peer to join the hub mesh', async () => {
      const report = await cliJson<MeshInspect>(['inspect', '--url', hub.url], hub.stateDir)
      return report.gossipsub.topics.some((topic) => topic.subscribers.includes(hostile.peerId.toString()))
        ? true
        : undefined
    })
    await waitFor('the hostile peer to see the hub subscribed', () =>
      hostile.services.pubsub.getSubscribers(contextTopic(MESH)).some((peer) => peer.toString() === ids[0])
        ? true
        : undefined,
    )
    const topic = contextTopic(MESH)
    const observation = () => ({
      generation: MESH.generation,
      meshName: MESH.meshName,
      kind: 'observation' as const,
      originName: 'field-1',
      data: { zone: 'zone-1', metric: 'soil-moisture', value: 1, unit: '%' },
      trust: { tier: 'T3' as const, sources: ['forged'] },
    })
    // Forged: a well-formed frame claiming field-1 as origin, signed with the hostile peer's key.
    const forgedBody = buildUnsignedFrame(ids[1] as string, observation()) as Frame
    const forgedFrame = {
      ...forgedBody,
      signature: await signValue(hostileSigner, 'context-frame', frameSigningValue(forgedBody)),
    }
    const publish = (bytes: Uint8Array) =>
      hostile.services.pubsub
        .publish(topic, bytes)
        .catch((error: Error) => console.error('hostile publish failed:', error.message))
    await publish(new TextEncoder().encode(JSON.stringify({ origin: ids[1], frames: [forgedFrame] })))
    await publish(
      new TextEncoder().encode(
        JSON.stringify({
          origin: ids[1],
          frames: [{ ...buildUnsignedFrame(ids[1] as string, observation()), pad: 'x'.repeat(300_000) }],
        }),
      ),
    )
    await publish(new TextEncoder().encode('{"not": "a batch"'))
    const stranger = signerFromPrivateKey(await generateKeyPair('Ed25519'))
    await publish(encodeBatch(await createBatch(stranger, [observation()], 'per-frame')))

    let lastCounters: Record<string, number> = {}
    const health = await waitFor('the hub to count every refusal', async () => {
      const status = await cliJson<{ health: MeshHealth }>(['status', '--url', hub.url], hub.stateDir)
      const counters = status.health.counters
      lastCounters = counters
      const rejected = ['bad-signature', 'oversized', 'malformed'].every(
        (reason) => (counters[`frames.rejected.${reason}`] ?? 0) > 0,
      )
      return rejected && (counters['frames.ignored.untrusted-origin'] ?? 0) > 0 ? status.health : undefined
    }).catch((error: Error) => {
      throw new Error(`${error.message}; hub counters: ${JSON.stringify(lastCounters)}`)
    })
    expect(health.counters['frames.rejected.bad-signature']).toBeGreaterThanOrEqual(1)
    expect(health.counters[`frames.rejected.from.${hostile.peerId.toString()}`]).toBeGreaterThanOrEqual(3)
    const report = await waitFor('the hostile peer score to drop', async () => {
      const inspect = await cliJson<MeshInspect>(['inspect', '--url', hub.url], hub.stateDir)
      return (inspect.gossipsub.scores[hostile.peerId.toString()] ?? 0) < 0 ? inspect : undefined
    })
    // The honest peer keeps a score of its own at the hub, and not a negative one: a missing score
    // is a failure here, not a zero.
    const honestScore = report.gossipsub.scores[ids[1] as string]
    expect(honestScore).toBeTypeOf('number')
    expect(honestScore).toBeGreaterThanOrEqual(0)
    const world = await worldOf(hub)
    expect(world.frames.some((frame) => frame.trust.sources.includes('forged'))).toBe(false)
  })

  it('restores the world model from its snapshot after a restart, and a node that was offline catches up via context.sync', async () => {
    const n4 = nodes[4] as NodeProcess
    // Run alone (`-t`), this test may start before n4 has heard from the field node.
    const before = await waitFor(
      'observations of field-1 at n4',
      async () => {
        const world = await worldOf(n4, ['--kind', 'observation'])
        return world.frames.some((frame) => frame.origin === ids[1]) ? world : undefined
      },
      30_000,
    )
    expect(await n4.stop('SIGTERM')).toBe(0)
    // While n4 is offline the field node keeps publishing.
    const offlineFrom = Date.now()
    await new Promise((resolve) => setTimeout(resolve, 4_500))
    const restarted = await startNode(n4.stateDir, [
      '--name',
      'n4',
      '--peer',
      `${ids[0]}=${(nodes[0] as NodeProcess).url}`,
    ])
    nodes[4] = restarted
    const restoredIds = new Set(
      (await worldOf(restarted, ['--kind', 'observation'])).frames.map((frame) => frame.frameId),
    )
    expect(before.frames.every((frame) => restoredIds.has(frame.frameId))).toBe(true)
    await waitFor('frames published while offline to arrive via context.sync', async () => {
      const world = await worldOf(restarted, ['--kind', 'observation'])
      const missed = world.frames.filter(
        (frame) =>
          frame.origin === ids[1] &&
          frame.timestamp > offlineFrom + 500 &&
          frame.timestamp < offlineFrom + 4_000,
      )
      return missed.length > 0 ? true : undefined
    })
    expect(restarted.output()).toMatch(/restored \d+ frames from the world-model snapshot/)
    expect(restarted.output()).toMatch(/caught up \d+ frames from/)
    // The catch-up listed what its peer held and fetched only what the snapshot lacked.
    const { health } = await cliJson<{ health: MeshHealth }>(
      ['status', '--url', restarted.url],
      restarted.stateDir,
    )
    expect(health.counters['context.catchup.held']).toBeGreaterThan(0)
    expect(health.counters['context.catchup.fallback']).toBeUndefined()
  })
})
