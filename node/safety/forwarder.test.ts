/** The forwarder with fakes (world model, trust behind the site bindings, ledger, evidence log,
 * dispatch) over the demo farm's site model and a real proposal store in a temp dir. */
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest'
import type { Frame } from '../../protocol/context/index.ts'
import { ClawMeshError } from '../../protocol/errors.ts'
import { signApproval } from '../../protocol/safety/index.ts'
import type { Signer } from '../../protocol/signing.ts'
import { Counters } from '../../runtime/counters.ts'
import { testFrame } from '../../test/helpers/frames.ts'
import { NOW, newOperator, newSigner, type Operator } from '../../test/helpers/safety-fixtures.ts'
import { EventRing } from '../mesh/event-ring.ts'
import { SiteBindings } from '../site/site-bindings.ts'
import { DEMO_FARM_PATH, loadSiteFile, type SiteModel } from '../site/site-model.ts'
import { Forwarder, type ForwarderInit } from './forwarder.ts'
import { ProposalStore } from './proposal-store.ts'
import { SafetyFacts } from './safety-facts.ts'

const VALVE = 'actuator:valve:zone-1'

let site: SiteModel
let commandCenter: Signer
let fieldId: string
let alice: Operator
beforeAll(async () => {
  site = await loadSiteFile(DEMO_FARM_PATH)
  commandCenter = await newSigner()
  fieldId = (await newSigner()).id
  alice = await newOperator(commandCenter, ['operator'], 'Alice')
})

let stateDir: string
beforeEach(async () => {
  stateDir = await mkdtemp(join(tmpdir(), 'clawmesh-forwarder-'))
})
afterEach(async () => {
  await rm(stateDir, { recursive: true, force: true })
})

/** A soil-moisture reading of zone-1 sent by `origin` (the field node serves that sensor). */
function soilReading(timestamp: number, origin = fieldId): Frame {
  return testFrame({
    kind: 'observation',
    origin,
    timestamp,
    data: { zone: 'zone-1', metric: 'soil-moisture', sensor: 'soil-zone-1', value: 18, unit: '%' },
  })
}

async function setup(frames: Frame[], overrides: Partial<ForwarderInit> = {}) {
  const world = {
    get: (frameId: string) => frames.find((frame) => frame.frameId === frameId),
    latestFor: () => undefined,
    query: (query: { zone?: string; limit?: number }) =>
      frames
        .filter((frame) => (frame.data as { zone?: string }).zone === query.zone)
        .sort((a, b) => b.timestamp - a.timestamp)
        .slice(0, query.limit),
  }
  const bindings = new SiteBindings({
    site,
    trust: { deviceNamed: (name) => (name === 'field-1' ? fieldId : undefined), version: 0 },
    self: { deviceId: commandCenter.id, name: 'command-center' },
  })
  const isCommandCenter = (id: string) => id === commandCenter.id
  const proposals = await ProposalStore.open({ stateDir, now: () => NOW })
  const evidence: Array<{ type: string; data: unknown }> = []
  const counters = new Counters()
  const dispatch = vi.fn<ForwarderInit['dispatch']>(async () => undefined)
  const forwarder = new Forwarder({
    deviceId: commandCenter.id,
    site,
    bindings,
    world: world as unknown as ForwarderInit['world'],
    providersOf: () => [],
    proposals,
    ledger: { hasExecuted: () => false },
    evidence: {
      append: async (type, data) => {
        evidence.push({ type, data })
        return {} as never
      },
    },
    facts: new SafetyFacts({
      site,
      bindings,
      mesh: { meshName: 'farm', generation: 1 },
      world,
      isTrustedOrigin: () => true,
      isCommandCenter,
      isRevoked: () => false,
      now: () => NOW,
    }),
    isCommandCenter,
    isRevoked: () => false,
    dispatch,
    publish: async (fields) => ({ frameId: 'proposal-frame', ...fields }) as unknown as Frame,
    counters,
    events: new EventRing(16),
    now: () => NOW,
    log: () => {},
    ...overrides,
  })
  return { forwarder, proposals, evidence, counters, dispatch }
}

async function codeOf(promise: Promise<unknown>): Promise<[string, unknown]> {
  const error = await promise.then(
    () => {
      throw new Error('expected a refusal')
    },
    (caught: unknown) => caught,
  )
  expect(error).toBeInstanceOf(ClawMeshError)
  return [(error as ClawMeshError).code, (error as ClawMeshError).data?.['code']]
}

const approvalOf = (hash: string, decision: 'approve' | 'reject' = 'approve') =>
  signApproval(alice.signer, {
    proposalHash: hash,
    decision,
    operatorCertificate: alice.certificate,
    operatorLink: 'local',
    at: NOW,
  })

describe('Forwarder.createProposal', () => {
  it('targets the device the site binds and cites the freshest readings of its zone, tiered from its own bindings', async () => {
    const frames = [
      soilReading(NOW - 3_000),
      soilReading(NOW - 2_000),
      soilReading(NOW - 1_000),
      soilReading(NOW - 500),
    ]
    const { forwarder, dispatch } = await setup(frames)
    const { record } = await forwarder.createProposal(
      { capability: VALVE, operation: 'open', args: { durationSec: 60 } },
      { kind: 'planner' },
    )
    expect(record.proposal.targetNode).toBe(fieldId)
    expect(record.proposal.level).toBe('L2')
    expect(record.proposal.evidence).toEqual(
      [frames[3], frames[2], frames[1]].map((frame) => ({ frameId: frame?.frameId, tier: 'T1' })),
    )
    expect(record.state).toBe('awaiting_approval')
    // L2 needs an operator: nothing is sent yet.
    expect(dispatch).not.toHaveBeenCalled()
  })

  it('refuses a caller-chosen target other than the bound device, counted, before storing anything', async () => {
    const { forwarder, proposals, counters } = await setup([soilReading(NOW - 1_000)])
    const elsewhere = (await newSigner()).id
    expect(
      await codeOf(
        forwarder.createProposal(
          { capability: VALVE, operation: 'open', args: { durationSec: 60 }, targetNode: elsewhere },
          { kind: 'planner' },
        ),
      ),
    ).toEqual(['POLICY_DENIED', 'wrong-target'])
    expect(counters.get('safety.refused.wrong-target')).toBe(1)
    expect(proposals.list()).toEqual([])
  })

  it('refuses as sender a proposal whose only evidence is T0 (a reading from a device the site does not bind)', async () => {
    const impostor = soilReading(NOW - 1_000, (await newSigner()).id)
    const { forwarder, proposals, counters, evidence } = await setup([impostor])
    const [code, denial] = await codeOf(
      forwarder.createProposal(
        { capability: VALVE, operation: 'open', args: { durationSec: 60 }, evidence: [impostor.frameId] },
        { kind: 'planner' },
      ),
    )
    expect(code).toBe('POLICY_DENIED')
    expect(counters.get(`safety.refused.${denial}`)).toBe(1)
    expect(evidence).toEqual([
      { type: 'refusal', data: expect.objectContaining({ hop: 'sender', code: denial }) },
    ])
    expect(proposals.list()).toEqual([])
  })
})

describe('Forwarder.decide', () => {
  it('records an approval that satisfies the policy as approved+executing, then dispatches it exactly once', async () => {
    const { forwarder, dispatch, evidence } = await setup([soilReading(NOW - 1_000)])
    const { record } = await forwarder.createProposal(
      { capability: VALVE, operation: 'open', args: { durationSec: 60 } },
      { kind: 'planner' },
    )
    const decided = await forwarder.decide(record.proposal.id, await approvalOf(record.hash), 'approve', {
      callerId: alice.signer.id,
    })
    expect(decided.verdict).toBe('allow')
    expect(decided.record).toMatchObject({ state: 'executing', observedLinks: expect.any(Object) })
    expect(decided.record.approvals).toHaveLength(1)
    expect(dispatch).toHaveBeenCalledTimes(1)
    expect(dispatch).toHaveBeenCalledWith(record.hash)
    expect(evidence.map((entry) => entry.type)).toEqual(['proposal', 'approval', 'decision'])
  })

  it('records `approved` only, for the dispatcher to hold, when this planner does not lead', async () => {
    const { forwarder, dispatch } = await setup([soilReading(NOW - 1_000)], {
      leadership: { currentTerm: () => 3, issuing: () => ({ leading: false }) },
    })
    const { record } = await forwarder.createProposal(
      { capability: VALVE, operation: 'open', args: { durationSec: 60 } },
      { kind: 'planner' },
    )
    const decided = await forwarder.decide(record.proposal.id, await approvalOf(record.hash), 'approve', {
      callerId: alice.signer.id,
    })
    expect(decided.record.state).toBe('approved')
    expect(dispatch).toHaveBeenCalledTimes(1)
  })

  it('rejects on an operator rejection without dispatching, and refuses a decision that is not the one asked', async () => {
    const { forwarder, dispatch } = await setup([soilReading(NOW - 1_000)])
    const { record } = await forwarder.createProposal(
      { capability: VALVE, operation: 'open', args: { durationSec: 60 } },
      { kind: 'planner' },
    )
    const rejection = await approvalOf(record.hash, 'reject')
    expect(
      await codeOf(forwarder.decide(record.proposal.id, rejection, 'approve', { callerId: alice.signer.id })),
    ).toEqual(['INVALID_PARAMS', undefined])
    const decided = await forwarder.decide(record.proposal.id, rejection, 'reject', {
      callerId: alice.signer.id,
    })
    expect(decided.verdict).toBe('rejected')
    expect(decided.record.state).toBe('rejected')
    // The card shows why by code: an operator's decision, recorded by the forwarder.
    expect(decided.record.refusal).toMatchObject({ code: 'rejected-by-operator', hop: 'forwarder' })
    expect(dispatch).not.toHaveBeenCalled()
  })
})
