/**
 * Refusals of the safety core across real processes, each with its own policy code and each
 * recorded in the refusing node's evidence log:
 *
 * - a planner-authored proposal resting only on a model inference (T0), at L1 (inside the manifest
 *   bounds, so only the T0 rule stops it) and at L2: refused by the sender (`proposal.create`), by
 *   the forwarder (`proposal.approve` on a T0 proposal already in the store) and by the actuator
 *   (the raw command sent straight to it with `actuator.execute`, once with a valid approval);
 * - an approval whose certificate was signed by an untrusted key, one whose certificate expired,
 *   and one operator approving an L3 proposal twice.
 *
 * The T0 frame is a planner inference signed by the command center, placed in its persisted world
 * model before it starts (no process publishes T0 frames on demand yet). The forwarder case needs a
 * T0 proposal that got past a sender: it is placed in the command center's proposal store the same
 * way, as a proposal persisted by another path (a planner, an older version) would be.
 */
import { mkdir, readFile, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { peerIdFromString } from '@libp2p/peer-id'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type CliClient, connectCliClient } from '../node/cli/client-node.ts'
import { callRpcRaw } from '../node/rpc/rpc-client.ts'
import { createFrame } from '../protocol/context/index.ts'
import { DEFAULT_MESH_NAME, PROTOCOL_GENERATION } from '../protocol/mesh.ts'
import {
  issueCommand,
  issueOperatorCertificate,
  type OperatorCertificate,
  type Proposal,
  proposalHash,
  signApproval,
} from '../protocol/safety/index.ts'
import { type Signer, signerFromPrivateKey } from '../protocol/signing.ts'
import { loadOrCreateIdentity } from '../runtime/identity/device-identity.ts'
import { statePaths } from '../runtime/state/state-dir.ts'
import { type FarmSite, startFarmSite, waitForZoneObservations } from './helpers/farm-site.ts'
import { cliJson, makeStateDir, type NodeProcess, runCli, stopAll, waitFor } from './helpers/processes.ts'

const VALVE = 'actuator:valve:zone-1'
const HOUR = 3_600_000

let cc: NodeProcess
let field: NodeProcess
let dirs: FarmSite<'bob'>['dirs']
let ids: FarmSite<'bob'>['ids']
let ccSigner: Signer
let bobSigner: Signer
let bobCertificate: OperatorCertificate
let inferenceFrameId: string
/** T0 proposals placed in the command center's store before it started, by level. */
const storedT0: Record<'L1' | 'L2', Proposal> = {} as never

interface EvidenceJson {
  entries: Array<{ type: string; data: { hop?: string; code?: string; proposalId?: string } }>
}
const refusals = async (dir: string) =>
  (await cliJson<EvidenceJson>(['evidence', 'list'], dir)).entries.filter((entry) => entry.type === 'refusal')

/** The command center is the mesh's only planner: it leads under the first term, and its planner
 * proposals and commands carry it (the stale-term fence is test/planner-election.test.ts's). */
const LEADER_TERM = 1

function t0Proposal(id: string, operation: 'open' | 'open-short', level: 'L1' | 'L2'): Proposal {
  const now = Date.now()
  return {
    version: 1,
    id,
    capability: VALVE,
    targetNode: ids.field,
    operation,
    args: { durationSec: 60 },
    level,
    evidence: [{ frameId: inferenceFrameId, tier: 'T0' }],
    author: { kind: 'planner', id: ids.cc },
    createdAt: now,
    expiresAt: now + HOUR,
    leaderTerm: LEADER_TERM,
  }
}

const approvalBy = (signer: Signer, certificate: OperatorCertificate, hash: string) =>
  signApproval(signer, {
    proposalHash: hash,
    decision: 'approve',
    operatorCertificate: certificate,
    operatorLink: 'local',
    at: Date.now(),
  })

/** Places the planner's T0 inference in the command center's persisted world model and the T0
 * proposals in its proposal store, before it starts. */
async function placeT0Evidence(): Promise<void> {
  // The planner's inference (T0), as the command center would have persisted it.
  const inference = await createFrame(ccSigner, {
    kind: 'inference',
    data: { text: 'zone-1 probably needs water', cites: [] },
    trust: { tier: 'T0', sources: ['planner'] },
    generation: PROTOCOL_GENERATION,
    meshName: DEFAULT_MESH_NAME,
    originName: 'command-center',
  })
  inferenceFrameId = inference.frameId
  await writeFile(
    join(dirs.cc, 'world-model-snapshot.json'),
    JSON.stringify({ version: 1, takenAt: Date.now(), frames: [inference] }),
  )
  storedT0.L1 = t0Proposal('p-t0-l1', 'open-short', 'L1')
  storedT0.L2 = t0Proposal('p-t0-l2', 'open', 'L2')
  const now = Date.now()
  await mkdir(join(dirs.cc, 'safety'), { recursive: true, mode: 0o700 })
  await writeFile(
    join(dirs.cc, 'safety', 'proposals.json'),
    JSON.stringify({
      version: 1,
      proposals: Object.values(storedT0).map((proposal) => ({
        hash: proposalHash(proposal),
        proposal,
        state: 'awaiting_approval',
        approvals: [],
        mergedCount: 0,
        receivedAt: now,
        updatedAt: now,
      })),
    }),
  )
}

beforeAll(async () => {
  const site = await startFarmSite({
    operators: [{ name: 'bob', roles: 'operator' }],
    beforeStart: async (siteDirs, siteIds) => {
      dirs = siteDirs
      ids = siteIds
      ccSigner = signerFromPrivateKey(
        (await loadOrCreateIdentity(statePaths(dirs.cc).deviceIdentity)).privateKey,
      )
      bobSigner = signerFromPrivateKey(
        (await loadOrCreateIdentity(statePaths(dirs.bob).cliIdentity)).privateKey,
      )
      await placeT0Evidence()
    },
  })
  cc = site.cc
  field = site.field
  bobCertificate = JSON.parse(await readFile(join(dirs.bob, 'bob-cert.json'), 'utf8')) as OperatorCertificate
  const enrolled = await runCli(
    ['operator', 'enroll', '--name', 'alice', '--roles', 'operator,admin', '--url', cc.url],
    dirs.cc,
  )
  expect(enrolled.code).toBe(0)
  // Evidence for the non-T0 proposals.
  await waitForZoneObservations(site, 'zone-1')
  // The fence is live on both hops (the command center leads under LEADER_TERM and the field node
  // follows it), so the refusals below are about the evidence, with the term accepted.
  await waitFor(
    'the command center leading under the first term, followed by the field node',
    async () => {
      const terms = await Promise.all(
        [
          { url: cc.url, dir: dirs.cc },
          { url: field.url, dir: dirs.field },
        ].map(({ url, dir }) =>
          withClient(url, dir, async (client) => (await client.call('mesh.status', {})).leader),
        ),
      )
      return terms.every((leader) => leader?.term === LEADER_TERM && leader.deviceId === ids.cc)
        ? true
        : undefined
    },
    30_000,
  )
}, 120_000)

afterAll(stopAll)

async function withClient<T>(url: string, dir: string, use: (client: CliClient) => Promise<T>): Promise<T> {
  const client = await connectCliClient(url, dir)
  try {
    return await use(client)
  } finally {
    await client.close()
  }
}

const valveOpen = () =>
  withClient(
    cc.url,
    dirs.cc,
    async (client) =>
      (
        (await client.call('capability.invoke', { capability: VALVE, operation: 'state' })).result as {
          open: boolean
        }
      ).open,
  )

describe('T0-only (planner inference) proposals are refused at every hop', () => {
  it('the sender refuses to create them, at L1 inside the bounds and at L2', async () => {
    await withClient(cc.url, dirs.cc, async (alice) => {
      for (const operation of ['open-short', 'open']) {
        await expect(
          alice.call('proposal.create', {
            capability: VALVE,
            operation,
            args: { durationSec: 60 },
            evidence: [inferenceFrameId],
          }),
        ).rejects.toMatchObject({ code: 'POLICY_DENIED', data: { code: 'llm-only-evidence' } })
      }
    })
    const logged = (await refusals(dirs.cc)).filter(
      (entry) => entry.data.hop === 'sender' && entry.data.code === 'llm-only-evidence',
    )
    expect(logged).toHaveLength(2)
    const { proposals } = await cliJson<{ proposals: Array<{ proposal: { id: string } }> }>(
      ['proposals', '--url', cc.url],
      dirs.cc,
    )
    expect(proposals.map((record) => record.proposal.id).sort()).toEqual(['p-t0-l1', 'p-t0-l2'])
  })

  it('the forwarder refuses an approval of a stored T0 proposal, at L1 and at L2', async () => {
    await withClient(cc.url, dirs.bob, async (bob) => {
      for (const proposal of [storedT0.L1, storedT0.L2]) {
        const approval = await approvalBy(bobSigner, bobCertificate, proposalHash(proposal))
        await expect(
          bob.call('proposal.approve', { id: proposal.id, approval: approval as never }),
        ).rejects.toMatchObject({ code: 'POLICY_DENIED', data: { code: 'llm-only-evidence' } })
        expect((await bob.call('proposal.get', { id: proposal.id })).proposal.state).toBe('awaiting_approval')
      }
    })
    const logged = (await refusals(dirs.cc)).filter(
      (entry) => entry.data.hop === 'forwarder' && entry.data.code === 'llm-only-evidence',
    )
    expect(logged.map((entry) => entry.data.proposalId).sort()).toEqual(['p-t0-l1', 'p-t0-l2'])
    expect(await valveOpen()).toBe(false)
  })

  it('the actuator refuses the raw command: L1 in bounds without approval, L2 without and with a valid approval', async () => {
    const l1 = t0Proposal('p-raw-l1', 'open-short', 'L1')
    const l2 = t0Proposal('p-raw-l2', 'open', 'L2')
    const l2Approved = t0Proposal('p-raw-l2-approved', 'open', 'L2')
    const commands = [
      await issueCommand(ccSigner, {
        proposal: l1,
        approvals: [],
        issuedAt: Date.now(),
        leaderTerm: LEADER_TERM,
      }),
      await issueCommand(ccSigner, {
        proposal: l2,
        approvals: [],
        issuedAt: Date.now(),
        leaderTerm: LEADER_TERM,
      }),
      await issueCommand(ccSigner, {
        proposal: l2Approved,
        approvals: [await approvalBy(bobSigner, bobCertificate, proposalHash(l2Approved))],
        issuedAt: Date.now(),
        leaderTerm: LEADER_TERM,
      }),
    ]
    await withClient(field.url, dirs.field, async (client) => {
      for (const command of commands) {
        expect(
          await callRpcRaw(client.libp2p, peerIdFromString(ids.field), client.protocol, {
            id: 'raw',
            method: 'actuator.execute',
            params: { command },
          }),
        ).toMatchObject({ ok: false, error: { code: 'POLICY_DENIED', data: { code: 'llm-only-evidence' } } })
      }
    })
    const logged = (await refusals(dirs.field)).filter(
      (entry) => entry.data.hop === 'actuator' && entry.data.code === 'llm-only-evidence',
    )
    expect(logged.map((entry) => entry.data.proposalId).sort()).toEqual([
      'p-raw-l1',
      'p-raw-l2',
      'p-raw-l2-approved',
    ])
    expect(await valveOpen()).toBe(false)
  })
})

describe('approval certificates and approvers', () => {
  const proposeOpen = (durationSec: number, level?: 'L3') =>
    withClient(cc.url, dirs.cc, async (alice) => {
      const created = await alice.call('proposal.create', {
        capability: VALVE,
        operation: 'open',
        args: { durationSec },
        ...(level === undefined ? {} : { level }),
      })
      return { hash: created.proposal.hash, proposal: { id: created.proposal.proposal.id } }
    })

  async function expectRefused(id: string, approval: unknown, code: string) {
    await withClient(cc.url, dirs.bob, async (bob) => {
      await expect(bob.call('proposal.approve', { id, approval: approval as never })).rejects.toMatchObject({
        code: 'POLICY_DENIED',
        data: { code },
      })
    })
    const logged = (await refusals(dirs.cc)).filter(
      (entry) => entry.data.proposalId === id && entry.data.code === code,
    )
    expect(logged).toHaveLength(1)
    expect(logged[0]?.data.hop).toBe('forwarder')
  }

  it('refuses a certificate signed by an untrusted key', async () => {
    const proposal = await proposeOpen(101)
    const stranger = signerFromPrivateKey(
      (await loadOrCreateIdentity(join(await makeStateDir('stranger'), 'identity', 'device.json')))
        .privateKey,
    )
    const now = Date.now()
    const selfMade = await issueOperatorCertificate(stranger, {
      operatorId: ids.bob,
      displayName: 'bob',
      roles: ['operator', 'admin'],
      issuedAt: now - 1_000,
      expiresAt: now + HOUR,
    })
    await expectRefused(
      proposal.proposal.id,
      await approvalBy(bobSigner, selfMade, proposal.hash),
      'untrusted-certificate-issuer',
    )
  })

  it('refuses an expired certificate, even one the command center signed', async () => {
    const proposal = await proposeOpen(102)
    const now = Date.now()
    const expired = await issueOperatorCertificate(ccSigner, {
      operatorId: ids.bob,
      displayName: 'bob',
      roles: ['operator'],
      issuedAt: now - 2 * HOUR,
      expiresAt: now - HOUR,
    })
    await expectRefused(
      proposal.proposal.id,
      await approvalBy(bobSigner, expired, proposal.hash),
      'certificate-expired',
    )
  })

  it('refuses one operator approving an L3 proposal twice', async () => {
    const proposal = await proposeOpen(103, 'L3')
    await withClient(cc.url, dirs.bob, async (bob) => {
      const first = await bob.call('proposal.approve', {
        id: proposal.proposal.id,
        approval: (await approvalBy(bobSigner, bobCertificate, proposal.hash)) as never,
      })
      expect(first.verdict).toBe('pending')
    })
    await expectRefused(
      proposal.proposal.id,
      await approvalBy(bobSigner, bobCertificate, proposal.hash),
      'duplicate-approver',
    )
    const record = await withClient(
      cc.url,
      dirs.bob,
      async (bob) => (await bob.call('proposal.get', { id: proposal.proposal.id })).proposal,
    )
    expect(record.state).toBe('awaiting_approval')
    expect(record.approvals).toHaveLength(1)
    expect((await runCli(['evidence', 'verify'], dirs.cc)).code).toBe(0)
    expect(JSON.parse(await readFile(join(dirs.cc, 'evidence', 'head.json'), 'utf8'))).toMatchObject({
      version: 1,
    })
  })

  it('the actuator refuses a command whose arguments differ from the approved proposal', async () => {
    const approved = await withClient(cc.url, dirs.cc, async (alice) => {
      const created = await alice.call('proposal.create', {
        capability: VALVE,
        operation: 'open',
        args: { durationSec: 104 },
      })
      return { hash: created.proposal.hash, proposal: created.proposal.proposal }
    })
    // Bob's approval is genuine, for the proposal as created; the command carries the same proposal
    // with a longer duration (re-hashed, so the command itself is consistent) and that approval.
    const approval = await approvalBy(bobSigner, bobCertificate, approved.hash)
    const altered: Proposal = { ...approved.proposal, args: { durationSec: 3_600 } }
    const command = await issueCommand(ccSigner, {
      proposal: altered,
      approvals: [approval],
      issuedAt: Date.now(),
      leaderTerm: LEADER_TERM,
    })
    await withClient(field.url, dirs.field, async (client) => {
      expect(
        await callRpcRaw(client.libp2p, peerIdFromString(ids.field), client.protocol, {
          id: 'raw',
          method: 'actuator.execute',
          params: { command },
        }),
      ).toMatchObject({ ok: false, error: { code: 'POLICY_DENIED', data: { code: 'hash-mismatch' } } })
    })
    const logged = (await refusals(dirs.field)).filter(
      (entry) => entry.data.hop === 'actuator' && entry.data.code === 'hash-mismatch',
    )
    expect(logged.map((entry) => entry.data.proposalId)).toContain(approved.proposal.id)
    expect(await valveOpen()).toBe(false)
  })
})
