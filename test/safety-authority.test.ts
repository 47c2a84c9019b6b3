/**
 * Issue 14, "no device may vouch for itself": the attacks an insider ran against real processes,
 * each as a regression test. A trusted field device (`rogue`, a real libp2p node started here with
 * the node's own composition root), a certified viewer and two operators act against a command
 * center and a field node; every decision must come from the receiver's records (site bindings,
 * certificates on record, the connection it observed), never from what the sender says.
 *
 * "Nothing moved" is read from the field node's evidence log (no execution entry for the proposal)
 * and the proposal's state at the command center, never from a sleep.
 */
import { readFile, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { peerIdFromString } from '@libp2p/peer-id'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { z } from 'zod'
import { type ClawMeshNode, startClawMeshNode } from '../node/clawmesh-node.ts'
import { type CliClient, connectCliClient } from '../node/cli/client-node.ts'
import { parseNodeConfig } from '../node/config.ts'
import { callRpc } from '../node/rpc/rpc-client.ts'
import { DEMO_FARM_PATH } from '../node/site/site-model.ts'
import type { FrameFields } from '../protocol/context/index.ts'
import type { ClawMeshError } from '../protocol/errors.ts'
import { DEFAULT_MESH_NAME, PROTOCOL_GENERATION, rpcProtocolId } from '../protocol/mesh.ts'
import { type OperatorCertificate, signApproval } from '../protocol/safety/index.ts'
import { signerFromPrivateKey } from '../protocol/signing.ts'
import { loadOrCreateIdentity } from '../runtime/identity/device-identity.ts'
import { statePaths } from '../runtime/state/state-dir.ts'
import { TrustStore } from '../runtime/trust/trust-store.ts'
import { type FarmSite, startFarmSite, waitForZoneObservations } from './helpers/farm-site.ts'
import {
  cliJson,
  makeStateDir,
  type NodeProcess,
  stopAll,
  waitFor,
  waitForPlannerLead,
} from './helpers/processes.ts'

const VALVE_3 = 'actuator:valve:zone-3'
const PUMP = 'actuator:pump:zone-4'

let site: FarmSite<'bob' | 'carol' | 'viewer'>
let cc: NodeProcess
let rogue: ClawMeshNode
let rogueDir: string
let l3SitePath: string

const proposalJsonSchema = z.object({
  state: z.string(),
  proposal: z.object({
    id: z.string(),
    targetNode: z.string(),
    author: z.object({ kind: z.string(), id: z.string() }),
  }),
})
type ProposalJson = z.infer<typeof proposalJsonSchema>
/** The proposal record of a `proposal.create` / `proposal.get` answer, checked. */
const recordOf = (answer: unknown): ProposalJson =>
  proposalJsonSchema.parse((answer as { proposal: unknown }).proposal)

async function withClient<T>(dir: string, use: (client: CliClient) => Promise<T>): Promise<T> {
  const client = await connectCliClient(cc.url, dir)
  try {
    return await use(client)
  } finally {
    await client.close()
  }
}

/** An RPC call made by the rogue device with its own device key, as any trusted node could. */
function asRogue(method: string, params: Record<string, unknown>): Promise<unknown> {
  return callRpc(
    rogue.libp2p,
    peerIdFromString(site.ids.cc),
    rpcProtocolId(PROTOCOL_GENERATION),
    method as never,
    params as never,
  )
}

async function errorOf(call: Promise<unknown>): Promise<{ code: string; data?: Record<string, unknown> }> {
  try {
    await call
  } catch (error) {
    const clawError = error as ClawMeshError
    return { code: clawError.code, ...(clawError.data === undefined ? {} : { data: clawError.data }) }
  }
  throw new Error('the call succeeded; it should have been refused')
}

async function executionsAtField(proposalId: string): Promise<unknown[]> {
  const log = await cliJson<{ entries: Array<{ type: string; data: { proposalId?: string } }> }>(
    ['evidence', 'list'],
    site.dirs.field,
  )
  return log.entries.filter((entry) => entry.type === 'execution' && entry.data.proposalId === proposalId)
}

async function counterAtCc(name: string): Promise<number> {
  return withClient(site.dirs.cc, async (client) => {
    const health = (await client.call('mesh.health', {})) as { counters: Record<string, number> }
    return health.counters[name] ?? 0
  })
}

beforeAll(async () => {
  // The pump's start is L3 at this command center: two operators, one observed on site.
  const farm = JSON.parse(await readFile(DEMO_FARM_PATH, 'utf8')) as {
    actuators: Array<{ capability: string; operations: Array<{ name: string; level: string }> }>
  }
  for (const actuator of farm.actuators) {
    for (const operation of actuator.operations) {
      if (actuator.capability === PUMP && operation.name === 'start') operation.level = 'L3'
    }
  }
  rogueDir = await makeStateDir('rogue')
  l3SitePath = join(rogueDir, 'site-l3.json')
  await writeFile(l3SitePath, JSON.stringify(farm))
  const rogueId = (await loadOrCreateIdentity(statePaths(rogueDir).deviceIdentity)).deviceId
  site = await startFarmSite({
    ccArgs: ['--site', l3SitePath],
    operators: [
      { name: 'bob', roles: 'operator' },
      { name: 'carol', roles: 'operator' },
      { name: 'viewer', roles: 'viewer' },
    ],
    beforeStart: async (dirs, ids) => {
      // The rogue is a trusted field device of the site: both nodes know it by name.
      await (await TrustStore.open(statePaths(dirs.cc).trustedPeers)).add(rogueId, 'rogue')
      await (await TrustStore.open(statePaths(dirs.field).trustedPeers)).add(rogueId, 'rogue')
      const rogueTrust = await TrustStore.open(statePaths(rogueDir).trustedPeers)
      await rogueTrust.add(ids.cc, 'command-center')
      await rogueTrust.add(ids.field, 'field-1')
    },
  })
  cc = site.cc
  rogue = await startClawMeshNode(
    parseNodeConfig(
      {
        name: 'rogue',
        role: 'field',
        host: '127.0.0.1',
        port: 0,
        discovery: false,
        stateDir: rogueDir,
        // It claims to serve zone-3's valve, which the site assigns to field-1.
        capabilities: [VALVE_3],
        commandCenters: [site.ids.cc],
        peers: [`${site.ids.cc}=${cc.url}`],
      },
      'test',
    ),
    { log: () => {} },
  )
  await waitFor('the rogue connected to the command center', () =>
    rogue.membership.connectedMembers().includes(site.ids.cc) ? true : undefined,
  )
  await waitForZoneObservations(site, 'zone-3')
  await waitForZoneObservations(site, 'zone-4')
  await waitForPlannerLead(cc, site.dirs.cc)
}, 180_000)

afterAll(async () => {
  await rogue?.stop()
  await stopAll()
})

describe('evidence is assessed by the receiver', () => {
  it('observation 1: an L1 open citing the command center’s own capability_update (labelled T3) is refused', async () => {
    const config = await withClient(site.dirs.cc, async (client) => {
      const { frames } = (await client.call('mesh.world.query', { kind: 'capability_update' })) as {
        frames: Array<{ frameId: string; origin: string; trust: { tier: string } }>
      }
      return frames.find((frame) => frame.origin === site.ids.cc)
    })
    expect(config?.trust.tier).toBe('T3')
    const refused = await errorOf(
      asRogue('proposal.create', {
        capability: VALVE_3,
        operation: 'open-short',
        level: 'L1',
        args: { durationSec: 120 },
        evidence: [config?.frameId],
      }),
    )
    expect(refused).toMatchObject({ code: 'POLICY_DENIED', data: { code: 'llm-only-evidence' } })
  })

  it('observation 1: a trusted device without a certificate cannot run L1, even on real evidence', async () => {
    const refused = await errorOf(
      asRogue('proposal.create', {
        capability: VALVE_3,
        operation: 'open-short',
        level: 'L1',
        args: { durationSec: 60 },
      }),
    )
    expect(refused).toMatchObject({ code: 'POLICY_DENIED', data: { code: 'l1-author-not-permitted' } })
  })

  it('observation 3: a certified viewer cannot propose at all (roles from the certificate on record)', async () => {
    const refused = await errorOf(
      withClient(site.dirs.viewer, (client) =>
        client.call('proposal.create', {
          capability: VALVE_3,
          operation: 'open-short',
          level: 'L1',
          args: { durationSec: 60 },
        }),
      ),
    )
    expect(refused.code).toBe('FORBIDDEN')
  })

  it('an operator’s proposal is recorded with the author kind from records; a device’s as a device', async () => {
    const byBob = recordOf(
      await withClient(site.dirs.bob, (client) =>
        client.call('proposal.create', { capability: VALVE_3, operation: 'open', args: { durationSec: 30 } }),
      ),
    )
    expect(byBob.proposal.author).toEqual({
      kind: 'operator',
      id: site.ids.bob,
    })
    const byRogue = recordOf(
      await asRogue('proposal.create', { capability: VALVE_3, operation: 'open', args: { durationSec: 31 } }),
    )
    expect(byRogue.proposal.author).toEqual({ kind: 'device', id: rogue.deviceId })
  })

  it('a fractional value for an integer L1 argument is out-of-bounds', async () => {
    const refused = await errorOf(
      withClient(site.dirs.bob, (client) =>
        client.call('proposal.create', {
          capability: VALVE_3,
          operation: 'open-short',
          level: 'L1',
          args: { durationSec: 59.5 },
        }),
      ),
    )
    expect(refused).toMatchObject({ code: 'POLICY_DENIED', data: { code: 'out-of-bounds' } })
  })

  it('closing a valve (its safe state) runs at once for a certified operator', async () => {
    const closed = recordOf(
      await withClient(site.dirs.bob, (client) =>
        client.call('proposal.create', { capability: VALVE_3, operation: 'close' }),
      ),
    )
    const done = await waitFor('the close to complete', () =>
      withClient(site.dirs.cc, async (client) => {
        const record = recordOf(await client.call('proposal.get', { id: closed.proposal.id }))
        return record.state === 'completed' ? record : undefined
      }),
    )
    expect(done.state).toBe('completed')
    expect(await executionsAtField(closed.proposal.id)).toHaveLength(1)
  })
})

describe('targets and facts come from the site, not from advertisements', () => {
  it('observation 6: a proposal for zone-3’s valve targets the device the site binds, not the rogue that advertises it', async () => {
    await waitFor('the command center refusing the rogue’s advertisement', async () =>
      (await counterAtCc('capabilities.refused.unbound')) > 0 ? true : undefined,
    )
    const created = recordOf(
      await withClient(site.dirs.bob, (client) =>
        client.call('proposal.create', { capability: VALVE_3, operation: 'open', args: { durationSec: 32 } }),
      ),
    )
    expect(created.proposal.targetNode).toBe(site.ids.field)
    const wrong = await errorOf(
      withClient(site.dirs.bob, (client) =>
        client.call('proposal.create', {
          capability: VALVE_3,
          operation: 'open',
          args: { durationSec: 33 },
          targetNode: rogue.deviceId,
        }),
      ),
    )
    expect(wrong).toMatchObject({ code: 'POLICY_DENIED', data: { code: 'wrong-target' } })
  })

  it('observation 7: forged execution and soil frames from a trusted device never enter the world model', async () => {
    const base = { generation: PROTOCOL_GENERATION, meshName: DEFAULT_MESH_NAME }
    const forged: FrameFields[] = [
      {
        ...base,
        originName: 'field-1',
        kind: 'execution',
        data: { capability: PUMP, operation: 'start', status: 'completed', result: { running: true } },
        trust: { tier: 'T3', sources: [PUMP] },
      },
      {
        ...base,
        originName: 'rogue',
        kind: 'execution',
        data: { capability: PUMP, operation: 'start', status: 'completed', result: { running: true } },
        trust: { tier: 'T3', sources: [PUMP] },
      },
      {
        ...base,
        originName: 'rogue',
        kind: 'observation',
        data: { metric: 'soil-moisture', sensor: 'soil-zone-3', unit: '%', value: 2, zone: 'zone-3' },
        trust: { tier: 'T3', sources: ['sensor:soil-moisture:zone-3'] },
      },
    ]
    await waitFor(
      'the command center refusing each forged frame',
      async () => {
        for (const fields of forged)
          await rogue.context.publish({ ...fields, timestamp: Date.now() } as FrameFields)
        const [name, unbound] = await Promise.all([
          counterAtCc('frames.rejected.origin-name-mismatch'),
          counterAtCc('frames.rejected.unbound-origin'),
        ])
        return name > 0 && unbound >= 2 ? true : undefined
      },
      30_000,
    )
    const fromRogue = await withClient(site.dirs.cc, async (client) => {
      const { frames } = (await client.call('mesh.world.query', { origin: rogue.deviceId })) as {
        frames: Array<{ kind: string }>
      }
      return frames.filter((frame) => frame.kind === 'execution' || frame.kind === 'observation')
    })
    expect(fromRogue).toEqual([])
  })
})

describe('on site is what the command center observed', () => {
  async function approvalBy(name: 'bob' | 'carol', proposalHash: string, link: 'lan' | 'wan') {
    const dir = site.dirs[name]
    const key = await loadOrCreateIdentity(statePaths(dir).cliIdentity)
    const certificate = JSON.parse(
      await readFile(join(dir, `${name}-cert.json`), 'utf8'),
    ) as OperatorCertificate
    return signApproval(signerFromPrivateKey(key.privateKey), {
      proposalHash,
      decision: 'approve',
      operatorCertificate: certificate,
      operatorLink: link,
      at: Date.now(),
    })
  }

  it('observation 8: an L3 whose approvals merely claim lan and are relayed by a device does not run', async () => {
    const created = (await asRogue('proposal.create', {
      capability: PUMP,
      operation: 'start',
      args: { durationSec: 60 },
    })) as { proposal: { hash: string; proposal: { id: string; level: string } } }
    expect(created.proposal.proposal.level).toBe('L3')
    const { id } = created.proposal.proposal
    const carol = await approvalBy('carol', created.proposal.hash, 'lan')
    const relayed = await errorOf(asRogue('proposal.approve', { id, approval: carol }))
    expect(relayed).toMatchObject({ code: 'POLICY_DENIED', data: { code: 'link-claim-mismatch' } })

    // Claimed honestly (wan) and relayed: kept, but it puts nobody on site.
    const carolWan = await approvalBy('carol', created.proposal.hash, 'wan')
    const kept = (await asRogue('proposal.approve', { id, approval: carolWan })) as { verdict: string }
    expect(kept.verdict).toBe('pending')
    expect(await executionsAtField(id)).toEqual([])

    // Bob approves from his own key over a loopback connection: observed local, so the L3 runs.
    const bob = await approvalBy('bob', created.proposal.hash, 'lan')
    const allowed = (await withClient(site.dirs.bob, (client) =>
      client.call('proposal.approve', { id, approval: bob }),
    )) as { verdict: string }
    expect(allowed.verdict).toBe('allow')
    await waitFor('the pump start to be executed once', async () =>
      (await executionsAtField(id)).length === 1 ? true : undefined,
    )
  })
})
