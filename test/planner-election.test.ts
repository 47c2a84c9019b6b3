/**
 * Planner election and fencing across real processes: two planners, a standby and a field node
 * (mock actuators), all trusting each other. They agree on the lowest-ID planner as leader and on
 * its term; the leader is killed (-9); the other planner takes over with a higher term that every
 * survivor sees; a command the dead leader signed under its old term, sent straight to the actuator,
 * is refused there (STALE_LEADER_TERM) and recorded as evidence; the new leader's proposal, approved
 * through the standby (which forwards the approval to the leader), executes; and the field node
 * still knows the new term after a restart with no peers.
 */
import { readFile, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { peerIdFromString } from '@libp2p/peer-id'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type CliClient, connectCliClient } from '../node/cli/client-node.ts'
import { LEADER_FAILOVER_BOUND_MS } from '../node/planner/constants.ts'
import { callRpcRaw } from '../node/rpc/rpc-client.ts'
import { DEMO_FARM_PATH } from '../node/site/site-model.ts'
import type { MeshStatus } from '../protocol/rpc/methods.ts'
import { issueCommand, type Proposal, signApproval } from '../protocol/safety/index.ts'
import { signerFromPrivateKey } from '../protocol/signing.ts'
import { loadOrCreateIdentity } from '../runtime/identity/device-identity.ts'
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

const VALVE = 'actuator:valve:zone-2'
/** Polling the survivors over RPC adds a little to what the election itself takes. */
const OBSERVATION_SLACK_MS = 5_000

interface ProposalJson {
  hash: string
  state: string
  proposal: Proposal
}

let dirs: { first: string; second: string; standby: string; field: string; bob: string }
let ids: { first: string; second: string; standby: string; field: string; bob: string }
const nodes: Record<string, NodeProcess> = {}
const clients: Record<string, CliClient> = {}

const status = (name: string) => (clients[name] as CliClient).call('mesh.status', {})
const leaderOf = async (name: string) => (await status(name)).leader

beforeAll(async () => {
  const [a, b, standby, field, bob] = await Promise.all(
    ['planner-a', 'planner-b', 'standby', 'field', 'bob'].map((label) => makeStateDir(label)),
  )
  // The field node is trusted under the name the site assigns its devices to (site bindings).
  const [idA, idB, idStandby, idField] = await trustEachOther(
    [a as string, b as string, standby as string, field as string],
    [undefined, undefined, undefined, 'field-1'],
  )
  // "first" is the planner that must win: the lower device ID.
  const aFirst = (idA as string) < (idB as string)
  dirs = {
    first: (aFirst ? a : b) as string,
    second: (aFirst ? b : a) as string,
    standby: standby as string,
    field: field as string,
    bob: bob as string,
  }
  const bobId = (await cliJson<{ cliKeyId: string }>(['identity'], dirs.bob)).cliKeyId
  ids = {
    first: (aFirst ? idA : idB) as string,
    second: (aFirst ? idB : idA) as string,
    standby: idStandby as string,
    field: idField as string,
    bob: bobId,
  }
  // Bob (an operator CLI) may call every planner; planners accept each other's operator certificates.
  for (const dir of [dirs.first, dirs.second, dirs.standby]) await runCli(['trust', 'add', ids.bob], dir)
  const planners = [ids.first, ids.second, ids.standby]
  const commandCenters = (self: string) =>
    planners.filter((id) => id !== self).flatMap((id) => ['--command-center', id])
  nodes['first'] = await startNode(dirs.first, [
    '--name',
    'planner-first',
    '--role',
    'planner',
    '--site',
    DEMO_FARM_PATH,
    ...commandCenters(ids.first),
  ])
  nodes['second'] = await startNode(dirs.second, [
    '--name',
    'planner-second',
    '--role',
    'planner',
    '--site',
    DEMO_FARM_PATH,
    ...commandCenters(ids.second),
    '--peer',
    `${ids.first}=${nodes['first'].url}`,
  ])
  nodes['standby'] = await startNode(dirs.standby, [
    '--name',
    'standby',
    '--role',
    'standby-planner',
    '--site',
    DEMO_FARM_PATH,
    ...commandCenters(ids.standby),
    '--peer',
    `${ids.first}=${nodes['first'].url}`,
    '--peer',
    `${ids.second}=${nodes['second'].url}`,
  ])
  nodes['field'] = await startNode(dirs.field, [
    '--name',
    'field-1',
    '--field-node',
    '--site',
    DEMO_FARM_PATH,
    ...planners.flatMap((id) => ['--command-center', id]),
    '--peer',
    `${ids.first}=${nodes['first'].url}`,
    '--peer',
    `${ids.second}=${nodes['second'].url}`,
    '--peer',
    `${ids.standby}=${nodes['standby'].url}`,
  ])
  for (const name of ['first', 'second', 'standby', 'field'] as const) {
    clients[name] = await connectCliClient((nodes[name] as NodeProcess).url, dirs[name])
  }
  // Alice is the first planner's admin; she certifies Bob.
  expect(
    (await runCli(['operator', 'enroll', '--name', 'alice', '--url', nodes['first'].url], dirs.first)).code,
  ).toBe(0)
  const issued = await runCli(
    ['operator', 'issue', ids.bob, '--name', 'bob', '--url', nodes['first'].url],
    dirs.first,
  )
  expect(issued.code).toBe(0)
  await writeFile(join(dirs.bob, 'bob-cert.json'), issued.stdout)
  expect((await runCli(['operator', 'import', join(dirs.bob, 'bob-cert.json')], dirs.bob)).code).toBe(0)
}, 120_000)

afterAll(async () => {
  await Promise.all(Object.values(clients).map((client) => client.close().catch(() => {})))
  await stopAll()
})

describe('planner election', () => {
  let oldTerm: number

  it('every node agrees on the lowest-ID planner as leader, at one term', async () => {
    const agreed = await waitFor(
      'all four nodes to report the same live leader',
      async () => {
        const leaders = await Promise.all(['first', 'second', 'standby', 'field'].map(leaderOf))
        const [head] = leaders
        if (head === undefined || !head.live) return undefined
        const same = leaders.every(
          (leader) => leader?.live && leader.deviceId === head.deviceId && leader.term === head.term,
        )
        return same ? head : undefined
      },
      30_000,
    )
    expect(agreed.deviceId).toBe(ids.first)
    oldTerm = agreed.term
    expect((await status('first')).leader?.isSelf).toBe(true)
    expect((await status('second')).leader?.isSelf).toBe(false)
  })

  it('after kill -9 of the leader the other planner takes over with a higher term; a command under the old term is refused by the actuator', async () => {
    // Prepared while the first planner leads: a proposal it holds, approved by Bob (signed, not yet
    // sent), so the command below is valid in every respect except its term.
    const proposal = (
      await cliJson<{ proposal: ProposalJson }>(
        ['propose', VALVE, 'open', '--arg', 'durationSec=60', '--url', (nodes['first'] as NodeProcess).url],
        dirs.first,
      )
    ).proposal
    const bobKey = await loadOrCreateIdentity(join(dirs.bob, 'identity', 'cli.json'))
    const bobCertificate = JSON.parse(
      await readFile(join(dirs.bob, 'identity', 'operator-certificate.json'), 'utf8'),
    )
    const approval = await signApproval(signerFromPrivateKey(bobKey.privateKey), {
      proposalHash: proposal.hash,
      decision: 'approve',
      operatorCertificate: bobCertificate,
      operatorLink: 'local',
      at: Date.now(),
    })
    const firstKey = await loadOrCreateIdentity(join(dirs.first, 'identity', 'device.json'))
    const staleCommand = await issueCommand(signerFromPrivateKey(firstKey.privateKey), {
      proposal: proposal.proposal,
      approvals: [approval],
      issuedAt: Date.now(),
      leaderTerm: oldTerm,
    })

    await (nodes['first'] as NodeProcess).stop('SIGKILL')
    await (clients['first'] as CliClient).close()
    delete clients['first']

    const survivors = ['second', 'standby', 'field']
    const takeover = await waitFor(
      'every survivor to see the second planner lead at a higher term',
      async () => {
        const leaders = await Promise.all(survivors.map(leaderOf))
        const [head] = leaders
        if (head === undefined || head.deviceId !== ids.second || head.term <= oldTerm) return undefined
        return leaders.every(
          (leader) => leader?.live && leader.deviceId === ids.second && leader.term === head.term,
        )
          ? head
          : undefined
      },
      LEADER_FAILOVER_BOUND_MS + OBSERVATION_SLACK_MS,
    )
    expect(takeover.term).toBeGreaterThan(oldTerm)
    const events = await (clients['standby'] as CliClient).call('mesh.events', {})
    expect(
      events.events.some(
        (event) =>
          event.type === 'planner.leader' &&
          event.peer === ids.second &&
          event.message.includes(`term ${takeover.term}`),
      ),
    ).toBe(true)

    // The dead leader's command, sent straight to the actuator (the last hop).
    const field = clients['field'] as CliClient
    const answer = await callRpcRaw(field.libp2p, peerIdFromString(ids.field), field.protocol, {
      id: 'stale',
      method: 'actuator.execute',
      params: { command: staleCommand },
    })
    expect(answer).toMatchObject({
      ok: false,
      error: {
        code: 'STALE_LEADER_TERM',
        data: { code: 'stale-leader-term', commandTerm: oldTerm, currentTerm: takeover.term },
      },
    })
    const valve = await field.call('capability.invoke', { capability: VALVE, operation: 'state' })
    expect((valve.result as { open: boolean }).open).toBe(false)
    const evidence = await cliJson<{
      entries: Array<{ type: string; data: { code?: string; hash?: string; hop?: string } }>
    }>(['evidence', 'list'], dirs.field)
    expect(evidence.entries).toContainEqual(
      expect.objectContaining({
        type: 'refusal',
        data: expect.objectContaining({ hop: 'actuator', code: 'stale-leader-term', hash: proposal.hash }),
      }),
    )
    expect((await runCli(['evidence', 'verify'], dirs.field)).code).toBe(0)
    const health = await field.call('mesh.health', {})
    expect(health.counters['safety.refused.stale-leader-term']).toBeGreaterThanOrEqual(1)
  }, 60_000)

  it("the new leader's proposal, approved through the standby (forwarded to the leader), executes", async () => {
    const second = nodes['second'] as NodeProcess
    const proposal = (
      await cliJson<{ proposal: ProposalJson }>(
        ['propose', VALVE, 'open', '--arg', 'durationSec=90', '--url', second.url],
        dirs.second,
      )
    ).proposal
    expect(proposal.state).toBe('awaiting_approval')
    // Bob talks to the standby, which does not hold the proposal: it asks the leader and relays.
    const approved = await cliJson<{ verdict: string; proposal: ProposalJson }>(
      ['approve', proposal.proposal.id, '--url', (nodes['standby'] as NodeProcess).url],
      dirs.bob,
    )
    expect(approved.verdict).toBe('allow')
    const standbyHealth = await (clients['standby'] as CliClient).call('mesh.health', {})
    expect(standbyHealth.counters['planner.forwarded.proposal.approve']).toBe(1)
    const done = await waitFor('the new leader to execute the proposal', async () => {
      const record = (
        await (clients['second'] as CliClient).call('proposal.get', { id: proposal.proposal.id })
      ).proposal
      return record.state === 'completed' ? record : undefined
    })
    expect(done.outcome).toContain('"open":true')
    const valve = await (clients['field'] as CliClient).call('capability.invoke', {
      capability: VALVE,
      operation: 'state',
    })
    expect((valve.result as { open: boolean }).open).toBe(true)
  }, 60_000)

  it('the field node keeps the highest term across a restart, with no peer to tell it', async () => {
    const before = (await leaderOf('field')) as NonNullable<MeshStatus['leader']>
    await (clients['field'] as CliClient).close()
    delete clients['field']
    await (nodes['field'] as NodeProcess).stop('SIGTERM')
    const restarted = await startNode(dirs.field, ['--name', 'field-1', '--field-node'])
    nodes['field'] = restarted
    const alone = await cliJson<MeshStatus>(['status', '--url', restarted.url], dirs.field)
    expect(alone.connections.filter((connection) => connection.kind === 'node')).toEqual([])
    expect(alone.leader).toMatchObject({ term: before.term, deviceId: ids.second, live: false })
  }, 60_000)
})
