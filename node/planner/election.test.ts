/**
 * PlannerElection's decisions with its gossip topic replaced by an in-memory stand-in (the rules are
 * property-tested in protocol/; real processes in test/planner-election.test.ts). Covers what the
 * process test cannot provoke on demand: split brain, stepping down, refusals and persistence.
 */
import { mkdtemp, readFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { PeerId } from '@libp2p/interface'
import { peerIdFromString } from '@libp2p/peer-id'
import { describe, expect, it, vi } from 'vitest'
import {
  LEADER_TERM_MAX,
  type SignedLeaderAnnouncement,
  signedLeaderAnnouncementSchema,
  signLeaderAnnouncement,
} from '../../protocol/planner-election.ts'
import type { NodeRole } from '../../protocol/roles.ts'
import type { Signer } from '../../protocol/signing.ts'
import { Counters } from '../../runtime/counters.ts'
import { writeJsonAtomic } from '../../runtime/state/atomic-file.ts'
import { newSigner } from '../../test/helpers/safety-fixtures.ts'
import type { NodeLibp2p } from '../libp2p/create-node-libp2p.ts'
import { EventRing } from '../mesh/event-ring.ts'
import type { PeerRecordView } from '../mesh/membership.ts'
import { leaderTermPath, PlannerElection, type PlannerElectionInit } from './election.ts'

const mesh = { meshName: 'farm', generation: 1 }

interface Harness {
  election: PlannerElection
  published: SignedLeaderAnnouncement[]
  counters: Counters
  events: EventRing
  peers: PeerRecordView[]
  stateDir: string
  /** The gossip topic validators the election registered (its leader topic). */
  validators: Map<string, unknown>
}

async function harness(options: {
  self: Signer
  role: NodeRole
  stateDir?: string
  trusted?: (id: string) => boolean
  /** The command centers this node obeys (its configuration): the peers it may follow as leader. */
  commandCenters?: string[]
  operators?: string[]
  fetchLeaderStatus?: PlannerElectionInit['fetchLeaderStatus']
}): Promise<Harness> {
  const published: SignedLeaderAnnouncement[] = []
  const validators = new Map<string, unknown>()
  const pubsub = {
    topicValidators: validators,
    subscribe: () => {},
    publish: async (_topic: string, data: Uint8Array) => {
      published.push(signedLeaderAnnouncementSchema.parse(JSON.parse(new TextDecoder().decode(data))))
      return { recipients: [] }
    },
  }
  const counters = new Counters()
  const events = new EventRing(100)
  const peers: PeerRecordView[] = []
  const stateDir = options.stateDir ?? (await mkdtemp(join(tmpdir(), 'clawmesh-election-')))
  const election = await PlannerElection.open({
    deviceId: options.self.id,
    role: options.role,
    signer: options.self,
    mesh,
    libp2p: { services: { pubsub } } as unknown as NodeLibp2p,
    stateDir,
    peers: () => peers,
    isTrusted: options.trusted ?? (() => true),
    commandCenters: options.commandCenters ?? [],
    trustKindOf: (id) => (options.operators?.includes(id) ? 'operator' : 'device'),
    ...(options.fetchLeaderStatus === undefined ? {} : { fetchLeaderStatus: options.fetchLeaderStatus }),
    events,
    counters,
    log: () => {},
    startupGraceMs: 0,
    tickMs: 60_000,
  })
  return { election, published, counters, events, peers, stateDir, validators }
}

const claim = (signer: Signer, term: number, role: NodeRole = 'planner') =>
  signLeaderAnnouncement(signer, { ...mesh, role, term, issuedAt: Date.now() })

const connectedPlanner = (deviceId: string, role: NodeRole = 'planner'): PeerRecordView => ({
  deviceId,
  state: 'connected',
  lastSeen: Date.now(),
  agent: { kind: 'node', version: 'test', ...mesh },
  info: { name: deviceId.slice(-4), role, capabilities: [] },
})

/** Delivers an announcement through the election's gossip topic validator, relayed by `relayId`. */
function harnessValidator(node: Harness) {
  const validator = [...node.validators.values()][0] as (
    peer: PeerId,
    message: { data: Uint8Array },
  ) => Promise<unknown>
  return (relayId: string, announcement: SignedLeaderAnnouncement) =>
    validator(peerIdFromString(relayId), { data: new TextEncoder().encode(JSON.stringify(announcement)) })
}

/** A state dir as `clawmesh planner reset-term --to term` leaves it. */
async function resetDir(term: number): Promise<string> {
  const stateDir = await mkdtemp(join(tmpdir(), 'clawmesh-election-'))
  await writeJsonAtomic(leaderTermPath(stateDir), { version: 1, resetTo: { term, at: 1 } })
  return stateDir
}

/** Two fresh signers, the better-ranked (lower ID) first. */
async function ranked(): Promise<[Signer, Signer]> {
  const [a, b] = [await newSigner(), await newSigner()]
  return a.id < b.id ? [a, b] : [b, a]
}

describe('PlannerElection', () => {
  it('a lone planner claims term 1, announces it signed, and the term survives a restart', async () => {
    const self = await newSigner()
    const first = await harness({ self, role: 'planner' })
    first.election.start()
    await vi.waitFor(() => expect(first.election.isLeader()).toBe(true))
    expect(first.election.leader()).toEqual({ deviceId: self.id, term: 1 })
    expect(first.published.at(-1)?.body).toMatchObject({ leader: self.id, term: 1, role: 'planner' })
    first.election.stop()
    await first.election.flushed()
    expect(JSON.parse(await readFile(leaderTermPath(first.stateDir), 'utf8')).highest.body.term).toBe(1)

    // Restarted: it does not resume its old term but claims above it.
    const second = await harness({ self, role: 'planner', stateDir: first.stateDir })
    expect(second.election.currentTerm()).toBe(1)
    second.election.start()
    await vi.waitFor(() => expect(second.election.leader()).toEqual({ deviceId: self.id, term: 2 }))
    second.election.stop()
  })

  it('a follower adopts the highest claim, ignores older ones and keeps the term across a restart', async () => {
    const [leader] = await ranked()
    const field = await newSigner()
    const node = await harness({ self: field, role: 'field', commandCenters: [leader.id] })
    node.peers.push(connectedPlanner(leader.id))
    node.election.start()
    await node.election.consider(await claim(leader, 1))
    await node.election.consider(await claim(leader, 2))
    await node.election.consider(await claim(leader, 1))
    expect(node.election.leader()).toEqual({ deviceId: leader.id, term: 2 })
    expect(node.election.issuing()).toBeUndefined()
    expect(node.published).toEqual([])
    expect(node.counters.get('election.ignored.stale-term')).toBe(1)
    expect(
      node.events.list().some((event) => event.type === 'planner.leader' && event.peer === leader.id),
    ).toBe(true)
    // The leader is lost: no live leader, but the fence term stays.
    ;(node.peers[0] as { state: string }).state = 'down'
    expect(node.election.leader()).toBeUndefined()
    expect(node.election.currentTerm()).toBe(2)
    node.election.stop()
    await node.election.flushed()
    const restarted = await harness({ self: field, role: 'field', stateDir: node.stateDir })
    expect(restarted.election.currentTerm()).toBe(2)
  })

  it('refuses claims from untrusted and non-planner origins, counted', async () => {
    const [planner] = await ranked()
    const stranger = await newSigner()
    const node = await harness({
      self: await newSigner(),
      role: 'field',
      trusted: (id) => id !== stranger.id,
      commandCenters: [planner.id],
    })
    node.peers.push(connectedPlanner(planner.id, 'field'))
    node.election.start()
    await node.election.consider(await claim(stranger, 1))
    await node.election.consider(await claim(planner, 1))
    expect(node.election.currentTerm()).toBeUndefined()
    expect(node.counters.get('election.refused.untrusted-origin')).toBe(1)
    expect(node.counters.get('election.refused.non-planner-origin')).toBe(1)
  })

  it('split brain: the better-ranked leader keeps leading at a fresh term; the other steps down', async () => {
    const [better, worse] = await ranked()
    const winner = await harness({ self: better, role: 'planner', commandCenters: [worse.id] })
    const loser = await harness({ self: worse, role: 'planner', commandCenters: [better.id] })
    winner.election.start()
    loser.election.start()
    // Each led alone at term 1 (two halves of a split mesh).
    await vi.waitFor(() => expect(winner.election.leader()).toEqual({ deviceId: better.id, term: 1 }))
    await vi.waitFor(() => expect(loser.election.leader()).toEqual({ deviceId: worse.id, term: 1 }))
    // The halves meet.
    winner.peers.push(connectedPlanner(worse.id))
    loser.peers.push(connectedPlanner(better.id))
    await loser.election.consider(winner.published.at(-1))
    await winner.election.consider(loser.published.at(-1))
    await vi.waitFor(() => expect(loser.election.isLeader()).toBe(false))
    expect(loser.election.issuing()).toEqual({ leading: false })
    await vi.waitFor(() => expect(winner.election.leader()).toEqual({ deviceId: better.id, term: 2 }))
    expect(winner.counters.get('election.split-brain')).toBe(1)
    await loser.election.consider(winner.published.at(-1))
    expect(loser.election.leader()).toEqual({ deviceId: better.id, term: 2 })
    expect(loser.election.currentTerm()).toBe(2)
    winner.election.stop()
    loser.election.stop()
  })

  it('a returning better-ranked planner claims above the standby that led meanwhile; the standby steps down', async () => {
    const [planner, standby] = await ranked()
    const back = await harness({ self: planner, role: 'planner', commandCenters: [standby.id] })
    back.peers.push(connectedPlanner(standby.id, 'standby-planner'))
    const standbyNode = await harness({
      self: standby,
      role: 'standby-planner',
      commandCenters: [planner.id],
    })
    standbyNode.peers.push(connectedPlanner(planner.id))
    // The standby led (at term 1) while the planner was away.
    await back.election.consider(await claim(standby, 1, 'standby-planner'))
    back.election.start()
    await vi.waitFor(() => expect(back.election.leader()).toEqual({ deviceId: planner.id, term: 2 }))
    // The standby holds the term it led under (its own claim, as after a restart).
    await standbyNode.election.consider(await claim(standby, 1, 'standby-planner'))
    standbyNode.election.start()
    await standbyNode.election.consider(back.published.at(-1))
    await vi.waitFor(() => expect(standbyNode.election.isLeader()).toBe(false))
    expect(standbyNode.election.leader()).toEqual({ deviceId: planner.id, term: 2 })
    back.election.stop()
    standbyNode.election.stop()
  })

  it('issue 14: a trusted device that is not a command center cannot seize leadership at the maximum term', async () => {
    const [device, planner] = await ranked()
    const node = await harness({ self: planner, role: 'planner' })
    // The device advertises itself as a planner and has the better (lower) ID.
    node.peers.push(connectedPlanner(device.id, 'planner'))
    node.election.start()
    await vi.waitFor(() => expect(node.election.leader()).toEqual({ deviceId: planner.id, term: 1 }))
    await node.election.consider(await claim(device, LEADER_TERM_MAX))
    expect(node.election.leader()).toEqual({ deviceId: planner.id, term: 1 })
    expect(node.election.isLeader()).toBe(true)
    expect(node.counters.get('election.refused.ineligible-origin')).toBe(1)
    expect(node.events.list().map((event) => event.type)).toContain(
      'planner.leader.refused.ineligible-origin',
    )
    node.election.stop()
    await node.election.flushed()
    expect(JSON.parse(await readFile(leaderTermPath(node.stateDir), 'utf8')).highest.body.term).toBe(1)
  })

  it('issue 14: an operator key is never followed, even when configured as a command center', async () => {
    const operator = await newSigner()
    const node = await harness({
      self: await newSigner(),
      role: 'field',
      commandCenters: [operator.id],
      operators: [operator.id],
    })
    node.election.start()
    await node.election.consider(await claim(operator, 1))
    expect(node.election.currentTerm()).toBeUndefined()
    expect(node.counters.get('election.refused.ineligible-origin')).toBe(1)
  })

  it('after `planner reset-term --to N` a planner claims N+1 and a follower accepts N+1 but nothing below N', async () => {
    const [leader, other] = await ranked()
    const planner = await harness({ self: leader, role: 'planner', stateDir: await resetDir(4) })
    expect(planner.election.currentTerm()).toBe(4)
    planner.election.start()
    await vi.waitFor(() => expect(planner.election.leader()).toEqual({ deviceId: leader.id, term: 5 }))
    planner.election.stop()
    await planner.election.flushed()
    expect(JSON.parse(await readFile(leaderTermPath(planner.stateDir), 'utf8')).highest.body.term).toBe(5)

    const follower = await harness({
      self: await newSigner(),
      role: 'field',
      commandCenters: [other.id],
      stateDir: await resetDir(4),
    })
    follower.peers.push(connectedPlanner(other.id))
    follower.election.start()
    await follower.election.consider(await claim(other, 3))
    expect(follower.election.leader()).toBeUndefined()
    expect(follower.counters.get('election.ignored.stale-term')).toBe(1)
    await follower.election.consider(await claim(other, 6))
    expect(follower.counters.get('election.refused.term-beyond-bound')).toBe(1)
    await follower.election.consider(await claim(other, 5))
    expect(follower.election.leader()).toEqual({ deviceId: other.id, term: 5 })
    follower.election.stop()
  })

  it('issue 14: a command center may step the term by one over the held term, not more', async () => {
    const [leader] = await ranked()
    const node = await harness({ self: await newSigner(), role: 'field', commandCenters: [leader.id] })
    node.peers.push(connectedPlanner(leader.id))
    node.election.start()
    await node.election.consider(await claim(leader, 1))
    await node.election.consider(await claim(leader, 6))
    expect(node.election.currentTerm()).toBe(1)
    expect(node.counters.get('election.refused.term-beyond-bound')).toBe(1)
    await node.election.consider(await claim(leader, 2))
    expect(node.election.leader()).toEqual({ deviceId: leader.id, term: 2 })
    node.election.stop()
  })

  it('a node behind by several terms climbs the chain a peer serves, one signed step at a time', async () => {
    const [leader] = await ranked()
    const node = await harness({ self: await newSigner(), role: 'field', commandCenters: [leader.id] })
    node.peers.push(connectedPlanner(leader.id))
    node.election.start()
    await node.election.consider(await claim(leader, 1))
    const steps = [await claim(leader, 2), await claim(leader, 3), await claim(leader, 4)]
    // Out of order on the wire: climbed oldest first.
    await node.election.consider(await claim(leader, 5), [steps[2], steps[0], steps[1]])
    expect(node.election.leader()).toEqual({ deviceId: leader.id, term: 5 })
    expect(node.counters.get('election.refused.term-beyond-bound')).toBe(0)
    // It serves what it climbed to the next node.
    expect(
      node.election.status()?.chain?.map((entry) => (entry as { body: { term: number } }).body.term),
    ).toEqual([1, 2, 3, 4])
    node.election.stop()
  })

  it('a chain with a gap, or a step signed by a key the node does not follow, climbs no further', async () => {
    const [leader, rogue] = await ranked()
    const node = await harness({ self: await newSigner(), role: 'field', commandCenters: [leader.id] })
    node.election.start()
    await node.election.consider(await claim(leader, 1))
    await node.election.consider(await claim(leader, 6), [await claim(leader, 2), await claim(leader, 4)])
    expect(node.election.currentTerm()).toBe(2)
    expect(node.counters.get('election.refused.term-beyond-bound')).toBe(2)
    await node.election.consider(await claim(leader, 4), [await claim(rogue, 3)])
    expect(node.election.currentTerm()).toBe(2)
    expect(node.counters.get('election.refused.ineligible-origin')).toBe(1)
    node.election.stop()
  })

  it('after refusing a gossiped claim above the bound it asks the relaying peer for the steps between', async () => {
    const [leader, relay] = await ranked()
    const chain = [await claim(leader, 2), await claim(leader, 3)]
    const current = await claim(leader, 4)
    const asked: string[] = []
    const node = await harness({
      self: await newSigner(),
      role: 'field',
      commandCenters: [leader.id],
      fetchLeaderStatus: async (deviceId) => {
        asked.push(deviceId)
        return { announcement: current, chain }
      },
    })
    node.election.start()
    await node.election.consider(await claim(leader, 1))
    await harnessValidator(node)(relay.id, current)
    await vi.waitFor(() => expect(node.election.currentTerm()).toBe(4))
    expect(asked).toEqual([relay.id])
    expect(node.counters.get('election.catch-up')).toBe(1)
    expect(node.counters.get('election.refused.term-beyond-bound')).toBe(1)
    node.election.stop()
  })
})
