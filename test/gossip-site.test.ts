/**
 * A site's gossip runs through its command center (node/libp2p/gossip-site.ts), on real libp2p
 * nodes over WebSockets: a hub H and three field nodes that each link to H, with field links A–B and
 * B–C (C is two field hops from A).
 *
 * - With H up, each field node's gossip mesh is H alone, and a batch A publishes reaches B through
 *   H, although A and B are linked: one copy per node instead of one per link.
 * - With H gone, frames still cross the field links: B hears A directly (A publishes to every
 *   neighbour again) and C gets it from B by gossip (IHAVE/IWANT), though B's mesh is empty until
 *   gossipsub's prune backoff ends.
 *
 * Then the same wiring as `clawmesh start` sets it up: a command center is a hub, a field node that
 * names it (`--command-center-id`) a spoke, and `clawmesh inspect` says so.
 */
import { generateKeyPair } from '@libp2p/crypto/keys'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createNodeLibp2p, type NodeLibp2p } from '../node/libp2p/create-node-libp2p.ts'
import type { GossipSite } from '../node/libp2p/gossip-site.ts'
import { contextTopic, DEFAULT_MESH_NAME, type MeshIdentity, PROTOCOL_GENERATION } from '../protocol/mesh.ts'
import type { MeshInspect } from '../protocol/rpc/methods.ts'
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

installNativeCrypto()

const mesh: MeshIdentity = { meshName: DEFAULT_MESH_NAME, generation: PROTOCOL_GENERATION }
const topic = contextTopic(mesh)
const WAIT_MS = 20_000

interface Node {
  name: string
  libp2p: NodeLibp2p
  /** The peer each message (by its text) first arrived from. */
  firstFrom: Map<string, string>
}

let hubId = ''

async function node(name: string, site: GossipSite): Promise<Node> {
  const libp2p = await createNodeLibp2p({
    privateKey: await generateKeyPair('Ed25519'),
    mesh,
    listen: ['/ip4/127.0.0.1/tcp/0/ws'],
    gater: { denyDialMultiaddr: () => false },
    gossipSite: site,
  })
  const firstFrom = new Map<string, string>()
  libp2p.services.pubsub.addEventListener('gossipsub:message', (event) => {
    const { msg, propagationSource } = event.detail
    const text = new TextDecoder().decode(msg.data)
    if (!firstFrom.has(text)) firstFrom.set(text, propagationSource.toString())
  })
  await libp2p.start()
  libp2p.services.pubsub.subscribe(topic)
  return { name, libp2p, firstFrom }
}

const spoke: GossipSite = { role: 'spoke', isHub: (deviceId) => deviceId === hubId }
const meshOf = (node: Node) =>
  (node.libp2p.services.pubsub as unknown as { getMeshPeers(topic: string): string[] }).getMeshPeers(topic)
const idOf = (node: Node) => node.libp2p.peerId.toString()

async function until(condition: () => boolean, what: string): Promise<void> {
  const deadline = Date.now() + WAIT_MS
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await new Promise((resolve) => setTimeout(resolve, 100))
  }
}

async function link(from: Node, to: Node): Promise<void> {
  await from.libp2p.dial(to.libp2p.getMultiaddrs())
}

async function publish(from: Node, text: string): Promise<void> {
  await from.libp2p.services.pubsub.publish(topic, new TextEncoder().encode(text))
}

describe('a site gossiping through its command center', () => {
  let hub: Node
  let a: Node
  let b: Node
  let c: Node

  beforeAll(async () => {
    hub = await node('hub', { role: 'hub' })
    hubId = idOf(hub)
    a = await node('a', spoke)
    b = await node('b', spoke)
    c = await node('c', spoke)
    for (const field of [a, b, c]) await link(field, hub)
    await link(a, b)
    await link(b, c)
  })

  afterAll(async () => {
    await Promise.all([hub, a, b, c].map((member) => member?.libp2p.stop()))
  })

  it('keeps the hub as each field node’s only mesh peer and relays a neighbour’s batch through it', async () => {
    await until(
      () => [a, b, c].every((field) => meshOf(field).join() === hubId) && meshOf(hub).length === 3,
      'every field mesh to be the hub alone and the hub’s to hold all three',
    )
    // Subscriptions seen both ways on the field links too (the links are there, only not meshed).
    await until(
      () => a.libp2p.services.pubsub.getSubscribers(topic).some((peer) => peer.equals(b.libp2p.peerId)),
      'A to see B subscribed',
    )
    await publish(a, 'via-hub')
    await until(() => b.firstFrom.has('via-hub') && c.firstFrom.has('via-hub'), 'B and C to receive')
    expect(b.firstFrom.get('via-hub')).toBe(hubId)
    expect(c.firstFrom.get('via-hub')).toBe(hubId)
    expect(hub.firstFrom.get('via-hub')).toBe(idOf(a))
  })

  it('still carries frames over the field links when the hub is gone', async () => {
    await hub.libp2p.stop()
    await until(() => [a, b, c].every((field) => meshOf(field).length === 0), 'the hub to leave every mesh')
    await publish(a, 'hub-gone')
    await until(() => b.firstFrom.has('hub-gone'), 'B to hear A directly')
    expect(b.firstFrom.get('hub-gone')).toBe(idOf(a))
    // C is linked to B only: it learns of the batch from B's gossip and asks for it.
    await until(() => c.firstFrom.has('hub-gone'), 'C to receive through B')
    expect(c.firstFrom.get('hub-gone')).toBe(idOf(b))
  })
})

describe('clawmesh start on a site', () => {
  let cc: NodeProcess
  let field: NodeProcess

  beforeAll(async () => {
    const ccDir = await makeStateDir('site-cc')
    const fieldDir = await makeStateDir('site-field')
    const [ccId] = await trustEachOther([ccDir, fieldDir], ['command-center', 'field-1'])
    cc = await startNode(ccDir, ['--name', 'command-center', '--command-center'])
    field = await startNode(fieldDir, [
      '--name',
      'field-1',
      '--command-center-id',
      ccId as string,
      '--peer',
      `${ccId}=${cc.url}`,
    ])
  })

  afterAll(async () => {
    await stopAll()
  })

  it('makes the command center the hub and a field node naming it a spoke through it', async () => {
    await waitFor('the field node to mesh with its command center', async () => {
      const report = await cliJson<MeshInspect>(['inspect', '--url', field.url], field.stateDir)
      return report.gossipsub.site?.hubsInMesh.includes(cc.deviceId) ? report : undefined
    })
    const hubReport = await cliJson<MeshInspect>(['inspect', '--url', cc.url], cc.stateDir)
    expect(hubReport.gossipsub.site).toEqual({ role: 'hub', hubsInMesh: [] })
    const text = await runCli(['inspect', '--url', field.url], field.stateDir)
    expect(text.stdout).toContain(`gossip site: spoke through ${cc.deviceId}`)
  })
})
