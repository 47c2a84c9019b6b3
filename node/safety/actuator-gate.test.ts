/** The actuator gate with fakes: every refusal comes before the device is touched, and an allowed
 * command moves the device exactly once (a real ledger in a temp dir makes the second a replay). */
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest'
import type { Frame, LocalFrameFields } from '../../protocol/context/index.ts'
import { ClawMeshError } from '../../protocol/errors.ts'
import {
  type CertifiedCommand,
  type EvidenceFact,
  issueCommand,
  type OperationManifest,
  type Proposal,
  proposalHash,
  signApproval,
} from '../../protocol/safety/index.ts'
import type { Signer } from '../../protocol/signing.ts'
import { Counters } from '../../runtime/counters.ts'
import {
  makeProposal,
  NOW,
  newOperator,
  newSigner,
  type Operator,
} from '../../test/helpers/safety-fixtures.ts'
import { EventRing } from '../mesh/event-ring.ts'
import { ActuatorGate, type ActuatorGateInit } from './actuator-gate.ts'
import { EstopLatches } from './estop-latch.ts'
import { ExecutionLedger } from './execution-ledger.ts'

const VALVE = 'actuator:valve:zone-1'
const MANIFEST: OperationManifest[] = [
  {
    operation: 'open',
    minimumLevel: 'L1',
    bounds: [{ arg: 'durationSec', max: 600, integer: true }],
    integerArgs: ['durationSec'],
  },
]

let commandCenter: Signer
let self: Signer
let planner: Signer
let alice: Operator

beforeAll(async () => {
  commandCenter = await newSigner()
  self = await newSigner()
  planner = await newSigner()
  alice = await newOperator(commandCenter, ['operator'], 'Alice')
})

let stateDir: string
beforeEach(async () => {
  stateDir = await mkdtemp(join(tmpdir(), 'clawmesh-gate-'))
})
afterEach(async () => {
  await rm(stateDir, { recursive: true, force: true })
})

function proposal(overrides: Partial<Proposal> = {}): Proposal {
  return makeProposal({ targetNode: self.id, authorId: planner.id, capability: VALVE, ...overrides })
}

/** An L2 proposal approved by an operator the command center certified, issued by `issuer`. */
async function command(
  target: Proposal = proposal(),
  fields: { issuer?: Signer; leaderTerm?: number } = {},
): Promise<CertifiedCommand> {
  const approval = await signApproval(alice.signer, {
    proposalHash: proposalHash(target),
    decision: 'approve',
    operatorCertificate: alice.certificate,
    operatorLink: 'lan',
    at: NOW,
  })
  return issueCommand(fields.issuer ?? commandCenter, {
    proposal: target,
    approvals: [approval],
    issuedAt: NOW,
    ...(fields.leaderTerm === undefined ? {} : { leaderTerm: fields.leaderTerm }),
    observedLinks: { [approval.body.nonce]: 'lan' },
  })
}

/** Measured observations of the valve's zone, as the gate's own facts would assess them. */
function evidenceOf(target: Proposal): EvidenceFact[] {
  return target.evidence.map((ref) => ({
    frameId: ref.frameId,
    tier: ref.tier,
    kind: 'observation',
    zone: 'zone-1',
    metric: 'soil-moisture',
    timestamp: target.createdAt - 1_000,
    basis: 'test',
  }))
}

function factsWith(
  manifest: OperationManifest[],
  guardReading: ActuatorGateInit['facts']['guardReading'] = () => undefined,
): ActuatorGateInit['facts'] {
  return {
    manifestFor: () => manifest,
    assessEvidence: async (target) => evidenceOf(target),
    authorFact: async () => ({ kind: 'planner', eligible: true }),
    guardReading,
  }
}

async function gateWith(overrides: Partial<ActuatorGateInit> = {}) {
  const ledger = await ExecutionLedger.open({ stateDir, now: () => NOW })
  const device = vi.fn(
    async (_capability: string, _operation: string, _args: Record<string, unknown>, _proposalId: string) => ({
      ok: true as const,
      result: { operation: 'open', open: true, changed: true },
      state: {
        id: 'valve-1',
        capability: VALVE,
        kind: 'valve' as const,
        zone: 'zone-1',
        open: true,
        since: NOW,
      },
      observations: [],
    }),
  )
  const evidence: Array<{ type: string; data: unknown }> = []
  const published: LocalFrameFields[] = []
  const counters = new Counters()
  const init: ActuatorGateInit = {
    deviceId: self.id,
    bindings: { actuatorByCapability: () => ({ deviceId: self.id, zone: 'zone-1' }) as never },
    ledger,
    latches: await EstopLatches.open(stateDir),
    evidence: {
      append: async (type, data) => {
        evidence.push({ type, data })
        return {} as never
      },
    },
    facts: {
      manifestFor: () => MANIFEST,
      assessEvidence: async (target) => evidenceOf(target),
      authorFact: async () => ({ kind: 'planner', eligible: true }),
      guardReading: () => undefined,
    },
    actuators: { has: (capability) => capability === VALVE, apply: device },
    isCommandCenter: (id) => id === commandCenter.id,
    isRevoked: () => false,
    publish: async (fields) => {
      published.push(fields)
      return { frameId: `frame-${published.length}`, ...fields } as unknown as Frame
    },
    counters,
    events: new EventRing(16),
    now: () => NOW,
    log: () => {},
    ...overrides,
  }
  return { gate: new ActuatorGate(init), ledger, device, evidence, published, counters }
}

async function refusal(promise: Promise<unknown>): Promise<{ code: string; dataCode: unknown }> {
  const error = await promise.then(
    () => {
      throw new Error('expected a refusal')
    },
    (caught: unknown) => caught,
  )
  expect(error).toBeInstanceOf(ClawMeshError)
  const clawError = error as ClawMeshError
  return { code: clawError.code, dataCode: clawError.data?.['code'] }
}

describe('ActuatorGate', () => {
  it('moves the device exactly once on allow: ledger started → device → finished, execution frame, evidence', async () => {
    const { gate, ledger, device, evidence, published } = await gateWith()
    const issued = await command()
    const result = await gate.executeCommand(issued)
    expect(result).toMatchObject({ proposalHash: issued.body.commandHash, status: 'completed' })
    expect(device).toHaveBeenCalledTimes(1)
    expect(device).toHaveBeenCalledWith(VALVE, 'open', { durationSec: 120 }, expect.any(String))
    expect(ledger.outcome(issued.body.commandHash)).toMatchObject({ state: 'finished', status: 'completed' })
    expect(published.map((frame) => frame.kind)).toEqual(['execution'])
    expect(published[0]?.trust).toEqual({ tier: 'T3', sources: [VALVE] })
    expect(evidence.map((entry) => entry.type)).toEqual(['execution'])
  })

  it('refuses a replay from the ledger without touching the device again', async () => {
    const { gate, device, counters, evidence } = await gateWith()
    const issued = await command()
    await gate.executeCommand(issued)
    expect(await refusal(gate.executeCommand(issued))).toEqual({
      code: 'ALREADY_EXECUTED',
      dataCode: 'replay',
    })
    expect(device).toHaveBeenCalledTimes(1)
    expect(counters.get('safety.refused.replay')).toBe(1)
    expect(evidence.at(-1)).toMatchObject({ type: 'refusal', data: { reason: 'replay' } })
  })

  it('refuses a command for an actuator the site binds to another device, before the ledger or device', async () => {
    const elsewhere = (await newSigner()).id
    const { gate, ledger, device, counters } = await gateWith({
      bindings: { actuatorByCapability: () => ({ deviceId: elsewhere, zone: 'zone-1' }) as never },
    })
    const issued = await command()
    expect(await refusal(gate.executeCommand(issued))).toEqual({
      code: 'POLICY_DENIED',
      dataCode: 'unbound-target',
    })
    expect(device).not.toHaveBeenCalled()
    expect(ledger.outcome(issued.body.commandHash)).toBeUndefined()
    expect(counters.get('safety.refused.unbound-target')).toBe(1)
  })

  it('refuses a command issued under a leader term older than the one this node has seen', async () => {
    const { gate, ledger, device, counters, evidence } = await gateWith({
      leadership: { currentTerm: () => 5 },
    })
    const issued = await command(proposal(), { leaderTerm: 4 })
    expect(await refusal(gate.executeCommand(issued))).toEqual({
      code: 'STALE_LEADER_TERM',
      dataCode: 'stale-leader-term',
    })
    expect(device).not.toHaveBeenCalled()
    expect(ledger.outcome(issued.body.commandHash)).toBeUndefined()
    expect(counters.get('safety.refused.stale-leader-term')).toBe(1)
    expect(evidence.at(-1)).toMatchObject({ type: 'refusal', data: { code: 'stale-leader-term' } })
  })

  it('refuses a command from an issuer it does not trust, and one the policy denies', async () => {
    const { gate, device } = await gateWith()
    expect(
      await refusal(gate.executeCommand(await command(proposal(), { issuer: await newSigner() }))),
    ).toEqual({
      code: 'POLICY_DENIED',
      dataCode: 'command-untrusted-issuer',
    })
    const unbounded = proposal({ id: 'proposal-2', args: { durationSec: 601 }, level: 'L1' })
    expect((await refusal(gate.executeCommand(await command(unbounded)))).code).toBe('POLICY_DENIED')
    expect(device).not.toHaveBeenCalled()
  })

  it('awaits beforeDeviceWrite after `started` is durable and before the device', async () => {
    const seen: string[] = []
    const setup = await gateWith({
      beforeDeviceWrite: async (proposalId) => {
        seen.push(`${proposalId}:${setup.ledger.outcome(issued.body.commandHash)?.state}`)
        expect(setup.device).not.toHaveBeenCalled()
      },
    })
    const issued = await command()
    await setup.gate.executeCommand(issued)
    expect(seen).toEqual(['proposal-1:executing'])
    expect(setup.device).toHaveBeenCalledTimes(1)
  })

  it('refuses stale-evidence when the cited evidence aged past the manifest limit since approval', async () => {
    const manifest: OperationManifest[] = [
      { ...MANIFEST[0]!, evidence: { zone: 'zone-1', metrics: ['soil-moisture'], maxAgeMs: 60_000 } },
    ]
    const issued = await command()
    // The evidence is dated 2 s before NOW: exactly at its limit at NOW + 58 s, past it 1 ms later.
    const fresh = await gateWith({ facts: factsWith(manifest), now: () => NOW + 58_000 })
    expect((await fresh.gate.executeCommand(issued)).status).toBe('completed')
    const { gate, ledger, device, counters, evidence } = await gateWith({
      facts: factsWith(manifest),
      now: () => NOW + 58_001,
    })
    const stale = await command(proposal({ id: 'p-stale' }))
    expect(await refusal(gate.executeCommand(stale))).toEqual({
      code: 'POLICY_DENIED',
      dataCode: 'stale-evidence',
    })
    expect(device).not.toHaveBeenCalled()
    expect(ledger.outcome(stale.body.commandHash)).toBeUndefined()
    expect(counters.snapshot()['safety.refused.stale-evidence']).toBe(1)
    expect(evidence).toMatchObject([{ type: 'refusal', data: { hop: 'actuator', code: 'stale-evidence' } }])
  })

  it("refuses guard-failed when a declared guard does not hold on the actuator's own reading", async () => {
    const manifest: OperationManifest[] = [
      { ...MANIFEST[0]!, guards: [{ sensor: 'level-pond', op: '>', value: 40 }] },
    ]
    const reading = { value: 40, timestamp: NOW - 1_000 }
    const { gate, ledger, device, evidence } = await gateWith({ facts: factsWith(manifest, () => reading) })
    const issued = await command()
    expect(await refusal(gate.executeCommand(issued))).toEqual({
      code: 'POLICY_DENIED',
      dataCode: 'guard-failed',
    })
    expect(device).not.toHaveBeenCalled()
    expect(ledger.outcome(issued.body.commandHash)).toBeUndefined()
    expect(evidence).toMatchObject([{ type: 'refusal', data: { code: 'guard-failed' } }])
    const holds = await gateWith({ facts: factsWith(manifest, () => ({ ...reading, value: 41 })) })
    expect((await holds.gate.executeCommand(issued)).status).toBe('completed')
  })

  it('while latched by an emergency stop, refuses every command but a move to the safe state', async () => {
    const manifest: OperationManifest[] = [
      ...MANIFEST,
      { operation: 'close', minimumLevel: 'L1', safeState: true },
    ]
    const latches = await EstopLatches.open(stateDir)
    await latches.set([
      { capability: VALVE, latchedAt: NOW, operatorId: 'vera', reason: 'test', orderIssuedAt: NOW },
    ])
    const { gate, device, counters } = await gateWith({ latches, facts: factsWith(manifest) })
    expect(await refusal(gate.executeCommand(await command()))).toEqual({
      code: 'POLICY_DENIED',
      dataCode: 'estop-latched',
    })
    expect(device).not.toHaveBeenCalled()
    expect(counters.get('safety.refused.estop-latched')).toBe(1)
    const close = await command(proposal({ id: 'p-close', operation: 'close', args: {} }))
    expect((await gate.executeCommand(close)).status).toBe('completed')
    expect(device).toHaveBeenCalledWith(VALVE, 'close', {}, 'p-close')
  })
})
