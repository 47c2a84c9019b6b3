/**
 * Two meshes of different names, with real node processes: a key of the other mesh that this node
 * nevertheless trusts gets nothing from it. Its CLI is refused RPC (a CLI of this node's own mesh is
 * served), and a libp2p peer announcing the other mesh while subscribing to this mesh's context
 * topic receives no frame — neither before its hello is decided nor in the grace before the hang-up.
 */
import { generateKeyPair } from '@libp2p/crypto/keys'
import type { Message } from '@libp2p/gossipsub'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { multiaddr } from '@multiformats/multiaddr'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createNodeLibp2p, type NodeLibp2p } from '../node/libp2p/create-node-libp2p.ts'
import { contextTopic, PROTOCOL_GENERATION } from '../protocol/mesh.ts'
import type { MeshHealth } from '../protocol/rpc/methods.ts'
import { installNativeCrypto } from '../runtime/libp2p/native-crypto.ts'
import {
  cliJson,
  makeStateDir,
  type NodeProcess,
  runCli,
  startNode,
  stopAll,
  waitFor,
} from './helpers/processes.ts'

// As the node's composition root does: these libp2p stacks are built here, in-process.
installNativeCrypto()

/** Long enough for several mock-sensor batches (one every 2 s) to be published meanwhile. */
const EXPOSURE_MS = 8_000

const FARM_A = { meshName: 'farm-a', generation: PROTOCOL_GENERATION }
const FARM_B = { meshName: 'farm-b', generation: PROTOCOL_GENERATION }

let fieldA: NodeProcess
let sameMeshDir: string
let otherMeshDir: string
let intruder: NodeLibp2p | undefined

const countersOf = async (node: NodeProcess) =>
  (await cliJson<{ health: MeshHealth }>(['status', '--url', node.url], node.stateDir)).health.counters

beforeAll(async () => {
  const dirA = await makeStateDir('farm-a')
  sameMeshDir = await makeStateDir('farm-a-other')
  otherMeshDir = await makeStateDir('farm-b')
  const cliKeyOf = async (dir: string) => (await cliJson<{ cliKeyId: string }>(['identity'], dir)).cliKeyId
  // Field node A trusts the CLI keys of a node of its own mesh and of a node of another mesh.
  for (const dir of [sameMeshDir, otherMeshDir])
    expect((await runCli(['trust', 'add', await cliKeyOf(dir)], dirA)).code).toBe(0)
  fieldA = await startNode(dirA, ['--name', 'field-1', '--field-node', '--mesh-name', 'farm-a'])
  // Each other node records its mesh for its state dir's CLI; they are not connected to A.
  await startNode(sameMeshDir, ['--name', 'a-2', '--mesh-name', 'farm-a'])
  await startNode(otherMeshDir, ['--name', 'b-1', '--mesh-name', 'farm-b'])
}, 90_000)

afterAll(async () => {
  await intruder?.stop()
  await stopAll()
})

describe('a trusted key of another mesh', () => {
  it('is refused RPC as a CLI client, while a CLI of the same mesh is served', async () => {
    const same = await runCli(['status', '--url', fieldA.url, '--json'], sameMeshDir)
    expect(same.code, same.stderr).toBe(0)
    expect(JSON.parse(same.stdout).meshName).toBe('farm-a')

    const before = (await countersOf(fieldA))['rpc.refused.UNAUTHORIZED'] ?? 0
    const other = await runCli(['status', '--url', fieldA.url, '--json'], otherMeshDir)
    expect(other.code).not.toBe(0)
    expect(other.stderr).toContain('UNAUTHORIZED')
    expect((await countersOf(fieldA))['rpc.refused.UNAUTHORIZED'] ?? 0).toBeGreaterThan(before)
  })

  it('receives no frame of this mesh, though subscribed to its topic and trusted', {
    timeout: 60_000,
  }, async () => {
    const key = await generateKeyPair('Ed25519')
    expect((await runCli(['trust', 'add', peerIdFromPrivateKey(key).toString()], fieldA.stateDir)).code).toBe(
      0,
    )
    const node = await createNodeLibp2p({
      privateKey: key,
      mesh: FARM_B,
      listen: [],
      gater: { denyDialMultiaddr: () => false },
    })
    intruder = node
    const received: Message[] = []
    node.services.pubsub.addEventListener('message', (event) => received.push(event.detail))
    node.services.pubsub.subscribe(contextTopic(FARM_A))
    const published = async () => (await countersOf(fieldA))['frames.published.batches'] ?? 0
    const batchesBefore = await published()
    const refusalsBefore = (await countersOf(fieldA))['connections.refused.mesh-mismatch'] ?? 0

    // Connect again each time A hangs up, so the intruder is connected (hello pending, then refused
    // and in the grace before the hang-up) for most of the exposure window.
    const address = multiaddr(`/ip4/127.0.0.1/tcp/${fieldA.port}/ws/p2p/${fieldA.deviceId}`)
    const until = Date.now() + EXPOSURE_MS
    let connections = 0
    while (Date.now() < until) {
      const connection = await node.dial(address).catch(() => undefined)
      if (connection === undefined) continue
      connections++
      await waitFor(
        'A to hang up on the intruder',
        () => (connection.status === 'open' ? undefined : true),
        15_000,
      )
    }

    expect(connections).toBeGreaterThan(1)
    // A did publish frames on its topic meanwhile, and refused the intruder's hello each time.
    expect((await published()) - batchesBefore).toBeGreaterThanOrEqual(2)
    expect((await countersOf(fieldA))['connections.refused.mesh-mismatch'] ?? 0).toBeGreaterThan(
      refusalsBefore,
    )
    expect(received.filter((message) => message.topic === contextTopic(FARM_A))).toEqual([])
  })
})
