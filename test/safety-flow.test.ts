/**
 * The safety core across real processes: a command center, a field node with mock actuators, and
 * two operators acting through their own CLI keys. An approved proposal really executes on the
 * actuator (its state changes, an execution frame arrives); a rejected one moves nothing;
 * self-approval, a forged approval and a viewer's approval are refused with their own policy codes
 * and recorded as evidence; a raw command without approvals sent straight to the actuator is refused
 * by the actuator itself; and a replayed command is refused after the actuator restarts.
 */
import { join } from 'node:path'
import { peerIdFromString } from '@libp2p/peer-id'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type CliClient, connectCliClient } from '../node/cli/client-node.ts'
import { callRpcRaw } from '../node/rpc/rpc-client.ts'
import { issueCommand, signApproval } from '../protocol/safety/index.ts'
import { signerFromPrivateKey } from '../protocol/signing.ts'
import { loadOrCreateIdentity } from '../runtime/identity/device-identity.ts'
import { type FarmSite, startFarmSite, waitForZoneObservations } from './helpers/farm-site.ts'
import { cliJson, type NodeProcess, runCli, startNode, stopAll, waitFor } from './helpers/processes.ts'

const VALVE = 'actuator:valve:zone-2'
let cc: NodeProcess
let field: NodeProcess
let ids: FarmSite<'bob' | 'viewer'>['ids']
let dirs: FarmSite<'bob' | 'viewer'>['dirs']
let executedProposalId: string | undefined

interface ProposalJson {
  hash: string
  state: string
  reason?: string
  outcome?: string
  proposal: { id: string; level: string; evidence: Array<{ tier: string }> }
}

const valveState = async (client: CliClient) =>
  (await client.call('capability.invoke', { capability: VALVE, operation: 'state' })).result as {
    open: boolean
  }

beforeAll(async () => {
  // Alice is the command center's local admin CLI; she enrols herself and certifies Bob and a viewer.
  const site = await startFarmSite({
    operators: [
      { name: 'bob', roles: 'operator' },
      { name: 'viewer', roles: 'viewer' },
    ],
  })
  ;({ cc, field, dirs, ids } = site)
  expect(
    (
      await runCli(
        ['operator', 'enroll', '--name', 'alice', '--roles', 'operator,admin', '--url', cc.url],
        dirs.cc,
      )
    ).code,
  ).toBe(0)
  await waitForZoneObservations(site, 'zone-2')
}, 90_000)

afterAll(stopAll)

const propose = async (args: string[]) =>
  (
    await cliJson<{ proposal: ProposalJson; merged: boolean }>(
      ['propose', VALVE, 'open', '--url', cc.url, ...args],
      dirs.cc,
    )
  ).proposal

describe('safety flow', () => {
  it('an approved proposal executes exactly once on the actuator and the valve opens', async () => {
    const client = await connectCliClient(cc.url, dirs.cc)
    try {
      expect((await valveState(client)).open).toBe(false)
      const proposal = await propose(['--arg', 'durationSec=300'])
      expect(proposal.state).toBe('awaiting_approval')
      expect(proposal.proposal.level).toBe('L2')
      expect(proposal.proposal.evidence.every((ref) => ref.tier === 'T1')).toBe(true)

      // Alice authored it: she cannot approve it herself.
      const selfApproval = await runCli(['approve', proposal.proposal.id, '--url', cc.url], dirs.cc)
      expect(selfApproval.code).toBe(1)
      expect(selfApproval.stderr).toContain('POLICY_DENIED')
      expect((await valveState(client)).open).toBe(false)

      const approved = await cliJson<{ verdict: string; proposal: ProposalJson }>(
        ['approve', proposal.proposal.id, '--url', cc.url],
        dirs.bob,
      )
      expect(approved.verdict).toBe('allow')
      executedProposalId = proposal.proposal.id
      const done = await waitFor('the proposal to complete', async () => {
        const { proposals } = await cliJson<{ proposals: ProposalJson[] }>(
          ['proposals', '--url', cc.url],
          dirs.cc,
        )
        return proposals.find(
          (record) => record.proposal.id === proposal.proposal.id && record.state === 'completed',
        )
      })
      expect(done.outcome).toContain('"open":true')
      expect((await valveState(client)).open).toBe(true)
      const executions = await cliJson<{
        frames: Array<{ origin: string; data: { proposalId: string; status: string } }>
      }>(['world', '--url', cc.url, '--kind', 'execution'], dirs.cc)
      expect(executions.frames.filter((frame) => frame.data.proposalId === proposal.proposal.id)).toEqual([
        expect.objectContaining({
          origin: ids.field,
          data: expect.objectContaining({ status: 'completed' }),
        }),
      ])
    } finally {
      await client.close()
    }
  })

  it('a rejected proposal moves nothing; a viewer cannot approve', async () => {
    const proposal = await propose(['--arg', 'durationSec=120'])
    const viewer = await runCli(['approve', proposal.proposal.id, '--url', cc.url], dirs.viewer)
    expect(viewer.code).toBe(1)
    expect(viewer.stderr).toContain('viewer')
    const rejected = await cliJson<{ verdict: string; proposal: ProposalJson }>(
      ['reject', proposal.proposal.id, '--reason', 'rain is coming', '--url', cc.url],
      dirs.bob,
    )
    expect(rejected.verdict).toBe('rejected')
    expect(rejected.proposal.state).toBe('rejected')
    const executions = await cliJson<{ frames: Array<{ data: { proposalId: string } }> }>(
      ['world', '--url', cc.url, '--kind', 'execution'],
      dirs.cc,
    )
    expect(executions.frames.some((frame) => frame.data.proposalId === proposal.proposal.id)).toBe(false)
    const evidence = await cliJson<{ entries: Array<{ type: string; data: { code?: string } }> }>(
      ['evidence', 'list'],
      dirs.cc,
    )
    const refusals = evidence.entries
      .filter((entry) => entry.type === 'refusal')
      .map((entry) => entry.data.code)
    expect(refusals).toEqual(expect.arrayContaining(['self-approval', 'viewer-cannot-approve']))
    expect((await runCli(['evidence', 'verify'], dirs.cc)).code).toBe(0)
  })

  it('L1 runs without approval only inside the manifest bounds', async () => {
    const inBounds = (
      await cliJson<{ proposal: ProposalJson }>(
        ['propose', 'actuator:valve:zone-1', 'open-short', '--arg', 'durationSec=60', '--url', cc.url],
        dirs.cc,
      )
    ).proposal
    expect(inBounds.proposal.level).toBe('L1')
    await waitFor('the bounded L1 proposal to execute without approval', async () => {
      const { proposals } = await cliJson<{ proposals: ProposalJson[] }>(
        ['proposals', '--url', cc.url, '--state', 'completed'],
        dirs.cc,
      )
      return proposals.find((entry) => entry.proposal.id === inBounds.proposal.id)
    })
    const outOfBounds = await runCli(
      ['propose', 'actuator:valve:zone-1', 'open-short', '--arg', 'durationSec=500', '--url', cc.url],
      dirs.cc,
    )
    expect(outOfBounds.code).toBe(1)
    expect(outOfBounds.stderr).toContain('POLICY_DENIED')
    const evidence = await cliJson<{ entries: Array<{ type: string; data: { code?: string } }> }>(
      ['evidence', 'list'],
      dirs.cc,
    )
    expect(
      evidence.entries.some((entry) => entry.type === 'refusal' && entry.data.code === 'out-of-bounds'),
    ).toBe(true)
  })

  it('a forged approval is refused with its own code', async () => {
    const proposal = await propose(['--arg', 'durationSec=60'])
    const bobKey = await loadOrCreateIdentity(join(dirs.bob, 'identity', 'cli.json'))
    const certificate = JSON.parse(
      await (await import('node:fs/promises')).readFile(
        join(dirs.bob, 'identity', 'operator-certificate.json'),
        'utf8',
      ),
    )
    const approval = await signApproval(signerFromPrivateKey(bobKey.privateKey), {
      proposalHash: proposal.hash,
      decision: 'approve',
      operatorCertificate: certificate,
      operatorLink: 'local',
      at: Date.now(),
    })
    const forged = { ...approval, body: { ...approval.body, reason: 'changed after signing' } }
    const client = await connectCliClient(cc.url, dirs.bob)
    try {
      await expect(
        client.call('proposal.approve', { id: proposal.proposal.id, approval: forged }),
      ).rejects.toMatchObject({
        code: 'POLICY_DENIED',
        data: { code: 'bad-approval-signature' },
      })
    } finally {
      await client.close()
    }
  })

  it('the actuator itself refuses a raw command without approvals, and a replay after it restarts', async () => {
    const client = await connectCliClient(cc.url, dirs.cc)
    const ccKey = await loadOrCreateIdentity(join(dirs.cc, 'identity', 'device.json'))
    const now = Date.now()
    // Stamped with the command center's current leader term, so the refusal below is about the
    // missing approvals and evidence, not the term fence (test/planner-election.test.ts covers that).
    const leaderTerm = (await client.call('mesh.status', {})).leader?.term
    const unapproved = await issueCommand(signerFromPrivateKey(ccKey.privateKey), {
      proposal: {
        version: 1,
        id: 'p-raw',
        capability: VALVE,
        targetNode: ids.field,
        operation: 'open',
        args: { durationSec: 60 },
        level: 'L2',
        evidence: [],
        author: { kind: 'planner', id: ids.cc },
        createdAt: now,
        expiresAt: now + 60_000,
        ...(leaderTerm === undefined ? {} : { leaderTerm }),
      },
      approvals: [],
      issuedAt: now,
      ...(leaderTerm === undefined ? {} : { leaderTerm }),
    })
    try {
      // Sent straight to the field node, bypassing the command center's own checks.
      const fieldClient = await connectCliClient(field.url, dirs.field)
      try {
        const answer = await callRpcRaw(
          fieldClient.libp2p,
          peerIdFromString(ids.field),
          fieldClient.protocol,
          {
            id: 'raw',
            method: 'actuator.execute',
            params: { command: unapproved },
          },
        )
        expect(answer).toMatchObject({
          ok: false,
          error: { code: 'POLICY_DENIED', data: { code: 'llm-only-evidence' } },
        })
      } finally {
        await fieldClient.close()
      }

      // Replay: the executed proposal with its real approvals, re-issued by the command center.
      const executed = (await client.call('proposal.get', { id: executedProposalId as string })).proposal
      const replay = await issueCommand(signerFromPrivateKey(ccKey.privateKey), {
        proposal: executed.proposal as never,
        approvals: executed.approvals as never,
        issuedAt: Date.now(),
      })
      const sendToField = async () => {
        const fieldClient = await connectCliClient(field.url, dirs.field)
        try {
          return await callRpcRaw(fieldClient.libp2p, peerIdFromString(ids.field), fieldClient.protocol, {
            id: 'replay',
            method: 'actuator.execute',
            params: { command: replay },
          })
        } finally {
          await fieldClient.close()
        }
      }
      expect(await sendToField()).toMatchObject({ ok: false, error: { code: 'ALREADY_EXECUTED' } })
      await field.stop('SIGTERM')
      field = await startNode(dirs.field, [
        '--name',
        'field-1',
        '--field-node',
        '--command-center',
        ids.cc,
        '--port',
        String(field.port),
      ])
      expect(await sendToField()).toMatchObject({ ok: false, error: { code: 'ALREADY_EXECUTED' } })
    } finally {
      await client.close()
    }
  })
})
