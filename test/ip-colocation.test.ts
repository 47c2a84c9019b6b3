/**
 * A hub with more than 10 peers at one address (a command center behind one NAT, every node reached
 * through one relay; here 12 real libp2p nodes on 127.0.0.1) keeps them all in good standing: their
 * gossip scores stay non-negative, its gossip mesh fills, and frames one of them publishes reach all
 * the others through it. Pins IP_COLOCATION_SCORE_WEIGHT = 0 (node/libp2p/create-node-libp2p.ts):
 * with gossipsub's default (−5 × (peers at the address − 10)²) every peer scores −20 at the hub, the
 * hub prunes them all from its mesh and relays nothing, and both tests time out (checked by setting
 * the weight back to −5).
 */
import { generateKeyPair } from '@libp2p/crypto/keys'
import { multiaddr } from '@multiformats/multiaddr'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { ContextService } from '../node/context/context-service.ts'
import { createNodeLibp2p, type NodeLibp2p } from '../node/libp2p/create-node-libp2p.ts'
import { EventRing } from '../node/mesh/event-ring.ts'
import { WorldModel } from '../node/world/world-model.ts'
import type { FrameFields } from '../protocol/context/index.ts'
import { contextTopic, DEFAULT_MESH_NAME, type MeshIdentity, PROTOCOL_GENERATION } from '../protocol/mesh.ts'
import { signerFromPrivateKey } from '../protocol/signing.ts'
import { Counters } from '../runtime/counters.ts'
import { installNativeCrypto } from '../runtime/libp2p/native-crypto.ts'

installNativeCrypto()

const mesh: MeshIdentity = { meshName: DEFAULT_MESH_NAME, generation: PROTOCOL_GENERATION }
const topic = contextTopic(mesh)
/** Two above gossipsub's IP-colocation threshold (10 peers at one address). */
const PEERS_AT_ONE_ADDRESS = 12
/** gossipsub's low-water mark of the mesh (Dlo, default 4): a hub with fewer grafts more. */
const MESH_LOW_WATER = 4
const FRAMES = 5
const WAIT_MS = 20_000

interface Member {
  libp2p: NodeLibp2p
  context: ContextService
  received: Set<string>
}

async function member(name: string): Promise<Member> {
  const privateKey = await generateKeyPair('Ed25519')
  const libp2p = await createNodeLibp2p({
    privateKey,
    mesh,
    listen: ['/ip4/127.0.0.1/tcp/0/ws'],
    gater: { denyDialMultiaddr: () => false },
  })
  const signer = signerFromPrivateKey(privateKey)
  const context = new ContextService({
    libp2p,
    mesh,
    signer,
    displayName: name,
    world: new WorldModel(),
    counters: new Counters(),
    events: new EventRing(100),
    isTrustedOrigin: () => true,
    log: () => {},
  })
  const received = new Set<string>()
  context.onFrame((frame) => {
    if (frame.origin !== signer.id && frame.note !== undefined) received.add(frame.note)
  })
  await libp2p.start()
  context.start()
  return { libp2p, context, received }
}

const gossip = (libp2p: NodeLibp2p) =>
  libp2p.services.pubsub as unknown as {
    getMeshPeers(topic: string): string[]
    getScore(peerId: string): number
    getSubscribers(topic: string): unknown[]
  }

async function until(condition: () => boolean, what: string): Promise<void> {
  const deadline = Date.now() + WAIT_MS
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await new Promise((resolve) => setTimeout(resolve, 100))
  }
}

let hub: Member
let peers: Member[]

beforeAll(async () => {
  hub = await member('hub')
  peers = await Promise.all(Array.from({ length: PEERS_AT_ONE_ADDRESS }, (_, i) => member(`field-${i}`)))
  const hubAddress = hub.libp2p.getMultiaddrs().find((address) => address.toString().includes('/ws'))
  await Promise.all(peers.map((peer) => peer.libp2p.dial(multiaddr(hubAddress?.toString() ?? ''))))
  await until(
    () => gossip(hub.libp2p).getSubscribers(topic).length === PEERS_AT_ONE_ADDRESS,
    'the hub to see every peer subscribed',
  )
})

afterAll(async () => {
  await Promise.all(
    [hub, ...peers].map(async ({ libp2p, context }) => {
      context.stop()
      await libp2p.stop()
    }),
  )
})

describe('a hub with 12 peers at one address (IP_COLOCATION_SCORE_WEIGHT = 0)', () => {
  it('grafts them into its mesh and scores every one non-negative', async () => {
    await until(() => gossip(hub.libp2p).getMeshPeers(topic).length >= MESH_LOW_WATER, 'the hub mesh')
    const hubId = hub.libp2p.peerId.toString()
    await until(
      () => peers.every((peer) => gossip(peer.libp2p).getMeshPeers(topic).includes(hubId)),
      'every peer to have the hub in its mesh',
    )
    for (const peer of peers)
      expect(gossip(hub.libp2p).getScore(peer.libp2p.peerId.toString())).toBeGreaterThanOrEqual(0)
    expect(gossip(hub.libp2p).getMeshPeers(topic).length).toBeGreaterThanOrEqual(MESH_LOW_WATER)
  })

  it('relays the frames one peer publishes to all the others', async () => {
    const [publisher, ...others] = peers as [Member, ...Member[]]
    const notes = Array.from({ length: FRAMES }, (_, seq) => `colocated-${seq}`)
    for (const note of notes) await publisher.context.publish(frameFields(note))
    await until(
      () => others.every((peer) => notes.every((note) => peer.received.has(note))),
      'every other peer to receive every frame',
    )
    expect(others.map((peer) => peer.received.size)).toEqual(others.map(() => FRAMES))
  })
})

function frameFields(note: string): FrameFields {
  return {
    generation: mesh.generation,
    meshName: mesh.meshName,
    kind: 'observation',
    originName: 'field-0',
    data: { zone: 'zone-1', metric: 'soil-moisture', value: 41, unit: '%' },
    trust: { tier: 'T1', sources: ['sensor:soil-moisture:zone-1'] },
    note,
  }
}
