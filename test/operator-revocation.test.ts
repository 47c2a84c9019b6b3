/**
 * Operator revocation across real processes (issue 14, "Revocation"). The observed attack: after
 * `clawmesh trust remove bob` bob could no longer connect, but an approval he had signed, relayed by
 * another trusted key, still opened a valve, because certificates were checked only for signature
 * and expiry. Now the command center signs a revocation, every node keeps it in its own records and
 * refuses certificates issued before it:
 *
 * - the relayed approval is refused at the command center (`operator-revoked`);
 * - a hand-built command carrying it, signed by the command center's own key and sent straight to
 *   the field node, is refused at the actuator, and its evidence log shows no execution;
 * - the field node still refuses after a restart cut off from the command center (its own file);
 * - a trusted operator renews its certificate; the revoked one cannot, even when its key is trusted
 *   again as a device.
 */
import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { peerIdFromString } from '@libp2p/peer-id'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type CliClient, connectCliClient } from '../node/cli/client-node.ts'
import { callRpcRaw } from '../node/rpc/rpc-client.ts'
import { type Frame, frameSchema } from '../protocol/context/index.ts'
import {
  issueCommand,
  type OperatorCertificate,
  type Proposal,
  proposalHash,
  signApproval,
} from '../protocol/safety/index.ts'
import { type Signer, signerFromPrivateKey } from '../protocol/signing.ts'
import { loadOrCreateIdentity } from '../runtime/identity/device-identity.ts'
import { statePaths } from '../runtime/state/state-dir.ts'
import { type FarmSite, startFarmSite, waitForZoneObservations } from './helpers/farm-site.ts'
import { cliJson, type NodeProcess, runCli, startNode, stopAll, waitFor } from './helpers/processes.ts'

const VALVE = 'actuator:valve:zone-1'
const HOUR = 3_600_000
const WEEK = 7 * 24 * HOUR
const LEADER_TERM = 1

let site: FarmSite<'bob' | 'carol'>
let cc: NodeProcess
let field: NodeProcess
let ccSigner: Signer
let bobSigner: Signer
let bobCertificate: OperatorCertificate
/** Bob's approval of `awaiting`, signed while he was still trusted. */
let signedBeforeRevocation: { id: string; approval: unknown }

interface EvidenceJson {
  entries: Array<{ type: string; data: { hop?: string; code?: string; proposalId?: string } }>
}
const evidenceOf = async (dir: string) => (await cliJson<EvidenceJson>(['evidence', 'list'], dir)).entries

async function withClient<T>(url: string, dir: string, use: (client: CliClient) => Promise<T>): Promise<T> {
  const client = await connectCliClient(url, dir)
  try {
    return await use(client)
  } finally {
    await client.close()
  }
}

const countersOf = (url: string, dir: string) =>
  withClient(url, dir, async (client) => (await client.call('mesh.health', {})).counters)

const approvalBy = (signer: Signer, certificate: OperatorCertificate, hash: string) =>
  signApproval(signer, {
    proposalHash: hash,
    decision: 'approve',
    operatorCertificate: certificate,
    operatorLink: 'local',
    at: Date.now(),
  })

/** An L2 valve proposal as the leading planner would author it, on measured (T1) evidence. */
/** A real zone-1 soil reading of field-1, cited by the hand-built commands. */
let soilReading: Frame

function plannerProposal(id: string): Proposal {
  const now = Date.now()
  return {
    version: 1,
    id,
    capability: VALVE,
    targetNode: site.ids.field,
    operation: 'open',
    args: { durationSec: 600 },
    level: 'L2',
    evidence: [{ frameId: soilReading.frameId, tier: 'T1' }],
    author: { kind: 'planner', id: site.ids.cc },
    createdAt: now,
    expiresAt: now + HOUR,
    leaderTerm: LEADER_TERM,
  }
}

/** Sends a command signed by the command center's own device key straight to a field node. */
async function executeRaw(node: NodeProcess, id: string) {
  const proposal = plannerProposal(id)
  const command = await issueCommand(ccSigner, {
    proposal,
    approvals: [await approvalBy(bobSigner, bobCertificate, proposalHash(proposal))],
    issuedAt: Date.now(),
    leaderTerm: LEADER_TERM,
    // A real, origin-signed zone-1 reading, so the actuator's own evidence check passes and the
    // refusal is about the approver alone.
    evidenceFrames: [soilReading],
  })
  return withClient(node.url, site.dirs.field, (client) =>
    callRpcRaw(client.libp2p, peerIdFromString(site.ids.field), client.protocol, {
      id: 'raw',
      method: 'actuator.execute',
      params: { command },
    }),
  )
}

beforeAll(async () => {
  site = await startFarmSite({
    operators: [
      { name: 'bob', roles: 'operator' },
      { name: 'carol', roles: 'operator' },
    ],
  })
  cc = site.cc
  field = site.field
  ccSigner = signerFromPrivateKey(
    (await loadOrCreateIdentity(statePaths(site.dirs.cc).deviceIdentity)).privateKey,
  )
  bobSigner = signerFromPrivateKey(
    (await loadOrCreateIdentity(statePaths(site.dirs.bob).cliIdentity)).privateKey,
  )
  bobCertificate = JSON.parse(
    await readFile(join(site.dirs.bob, 'bob-cert.json'), 'utf8'),
  ) as OperatorCertificate
  await waitForZoneObservations(site, 'zone-1')
  soilReading = await withClient(cc.url, site.dirs.cc, async (client) => {
    const { frames } = await client.call('mesh.world.query', { kind: 'observation', zone: 'zone-1' })
    const reading = frames.find((frame) => (frame.data as { metric?: string }).metric === 'soil-moisture')
    if (reading === undefined) throw new Error('no zone-1 soil reading at the command center')
    return frameSchema.parse(reading)
  })
  await waitFor(
    'the command center leading under the first term, followed by the field node',
    async () => {
      const terms = await Promise.all(
        [
          { url: cc.url, dir: site.dirs.cc },
          { url: field.url, dir: site.dirs.field },
        ].map(({ url, dir }) =>
          withClient(url, dir, async (client) => (await client.call('mesh.status', {})).leader),
        ),
      )
      return terms.every((leader) => leader?.term === LEADER_TERM && leader.deviceId === site.ids.cc)
        ? true
        : undefined
    },
    30_000,
  )
  // A proposal awaiting approval, and bob's approval of it signed while he is trusted.
  signedBeforeRevocation = await withClient(cc.url, site.dirs.cc, async (alice) => {
    const created = await alice.call('proposal.create', {
      capability: VALVE,
      operation: 'open',
      args: { durationSec: 600 },
    })
    return {
      id: String(created.proposal.proposal['id']),
      approval: await approvalBy(bobSigner, bobCertificate, created.proposal.hash),
    }
  })
}, 120_000)

afterAll(stopAll)

describe('a removed operator is revoked across the mesh', () => {
  it('trust remove on the command center revokes bob, and the field node receives the revocation', async () => {
    const removed = await runCli(['trust', 'remove', site.ids.bob, '--reason', 'left the crew'], site.dirs.cc)
    expect(removed.code).toBe(0)
    await waitFor(
      'the revocation at the field node',
      async () => ((await countersOf(field.url, site.dirs.field))['trust.revocation.accepted'] ?? 0) >= 1,
      20_000,
    )
    expect((await countersOf(cc.url, site.dirs.cc))['operator.revocation.issued']).toBe(1)
  }, 60_000)

  it('refuses bob approval relayed by another trusted key at the command center (operator-revoked)', async () => {
    await withClient(cc.url, site.dirs.carol, async (carol) => {
      await expect(
        carol.call('proposal.approve', {
          id: signedBeforeRevocation.id,
          approval: signedBeforeRevocation.approval as never,
        }),
      ).rejects.toMatchObject({ code: 'POLICY_DENIED', data: { code: 'operator-revoked' } })
      expect((await carol.call('proposal.get', { id: signedBeforeRevocation.id })).proposal.state).toBe(
        'awaiting_approval',
      )
    })
    const refused = (await evidenceOf(site.dirs.cc)).filter(
      (entry) =>
        entry.type === 'refusal' &&
        entry.data.code === 'operator-revoked' &&
        entry.data.proposalId === signedBeforeRevocation.id,
    )
    expect(refused.map((entry) => entry.data.hop)).toEqual(['forwarder'])
    expect((await countersOf(cc.url, site.dirs.cc))['safety.refused.operator-revoked']).toBe(1)
  }, 60_000)

  it('refuses at the actuator a command signed by the command center key that carries bob approval', async () => {
    expect(await executeRaw(field, 'p-revoked-raw')).toMatchObject({
      ok: false,
      error: { code: 'POLICY_DENIED', data: { code: 'operator-revoked' } },
    })
    const entries = (await evidenceOf(site.dirs.field)).filter(
      (entry) => entry.data.proposalId === 'p-revoked-raw',
    )
    expect(entries.map((entry) => [entry.type, entry.data.hop, entry.data.code])).toEqual([
      ['refusal', 'actuator', 'operator-revoked'],
    ])
    expect((await evidenceOf(site.dirs.field)).filter((entry) => entry.type === 'execution')).toEqual([])
  }, 60_000)

  it('the field node keeps refusing after a restart cut off from the command center', async () => {
    await field.stop()
    // Without --peer it does not dial the command center, so nothing is redelivered: the refusal
    // can come only from the revocation the field node persisted.
    const alone = site.fieldArgs.filter((arg, index, all) => arg !== '--peer' && all[index - 1] !== '--peer')
    field = await startNode(site.dirs.field, alone)
    expect(await executeRaw(field, 'p-revoked-after-restart')).toMatchObject({
      ok: false,
      error: { code: 'POLICY_DENIED', data: { code: 'operator-revoked' } },
    })
    const counters = await countersOf(field.url, site.dirs.field)
    expect(counters['trust.revocation.accepted'] ?? 0).toBe(0)
    expect(counters['safety.refused.operator-revoked']).toBe(1)
    expect((await evidenceOf(site.dirs.field)).filter((entry) => entry.type === 'execution')).toEqual([])
  }, 60_000)
})

describe('operator certificate renewal', () => {
  const certificateOf = async (dir: string) =>
    JSON.parse(
      await readFile(join(dir, 'identity', 'operator-certificate.json'), 'utf8'),
    ) as OperatorCertificate

  it('renews a trusted operator for a week at most, with the same name and roles', async () => {
    const before = await certificateOf(site.dirs.carol)
    const renewed = await runCli(['operator', 'renew', '--url', cc.url, '--json'], site.dirs.carol)
    expect(renewed.code).toBe(0)
    const after = await certificateOf(site.dirs.carol)
    expect(after.body).toMatchObject({
      operatorId: site.ids.carol,
      displayName: before.body.displayName,
      roles: before.body.roles,
      issuerId: site.ids.cc,
    })
    expect(after.body.issuedAt).toBeGreaterThan(before.body.issuedAt)
    expect(after.body.expiresAt - after.body.issuedAt).toBeLessThanOrEqual(WEEK)
    expect((await countersOf(cc.url, site.dirs.cc))['operator.renew.accepted']).toBe(1)
  }, 60_000)

  it('refuses to renew a revoked operator, even after its key is trusted again as a device', async () => {
    // Revoked and removed: bob cannot even reach the command center.
    expect((await runCli(['operator', 'renew', '--url', cc.url], site.dirs.bob)).code).not.toBe(0)
    expect((await runCli(['trust', 'add', site.ids.bob, '--name', 'bob'], site.dirs.cc)).code).toBe(0)
    await waitFor('bob reaching the command center again', () =>
      withClient(cc.url, site.dirs.bob, async (bob) => (await bob.call('mesh.status', {})).deviceId),
    )
    await withClient(cc.url, site.dirs.bob, async (bob) => {
      await expect(bob.call('operator.renew', { certificate: bobCertificate })).rejects.toMatchObject({
        code: 'FORBIDDEN',
        data: { code: 'revoked' },
      })
    })
    expect((await countersOf(cc.url, site.dirs.cc))['operator.renew.refused.revoked']).toBe(1)
  }, 60_000)
})
