import { readFile } from 'node:fs/promises'
import { createRequire } from 'node:module'
import { dirname, join } from 'node:path'
import { describe, expect, it } from 'vitest'
import {
  GOSSIPSUB_CHECKED_VERSION,
  HUB_DETOUR_SCORE,
  HUB_GOSSIP_DEGREE,
  SiteSteering,
} from './gossip-site.ts'

const TOPIC = 'clawmesh/test/context'

/** gossipsub's two methods as gossip-site.ts uses them, over a mesh the test sets. */
function fakeGossipsub(mesh: string[], topicPeers: string[]) {
  return {
    getMeshPeers: (topic: string) => (topic === TOPIC ? mesh : []),
    selectPeersToPublish: (_topic: string) => ({ tosend: new Set(topicPeers) }),
  }
}

const spokeOf = (hubs: string[]) => ({ role: 'spoke' as const, isHub: (id: string) => hubs.includes(id) })

describe('site steering', () => {
  it('was checked against the installed gossipsub', async () => {
    const require = createRequire(import.meta.url)
    const entry = require.resolve('@libp2p/gossipsub')
    const manifest = join(dirname(entry), '..', '..', 'package.json')
    const { version } = JSON.parse(await readFile(manifest, 'utf8')) as { version: string }
    expect(version, 'gossip-site.ts patches gossipsub: re-check it against this release').toBe(
      GOSSIPSUB_CHECKED_VERSION,
    )
  })

  it('scores a spoke’s other neighbours down only while a hub is in its mesh', () => {
    const mesh: string[] = ['neighbour']
    const steering = new SiteSteering(spokeOf(['hub']), TOPIC)
    steering.attach(fakeGossipsub(mesh, []))
    expect(steering.scoreOf('neighbour')).toBe(0)
    mesh.push('hub')
    expect(steering.scoreOf('neighbour')).toBe(HUB_DETOUR_SCORE)
    expect(steering.scoreOf('hub')).toBe(0)
    expect(steering.hubsInMesh()).toEqual(['hub'])
  })

  it('publishes to the hubs alone while one is in the mesh, to every peer otherwise', () => {
    const mesh: string[] = []
    const pubsub = fakeGossipsub(mesh, ['hub', 'a', 'b'])
    new SiteSteering(spokeOf(['hub']), TOPIC).attach(pubsub)
    expect([...pubsub.selectPeersToPublish(TOPIC).tosend]).toEqual(['hub', 'a', 'b'])
    mesh.push('hub')
    expect([...pubsub.selectPeersToPublish(TOPIC).tosend]).toEqual(['hub'])
    expect([...pubsub.selectPeersToPublish('another/topic').tosend]).toEqual(['hub', 'a', 'b'])
  })

  it('also publishes straight to its leaves (operator consoles), which stay out of its mesh', () => {
    const mesh: string[] = ['hub']
    const pubsub = fakeGossipsub(mesh, ['hub', 'a', 'console'])
    const steering = new SiteSteering({ ...spokeOf(['hub']), isLeaf: (id) => id === 'console' }, TOPIC)
    steering.attach(pubsub)
    expect([...pubsub.selectPeersToPublish(TOPIC).tosend]).toEqual(['hub', 'console'])
    // Still a detour for the mesh: gossipsub's heartbeat neither grafts it nor forwards to it.
    expect(steering.scoreOf('console')).toBe(HUB_DETOUR_SCORE)
    // A leaf gossipsub left out of its selection (below the publish threshold) is not added back.
    const below = fakeGossipsub(mesh, ['hub', 'a'])
    new SiteSteering({ ...spokeOf(['hub']), isLeaf: (id) => id === 'console' }, TOPIC).attach(below)
    expect([...below.selectPeersToPublish(TOPIC).tosend]).toEqual(['hub'])
  })

  it('leaves a hub’s and a site-less node’s gossip as gossipsub has it, but for the hub’s degree', () => {
    for (const site of [{ role: 'hub' as const }, undefined]) {
      const pubsub = fakeGossipsub(['hub', 'a'], ['hub', 'a', 'b'])
      const steering = new SiteSteering(site, TOPIC)
      steering.attach(pubsub)
      expect(steering.scoreOf('a')).toBe(0)
      expect([...pubsub.selectPeersToPublish(TOPIC).tosend]).toEqual(['hub', 'a', 'b'])
    }
    expect(new SiteSteering({ role: 'hub' }, TOPIC).degree).toEqual(HUB_GOSSIP_DEGREE)
    expect(new SiteSteering(undefined, TOPIC).degree).toBeUndefined()
  })
})
