/**
 * The gossip watchdog's decisions with an injected clock and a stand-in for libp2p (its connections,
 * their streams, gossipsub's peer list, identify and hang-up): the grace is where a repair begins
 * (exact boundary), a reopen comes first and a redial only after a refused one, attempts back off
 * and a peer that hangs up and comes back keeps its back-off, and only trusted mesh nodes are
 * watched. The same repair on real nodes: test/faults/gossip-stream-loss.test.ts.
 */
import type { Connection, PeerId, Stream } from '@libp2p/interface'
import { describe, expect, it } from 'vitest'
import { Counters } from '../../runtime/counters.ts'
import { EventRing } from '../mesh/event-ring.ts'
import {
  GOSSIP_REPAIR_BACKOFF_MAX_MS,
  GOSSIP_REPAIR_BACKOFF_MIN_MS,
  GOSSIP_STREAM_GRACE_MS,
  GOSSIP_WATCHDOG_CHECK_MS,
  GossipWatchdog,
  isGossipPeer,
} from './gossip-watchdog.ts'

const MESHSUB = '/meshsub/1.2.0'
const PEER = 'peer-a'

interface FakeStream {
  protocol: string
  direction: 'inbound' | 'outbound'
  status: Stream['status']
  writeStatus: Stream['writeStatus']
  readStatus: Stream['readStatus']
  remoteWriteStatus: Stream['remoteWriteStatus']
  abort(error: Error): void
}

function gossipStream(direction: 'inbound' | 'outbound', protocol = MESHSUB): FakeStream {
  return {
    protocol,
    direction,
    status: 'open',
    writeStatus: 'writable',
    readStatus: 'readable',
    remoteWriteStatus: 'writable',
    abort() {
      this.status = 'aborted'
    },
  }
}

/** A node with one connection to PEER, whose gossip streams the test sets; identify and hang-up are
 * recorded, and what identify does is up to the test. */
function fakeNode(options: { gossipPeer?: boolean; limited?: boolean } = {}) {
  let now = 1_000_000
  const peerId = { toString: () => PEER } as PeerId
  const connection = {
    remotePeer: peerId,
    status: 'open',
    limits: options.limited === true ? { bytes: 1n } : undefined,
    streams: [gossipStream('outbound'), gossipStream('inbound')] as FakeStream[],
  }
  const state = {
    connected: true,
    knownToGossipsub: true,
    identified: 0,
    hungUp: 0,
    onIdentify: (): void => {},
  }
  const libp2p = {
    getConnections: () => (state.connected ? [connection as unknown as Connection] : []),
    hangUp: async () => {
      state.hungUp += 1
      state.connected = false
    },
    services: {
      pubsub: {
        protocols: [MESHSUB, '/meshsub/1.1.0', '/meshsub/1.0.0'],
        getPeers: () => (state.knownToGossipsub ? [peerId] : []),
      },
      identify: {
        identify: async () => {
          state.identified += 1
          state.onIdentify()
          return {} as never
        },
      },
    },
  }
  const counters = new Counters()
  const events = new EventRing(100)
  let refusals = 0
  const watchdog = new GossipWatchdog({
    libp2p,
    isGossipPeer: () => options.gossipPeer ?? true,
    counters,
    events,
    refusals: { note: () => (refusals += 1) },
    log: () => {},
    now: () => now,
  })
  return {
    watchdog,
    connection,
    state,
    counters,
    events,
    refusals: () => refusals,
    now: () => now,
    /** Advances the clock by `ms` and runs one check. */
    async at(ms: number) {
      now += ms
      await watchdog.check()
    },
    loseGossip() {
      for (const stream of connection.streams) stream.status = 'reset'
    },
    restoreGossip() {
      connection.streams.push(gossipStream('outbound'), gossipStream('inbound'))
    },
  }
}

const eventTypes = (events: EventRing) => events.list().map((event) => event.type)

describe('GossipWatchdog', () => {
  it('leaves a peer with a working stream each way alone', async () => {
    const node = fakeNode()
    for (let tick = 0; tick < 100; tick++) await node.at(GOSSIP_WATCHDOG_CHECK_MS)
    expect(node.state.identified).toBe(0)
    expect(node.counters.snapshot()).toEqual({})
  })

  it('reopens a stream missing for the grace, not a millisecond earlier, and counts its return', async () => {
    const node = fakeNode()
    node.loseGossip()
    await node.at(0)
    await node.at(GOSSIP_STREAM_GRACE_MS - 1)
    expect(node.state.identified).toBe(0)
    node.state.onIdentify = () => node.restoreGossip()
    await node.at(1)
    expect(node.state.identified).toBe(1)
    expect(node.state.hungUp).toBe(0)
    expect(node.counters.get('gossip.repair.reopen')).toBe(1)
    await node.at(GOSSIP_WATCHDOG_CHECK_MS)
    expect(node.counters.get('gossip.restored')).toBe(1)
    expect(node.counters.get('gossip.repair.refused')).toBe(0)
    expect(eventTypes(node.events)).toEqual(['peer.gossip.repair', 'peer.gossip.restored'])
  })

  it('aborts its working outbound stream when only the inbound one is gone, so the peer reopens its own', async () => {
    const node = fakeNode()
    const [outbound, inbound] = node.connection.streams as [FakeStream, FakeStream]
    // The peer closed its writing end: nothing more will arrive on our inbound stream.
    inbound.remoteWriteStatus = 'closed'
    await node.at(0)
    await node.at(GOSSIP_STREAM_GRACE_MS)
    expect(node.state.identified).toBe(1)
    expect(outbound.status).toBe('aborted')
  })

  it('counts a peer gossipsub has forgotten as missing, whatever streams are left on the link', async () => {
    const node = fakeNode()
    node.state.knownToGossipsub = false
    await node.at(0)
    await node.at(GOSSIP_STREAM_GRACE_MS)
    expect(node.counters.get('gossip.repair.reopen')).toBe(1)
  })

  it('a reopen that brings nothing back is refused after the grace, then the link is redialled', async () => {
    const node = fakeNode()
    node.loseGossip()
    await node.at(0)
    await node.at(GOSSIP_STREAM_GRACE_MS)
    expect(node.counters.get('gossip.repair.reopen')).toBe(1)
    await node.at(GOSSIP_STREAM_GRACE_MS - 1)
    expect(node.counters.get('gossip.repair.refused')).toBe(0)
    await node.at(1)
    expect(node.counters.get('gossip.repair.refused')).toBe(1)
    expect(node.refusals()).toBe(1)
    expect(node.state.hungUp).toBe(0)
    // The redial waits for the back-off from the reopen.
    await node.at(GOSSIP_REPAIR_BACKOFF_MIN_MS - GOSSIP_STREAM_GRACE_MS - 1)
    expect(node.state.hungUp).toBe(0)
    await node.at(1)
    expect(node.state.hungUp).toBe(1)
    expect(node.counters.get('gossip.repair.redial')).toBe(1)
    expect(eventTypes(node.events)).toEqual([
      'peer.gossip.repair',
      'peer.gossip.refused',
      'peer.gossip.repair',
    ])
  })

  it('an identify the peer refuses is counted refused at once', async () => {
    const node = fakeNode()
    node.loseGossip()
    node.state.onIdentify = () => {
      throw new Error('stream reset')
    }
    await node.at(0)
    await node.at(GOSSIP_STREAM_GRACE_MS)
    expect(node.counters.get('gossip.repair.refused')).toBe(1)
    expect(node.events.list().at(-1)?.message).toContain('stream reset')
  })

  it('a peer that keeps refusing gossip, coming back after each hang-up, is redialled on a doubling back-off', async () => {
    const node = fakeNode()
    node.state.onIdentify = () => {
      throw new Error('refused')
    }
    node.loseGossip()
    const start = node.now()
    const attempts: number[] = []
    let hungUp = 0
    await node.at(0)
    for (let elapsed = 0; elapsed < 60 * 60_000; elapsed += GOSSIP_WATCHDOG_CHECK_MS) {
      const before = node.counters.get('gossip.repair.reopen') + node.counters.get('gossip.repair.redial')
      await node.at(GOSSIP_WATCHDOG_CHECK_MS)
      if (node.counters.get('gossip.repair.reopen') + node.counters.get('gossip.repair.redial') > before)
        attempts.push(node.now() - start)
      // The hostile peer is back for the next check but one after each hang-up, again without gossip.
      if (node.state.hungUp === hungUp) node.state.connected = true
      hungUp = node.state.hungUp
    }
    // Reopen at the grace, redial after the minimum back-off, then each wait doubles up to the cap
    // (the attempt lands on the first check at or after it is due).
    const expected = [GOSSIP_STREAM_GRACE_MS]
    for (let wait = GOSSIP_REPAIR_BACKOFF_MIN_MS; expected.length < attempts.length; wait *= 2) {
      const due = (expected.at(-1) as number) + Math.min(wait, GOSSIP_REPAIR_BACKOFF_MAX_MS)
      expected.push(Math.ceil(due / GOSSIP_WATCHDOG_CHECK_MS) * GOSSIP_WATCHDOG_CHECK_MS)
    }
    expect(attempts).toEqual(expected)
    // An hour of refusals: one reopen at 10 s, then redials at 26 s, 56 s, 116 s, … 956 s and every
    // ten minutes after: 10, where a redial per grace would have been hundreds.
    expect(node.counters.get('gossip.repair.reopen')).toBe(1)
    expect(node.state.hungUp).toBe(10)
  })

  it('a repaired peer whose gossip fails again soon starts with a reopen, after the back-off', async () => {
    const node = fakeNode()
    node.loseGossip()
    node.state.onIdentify = () => node.restoreGossip()
    await node.at(0)
    await node.at(GOSSIP_STREAM_GRACE_MS)
    await node.at(GOSSIP_WATCHDOG_CHECK_MS)
    expect(node.counters.get('gossip.restored')).toBe(1)
    node.loseGossip()
    await node.at(GOSSIP_WATCHDOG_CHECK_MS)
    await node.at(GOSSIP_STREAM_GRACE_MS)
    // Missing for the grace, but the back-off from the first repair has not run out.
    expect(node.state.identified).toBe(1)
    await node.at(GOSSIP_REPAIR_BACKOFF_MIN_MS)
    expect(node.state.identified).toBe(2)
    expect(node.state.hungUp).toBe(0)
  })

  it('never repairs a peer that is not a trusted mesh node, nor one reached over a limited connection', async () => {
    for (const node of [fakeNode({ gossipPeer: false }), fakeNode({ limited: true })]) {
      node.loseGossip()
      for (let tick = 0; tick < 100; tick++) await node.at(GOSSIP_WATCHDOG_CHECK_MS)
      expect(node.state.identified + node.state.hungUp).toBe(0)
      expect(node.counters.snapshot()).toEqual({})
    }
  })
})

describe('isGossipPeer', () => {
  const membership = (
    kind: 'node' | 'relay' | 'cli' | 'console',
    standing: 'accept' | 'pending' | 'refuse',
  ) => ({
    agentOf: () => ({ kind, version: '1', meshName: 'm', generation: 1 }),
    gossipStanding: () => standing,
  })
  const trust = (trusted: boolean, kind?: 'device' | 'operator') => ({
    has: () => trusted,
    get: () =>
      trusted
        ? { deviceId: PEER, addedAt: '2026-01-01T00:00:00Z', ...(kind === undefined ? {} : { kind }) }
        : undefined,
  })

  it('is a trusted device key accepted as a node of this mesh, and nothing else', () => {
    expect(isGossipPeer(trust(true), membership('node', 'accept'), PEER)).toBe(true)
    expect(isGossipPeer(trust(true, 'device'), membership('node', 'accept'), PEER)).toBe(true)
    expect(isGossipPeer(trust(false), membership('node', 'accept'), PEER)).toBe(false)
    expect(isGossipPeer(trust(true, 'operator'), membership('node', 'accept'), PEER)).toBe(false)
    for (const kind of ['cli', 'console', 'relay'] as const)
      expect(isGossipPeer(trust(true), membership(kind, 'accept'), PEER)).toBe(false)
    expect(isGossipPeer(trust(true), membership('node', 'pending'), PEER)).toBe(false)
    expect(isGossipPeer(trust(true), membership('node', 'refuse'), PEER)).toBe(false)
  })
})
