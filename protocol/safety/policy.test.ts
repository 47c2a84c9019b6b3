import { beforeAll, describe, expect, it } from 'vitest'
import {
  HOUR,
  makeProposal,
  NOW,
  newOperator,
  newSigner,
  type Operator,
} from '../../test/helpers/safety-fixtures.ts'
import type { Signer } from '../signing.ts'
import { type ApprovalCertificate, type OperatorLink, signApproval, verifyApproval } from './approval.ts'
import {
  decideActuationPolicy,
  evaluateActuationPolicy,
  type OperationManifest,
  POLICY_DENIAL_CODES,
  type PolicyHop,
  type PolicyInput,
  requiredApprovers,
  verifyApprovals,
} from './policy.ts'
import { type Proposal, proposalHash } from './proposal.ts'
import { revokedBy } from './revocation.ts'

const MANIFEST: OperationManifest[] = [
  { operation: 'read', minimumLevel: 'L0' },
  {
    operation: 'open',
    minimumLevel: 'L1',
    bounds: [{ arg: 'durationSec', max: 600, integer: true }],
    integerArgs: ['durationSec'],
    plannerMayAutoRun: true,
  },
  { operation: 'flush', minimumLevel: 'L1' },
  { operation: 'drain', minimumLevel: 'L3' },
]

let commandCenter: Signer
let actuator: Signer
let planner: Signer
let alice: Operator
let bob: Operator
let viewer: Operator
let aiOperator: Operator
let rogueIssuerOperator: Operator

beforeAll(async () => {
  commandCenter = await newSigner()
  actuator = await newSigner()
  planner = await newSigner()
  alice = await newOperator(commandCenter, ['operator'], 'Alice')
  bob = await newOperator(commandCenter, ['admin'], 'Bob')
  viewer = await newOperator(commandCenter, ['viewer'], 'Vic')
  aiOperator = await newOperator(commandCenter, ['ai-operator'], 'Claude')
  rogueIssuerOperator = await newOperator(await newSigner(), ['admin'], 'Mallory')
})

function proposal(overrides: Partial<Proposal> = {}): Proposal {
  return makeProposal({ targetNode: actuator.id, authorId: planner.id, ...overrides })
}

function approve(
  operator: Operator,
  target: Proposal,
  link: OperatorLink = 'lan',
  decision: 'approve' | 'reject' = 'approve',
): Promise<ApprovalCertificate> {
  return signApproval(operator.signer, {
    proposalHash: proposalHash(target),
    decision,
    operatorCertificate: operator.certificate,
    operatorLink: link,
    at: NOW,
  })
}

/** The facts a hop would hold: the cited frames as measured observations with the tier the
 * proposal records, the author a planner this hop obeys, and every approval observed over the link
 * it claims. Tests override one fact at a time. */
function input(target: Proposal, approvals: unknown[], overrides: Partial<PolicyInput> = {}): PolicyInput {
  return {
    proposal: target,
    approvals,
    manifest: MANIFEST,
    trustedIssuers: new Set([commandCenter.id]),
    isRevoked: () => false,
    now: NOW,
    executedBefore: false,
    commandHash: proposalHash(target),
    hop: 'actuator',
    evidence: target.evidence.map((ref) => ({
      frameId: ref.frameId,
      tier: ref.tier,
      kind: 'observation' as const,
      zone: 'zone-1',
      metric: 'soil-moisture',
      timestamp: target.createdAt - 1_000,
      basis: 'test',
    })),
    author: { kind: 'planner', eligible: true },
    observedLinks: Object.fromEntries(
      approvals
        .filter(
          (approval): approval is ApprovalCertificate =>
            typeof approval === 'object' && approval !== null && 'body' in approval,
        )
        .map((approval) => [approval.body.nonce, approval.body.operatorLink]),
    ),
    ...overrides,
  }
}

describe('actuation policy: levels', () => {
  it('L0 read-only runs without approval, even on T0 evidence', async () => {
    const p = proposal({ level: 'L0', operation: 'read', args: {}, evidence: [] })
    expect(await evaluateActuationPolicy(input(p, []))).toEqual({
      verdict: 'allow',
      level: 'L0',
      approvers: [],
    })
  })

  it('refuses to run an actuation labelled L0 when the manifest requires more', async () => {
    const p = proposal({ level: 'L0', operation: 'open' })
    expect(await evaluateActuationPolicy(input(p, []))).toMatchObject({
      verdict: 'deny',
      code: 'level-below-manifest',
    })
  })

  it('refuses an operation the manifest does not declare', async () => {
    const p = proposal({ operation: 'explode' })
    expect(await evaluateActuationPolicy(input(p, []))).toMatchObject({
      verdict: 'deny',
      code: 'unknown-operation',
    })
  })

  it('L1 auto-executes within manifest bounds on measured evidence', async () => {
    const p = proposal({ level: 'L1', args: { durationSec: 600 } })
    expect(await evaluateActuationPolicy(input(p, []))).toEqual({
      verdict: 'allow',
      level: 'L1',
      approvers: [],
    })
  })

  it('L1 is refused when the manifest declares no bounds for the operation', async () => {
    const p = proposal({ level: 'L1', operation: 'flush', args: {} })
    expect(await evaluateActuationPolicy(input(p, []))).toMatchObject({
      verdict: 'deny',
      code: 'unbounded-l1',
    })
  })

  it.each([
    ['above max', { durationSec: 601 }],
    ['negative', { durationSec: -1 }],
    ['missing', {}],
    ['not a number', { durationSec: '60' }],
    ['an undeclared extra argument', { durationSec: 60, pressureBar: 99 }],
  ])('L1 is refused with an argument %s', async (_name, args) => {
    const p = proposal({ level: 'L1', args })
    expect(await evaluateActuationPolicy(input(p, []))).toMatchObject({
      verdict: 'deny',
      code: 'out-of-bounds',
    })
  })

  it.each(['L1', 'L2', 'L3'] as const)('%s is refused on T0-only evidence', async (level) => {
    const p = proposal({
      level,
      operation: level === 'L3' ? 'drain' : 'open',
      evidence: [{ frameId: 'f', tier: 'T0' }],
    })
    const approvals = [await approve(alice, p), await approve(bob, p)]
    expect(await evaluateActuationPolicy(input(p, approvals))).toMatchObject({
      verdict: 'deny',
      code: 'llm-only-evidence',
    })
  })

  it('empty evidence counts as T0-only', async () => {
    const p = proposal({ level: 'L2', evidence: [] })
    expect(await evaluateActuationPolicy(input(p, [await approve(alice, p)]))).toMatchObject({
      verdict: 'deny',
      code: 'llm-only-evidence',
    })
  })

  it('T0 plus one T1 item is not T0-only', async () => {
    const p = proposal({
      evidence: [
        { frameId: 'a', tier: 'T0' },
        { frameId: 'b', tier: 'T1' },
      ],
    })
    expect((await evaluateActuationPolicy(input(p, [await approve(alice, p)]))).verdict).toBe('allow')
  })

  it('L2 is allowed with one operator approval and names the approver', async () => {
    const p = proposal()
    expect(await evaluateActuationPolicy(input(p, [await approve(alice, p, 'wan')]))).toEqual({
      verdict: 'allow',
      level: 'L2',
      approvers: [alice.signer.id],
    })
  })

  it.each<[PolicyHop, string]>([
    ['sender', 'pending'],
    ['forwarder', 'pending'],
    ['actuator', 'deny'],
  ])('L2 without approvals at the %s is %s', async (hop, verdict) => {
    const result = await evaluateActuationPolicy(input(proposal(), [], { hop }))
    expect(result.verdict).toBe(verdict)
    if (result.verdict === 'pending') expect(result.needed).toBe(1)
    if (result.verdict === 'deny') expect(result.code).toBe('missing-approval')
  })

  it('requiredApprovers: none for L0 and L1, one for L2, two distinct operators for L3', () => {
    expect([
      requiredApprovers('L0'),
      requiredApprovers('L1'),
      requiredApprovers('L2'),
      requiredApprovers('L3'),
    ]).toEqual([0, 0, 1, 2])
  })

  it.each(['L2', 'L3'] as const)(
    'a %s proposal with no approvals waits for requiredApprovers of them',
    async (level) => {
      const p = proposal({ level, operation: level === 'L3' ? 'drain' : 'open' })
      expect(await evaluateActuationPolicy(input(p, [], { hop: 'sender' }))).toMatchObject({
        verdict: 'pending',
        needed: requiredApprovers(level),
      })
    },
  )

  it('L3 is allowed with two distinct operators, one on LAN', async () => {
    const p = proposal({ level: 'L3', operation: 'drain' })
    const result = await evaluateActuationPolicy(
      input(p, [await approve(alice, p, 'lan'), await approve(bob, p, 'wan')]),
    )
    expect(result).toMatchObject({ verdict: 'allow', level: 'L3' })
    if (result.verdict === 'allow')
      expect([...result.approvers].sort()).toEqual([alice.signer.id, bob.signer.id].sort())
  })

  it('L3 with one approval is pending at the sender and insufficient at the actuator', async () => {
    const p = proposal({ level: 'L3', operation: 'drain' })
    const approvals = [await approve(alice, p, 'local')]
    expect(await evaluateActuationPolicy(input(p, approvals, { hop: 'sender' }))).toMatchObject({
      verdict: 'pending',
      needed: 1,
    })
    expect(await evaluateActuationPolicy(input(p, approvals))).toMatchObject({
      verdict: 'deny',
      code: 'insufficient-approvals',
    })
  })

  it('L3 approved twice by the same operator is refused', async () => {
    const p = proposal({ level: 'L3', operation: 'drain' })
    const approvals = [await approve(alice, p, 'lan'), await approve(alice, p, 'local')]
    expect(await evaluateActuationPolicy(input(p, approvals))).toMatchObject({
      verdict: 'deny',
      code: 'duplicate-approver',
    })
  })

  it('L3 with no approver on a local or LAN link is refused at the actuator, pending before it', async () => {
    const p = proposal({ level: 'L3', operation: 'drain' })
    const approvals = [await approve(alice, p, 'wan'), await approve(bob, p, 'relay')]
    expect(await evaluateActuationPolicy(input(p, approvals))).toMatchObject({
      verdict: 'deny',
      code: 'no-local-approver',
    })
    expect(await evaluateActuationPolicy(input(p, approvals, { hop: 'forwarder' }))).toMatchObject({
      verdict: 'pending',
      needed: 1,
    })
  })

  it('mdns does not count as a local link for L3', async () => {
    const p = proposal({ level: 'L3', operation: 'drain' })
    const approvals = [await approve(alice, p, 'mdns'), await approve(bob, p, 'vpn')]
    expect(await evaluateActuationPolicy(input(p, approvals))).toMatchObject({ code: 'no-local-approver' })
  })
})

describe('actuation policy: who may approve', () => {
  it('a viewer cannot approve', async () => {
    const p = proposal()
    expect(await evaluateActuationPolicy(input(p, [await approve(viewer, p)]))).toMatchObject({
      verdict: 'deny',
      code: 'viewer-cannot-approve',
    })
  })

  it('an ai-operator certificate cannot approve, nor reject, at any hop', async () => {
    const p = proposal()
    for (const hop of ['sender', 'forwarder', 'actuator'] as const) {
      for (const decision of ['approve', 'reject'] as const) {
        const approvals = [await approve(aiOperator, p, 'lan', decision)]
        expect(await evaluateActuationPolicy(input(p, approvals, { hop }))).toMatchObject({
          verdict: 'deny',
          code: 'ai-operator-cannot-approve',
        })
      }
    }
    // Alongside a person's valid approval, the AI's is still refused: not trimmed, not counted.
    const withPerson = [await approve(alice, p), await approve(aiOperator, p)]
    expect(await evaluateActuationPolicy(input(p, withPerson))).toMatchObject({
      code: 'ai-operator-cannot-approve',
    })
  })

  it('an ai-operator author never reaches L1 auto-execution, even where the planner may', async () => {
    const p = proposal({
      level: 'L1',
      operation: 'open',
      args: { durationSec: 60 },
      author: { kind: 'operator', id: aiOperator.signer.id },
    })
    expect(
      await evaluateActuationPolicy(input(p, [], { author: { kind: 'operator', roles: ['ai-operator'] } })),
    ).toMatchObject({ verdict: 'deny', code: 'l1-author-not-permitted' })
  })

  it("the proposal's author cannot approve it", async () => {
    const p = proposal({ author: { kind: 'operator', id: alice.signer.id } })
    expect(await evaluateActuationPolicy(input(p, [await approve(alice, p)]))).toMatchObject({
      verdict: 'deny',
      code: 'self-approval',
    })
  })

  it('an author cannot reach L3 by approving alongside another operator', async () => {
    const p = proposal({ level: 'L3', operation: 'drain', author: { kind: 'operator', id: alice.signer.id } })
    const approvals = [await approve(bob, p), await approve(alice, p)]
    expect(await evaluateActuationPolicy(input(p, approvals))).toMatchObject({ code: 'self-approval' })
  })

  it('a forged approval (decision flipped after signing) is refused', async () => {
    const p = proposal()
    const signed = await approve(alice, p, 'lan', 'reject')
    const forged = { ...signed, body: { ...signed.body, decision: 'approve' } }
    expect(await evaluateActuationPolicy(input(p, [forged]))).toMatchObject({
      verdict: 'deny',
      code: 'bad-approval-signature',
    })
  })

  it('a forged approval (link upgraded to lan after signing) is refused', async () => {
    const p = proposal({ level: 'L3', operation: 'drain' })
    const signed = await approve(alice, p, 'wan')
    const upgraded = { ...signed, body: { ...signed.body, operatorLink: 'lan' } }
    expect(await evaluateActuationPolicy(input(p, [upgraded, await approve(bob, p, 'wan')]))).toMatchObject({
      code: 'bad-approval-signature',
    })
  })

  it('an approval signed by another key than the certified operator is refused', async () => {
    const p = proposal()
    const impostor = await newSigner()
    const signed = await approve({ signer: impostor, certificate: alice.certificate }, p).catch(
      () => undefined,
    )
    expect(signed).toBeUndefined()
    const real = await approve(bob, p)
    const wrongCert = { ...real, body: { ...real.body, operatorCertificate: alice.certificate } }
    expect(await evaluateActuationPolicy(input(p, [wrongCert]))).toMatchObject({
      code: 'bad-approval-signature',
    })
  })

  it('an approval whose certificate comes from an untrusted issuer is refused', async () => {
    const p = proposal()
    expect(await evaluateActuationPolicy(input(p, [await approve(rogueIssuerOperator, p)]))).toMatchObject({
      verdict: 'deny',
      code: 'untrusted-certificate-issuer',
    })
  })

  it('an approval whose certificate has expired is refused', async () => {
    const p = proposal({ expiresAt: NOW + 2 * HOUR })
    const approvals = [await approve(alice, p)]
    expect(await evaluateActuationPolicy(input(p, approvals, { now: NOW + HOUR + 1 }))).toMatchObject({
      verdict: 'deny',
      code: 'certificate-expired',
    })
  })

  it('a valid rejection rejects, even next to enough approvals', async () => {
    const p = proposal()
    const approvals = [await approve(bob, p), await approve(alice, p, 'lan', 'reject')]
    expect(await evaluateActuationPolicy(input(p, approvals))).toMatchObject({
      verdict: 'deny',
      code: 'rejected-by-operator',
    })
  })

  it('a malformed approval is refused', async () => {
    const p = proposal()
    expect(await evaluateActuationPolicy(input(p, [{ body: {}, signature: 'x' }]))).toMatchObject({
      code: 'malformed-approval',
    })
  })
})

describe('actuation policy: binding, replay, expiry, leadership', () => {
  it('an approval for another proposal is refused', async () => {
    const p = proposal()
    const other = proposal({ id: 'proposal-2' })
    expect(await evaluateActuationPolicy(input(p, [await approve(alice, other)]))).toMatchObject({
      verdict: 'deny',
      code: 'hash-mismatch',
    })
  })

  it('changing the args after approval breaks the binding', async () => {
    const approved = proposal({ args: { durationSec: 60 } })
    const approvals = [await approve(alice, approved)]
    const changed = { ...approved, args: { durationSec: 3600 } }
    // Command still claims the approved hash: the proposal no longer matches it.
    expect(
      await evaluateActuationPolicy(input(changed, approvals, { commandHash: proposalHash(approved) })),
    ).toMatchObject({ verdict: 'deny', code: 'hash-mismatch' })
    // Command recomputed for the changed proposal: the approvals no longer match it.
    expect(await evaluateActuationPolicy(input(changed, approvals))).toMatchObject({
      verdict: 'deny',
      code: 'hash-mismatch',
    })
  })

  it('a command whose hash differs from the proposal hash is refused', async () => {
    const p = proposal()
    expect(
      await evaluateActuationPolicy(input(p, [await approve(alice, p)], { commandHash: 'a'.repeat(64) })),
    ).toMatchObject({ verdict: 'deny', code: 'hash-mismatch' })
  })

  it('a proposal already executed is refused (replay)', async () => {
    const p = proposal()
    expect(
      await evaluateActuationPolicy(input(p, [await approve(alice, p)], { executedBefore: true })),
    ).toMatchObject({ verdict: 'deny', code: 'replay' })
  })

  it('an expired proposal is refused', async () => {
    const p = proposal({ expiresAt: NOW })
    expect(await evaluateActuationPolicy(input(p, [await approve(alice, p)]))).toMatchObject({
      verdict: 'deny',
      code: 'proposal-expired',
    })
  })

  it('a planner proposal from an older leader term is refused', async () => {
    const p = proposal({ leaderTerm: 4 })
    const approvals = [await approve(alice, p)]
    expect(await evaluateActuationPolicy(input(p, approvals, { currentLeaderTerm: 5 }))).toMatchObject({
      verdict: 'deny',
      code: 'stale-leader-term',
    })
    expect((await evaluateActuationPolicy(input(p, approvals, { currentLeaderTerm: 4 }))).verdict).toBe(
      'allow',
    )
  })

  it('a planner proposal without a term is refused once the current term is known', async () => {
    const p = proposal()
    expect(
      await evaluateActuationPolicy(input(p, [await approve(alice, p)], { currentLeaderTerm: 1 })),
    ).toMatchObject({ code: 'stale-leader-term' })
  })

  it('operator-authored proposals are not subject to leader terms', async () => {
    const p = proposal({ author: { kind: 'operator', id: bob.signer.id } })
    expect(
      (await evaluateActuationPolicy(input(p, [await approve(alice, p)], { currentLeaderTerm: 9 }))).verdict,
    ).toBe('allow')
  })

  it('a malformed proposal is refused', async () => {
    expect(
      await evaluateActuationPolicy(input(proposal(), [], { proposal: { ...proposal(), level: 'L9' } })),
    ).toMatchObject({ code: 'malformed-proposal' })
  })

  it('too many approvals are refused before any is verified', async () => {
    const p = proposal()
    const many = Array.from({ length: 9 }, () => ({}))
    expect(await evaluateActuationPolicy(input(p, many))).toMatchObject({ code: 'too-many-approvals' })
  })
})

describe('actuation policy: revoked operators', () => {
  it('refuses an approval whose certificate predates a revocation the node holds', async () => {
    const p = proposal()
    const issuedAt = alice.certificate.body.issuedAt
    const revokedAlice = revokedBy([
      {
        version: 1,
        operatorId: alice.signer.id,
        issuerId: commandCenter.id,
        revokedAt: issuedAt,
        reason: 'left',
      },
    ])
    for (const hop of ['forwarder', 'actuator'] as const) {
      expect(
        await evaluateActuationPolicy(input(p, [await approve(alice, p)], { hop, isRevoked: revokedAlice })),
      ).toMatchObject({ verdict: 'deny', code: 'operator-revoked' })
    }
    // Another operator's approval is untouched by alice's revocation.
    expect(
      (await evaluateActuationPolicy(input(p, [await approve(bob, p)], { isRevoked: revokedAlice }))).verdict,
    ).toBe('allow')
  })

  it('allows a certificate issued after the revocation (re-enrolment)', async () => {
    const p = proposal()
    const revokedBefore = revokedBy([
      {
        version: 1,
        operatorId: alice.signer.id,
        issuerId: commandCenter.id,
        revokedAt: alice.certificate.body.issuedAt - 1,
        reason: 'tablet lost',
      },
    ])
    expect(
      (await evaluateActuationPolicy(input(p, [await approve(alice, p)], { isRevoked: revokedBefore })))
        .verdict,
    ).toBe('allow')
  })
})

describe('actuation policy: split form', () => {
  it('decideActuationPolicy decides from verified facts without re-verifying', async () => {
    const p = proposal()
    const approval = await approve(alice, p)
    const facts = await verifyApprovals([approval], {
      trustedIssuers: new Set([commandCenter.id]),
      isRevoked: () => false,
      now: NOW,
    })
    const { approvals: _raw, trustedIssuers: _issuers, ...context } = input(p, [approval])
    expect(decideActuationPolicy({ ...context, approvals: facts })).toMatchObject({
      verdict: 'allow',
      level: 'L2',
    })
  })

  it('the sync table refuses a rejected verification fact', async () => {
    const p = proposal()
    const fact = await verifyApproval(await approve(alice, p), {
      trustedIssuers: new Set(),
      isRevoked: () => false,
      now: NOW,
    })
    const { approvals: _raw, trustedIssuers: _issuers, ...context } = input(p, [])
    expect(decideActuationPolicy({ ...context, approvals: [fact] })).toMatchObject({
      code: 'untrusted-certificate-issuer',
    })
  })

  it('every denial code has a sentence', () => {
    for (const sentence of Object.values(POLICY_DENIAL_CODES)) expect(sentence).toMatch(/^[A-Z].+\.$/)
  })
})

describe('actuation policy: the receiver decides (issue 14)', () => {
  const ZONED: OperationManifest[] = [
    {
      operation: 'open-short',
      minimumLevel: 'L1',
      bounds: [{ arg: 'durationSec', max: 120, integer: true }],
      integerArgs: ['durationSec'],
      evidence: { zone: 'zone-1', metrics: ['soil-moisture'], maxAgeMs: 15 * 60_000 },
    },
    { operation: 'close', minimumLevel: 'L1', safeState: true },
  ]
  const operatorAuthor = { kind: 'operator', roles: ['operator'] } as const

  it('L1 on a capability_update (assessed T0 whatever it claims) is llm-only-evidence', async () => {
    const p = proposal({ level: 'L1', operation: 'open-short', args: { durationSec: 60 } })
    const verdict = await evaluateActuationPolicy(
      input(p, [], {
        manifest: ZONED,
        author: operatorAuthor,
        evidence: [{ frameId: 'f', tier: 'T0', kind: 'capability_update', basis: 'not evidence' }],
      }),
    )
    expect(verdict).toMatchObject({ verdict: 'deny', code: 'llm-only-evidence' })
  })

  it.each([
    ['another zone', { zone: 'zone-2' }],
    ['another metric', { metric: 'temperature' }],
    ['too old', { timestamp: NOW - 16 * 60_000 }],
  ])('measured evidence from %s is irrelevant-evidence', async (_name, change) => {
    const p = proposal({ level: 'L1', operation: 'open-short', args: { durationSec: 60 }, createdAt: NOW })
    const fact = {
      frameId: 'f',
      tier: 'T1' as const,
      kind: 'observation' as const,
      zone: 'zone-1',
      metric: 'soil-moisture',
      timestamp: NOW - 1_000,
      basis: 'measured',
      ...change,
    }
    const verdict = await evaluateActuationPolicy(
      input(p, [], { manifest: ZONED, author: operatorAuthor, evidence: [fact] }),
    )
    expect(verdict).toMatchObject({ verdict: 'deny', code: 'irrelevant-evidence' })
  })

  it.each([
    ['a device', { kind: 'device' } as const],
    ['a viewer', { kind: 'operator', roles: ['viewer'] } as const],
    ['the planner without plannerMayAutoRun', { kind: 'planner', eligible: true } as const],
    ['an unverified operator', { kind: 'unverified', detail: 'no certificate' } as const],
  ])('L1 authored by %s is l1-author-not-permitted', async (_name, author) => {
    const p = proposal({ level: 'L1', operation: 'open-short', args: { durationSec: 60 } })
    const verdict = await evaluateActuationPolicy(input(p, [], { manifest: ZONED, author }))
    expect(verdict).toMatchObject({ verdict: 'deny', code: 'l1-author-not-permitted' })
  })

  it('L1 by a certified operator inside bounds on relevant evidence is allowed', async () => {
    const p = proposal({ level: 'L1', operation: 'open-short', args: { durationSec: 60 } })
    const verdict = await evaluateActuationPolicy(input(p, [], { manifest: ZONED, author: operatorAuthor }))
    expect(verdict).toMatchObject({ verdict: 'allow', level: 'L1' })
  })

  it('a fractional value for an integer argument is out-of-bounds', async () => {
    const p = proposal({ level: 'L1', operation: 'open-short', args: { durationSec: 59.5 } })
    const verdict = await evaluateActuationPolicy(input(p, [], { manifest: ZONED, author: operatorAuthor }))
    expect(verdict).toMatchObject({ verdict: 'deny', code: 'out-of-bounds' })
  })

  it('moving to the safe state runs at once for a certified operator, without evidence', async () => {
    const p = proposal({ level: 'L1', operation: 'close', args: {}, evidence: [] })
    const verdict = await evaluateActuationPolicy(
      input(p, [], { manifest: ZONED, author: operatorAuthor, evidence: [] }),
    )
    expect(verdict).toMatchObject({ verdict: 'allow', level: 'L1' })
    const byDevice = await evaluateActuationPolicy(
      input(p, [], { manifest: ZONED, author: { kind: 'device' }, evidence: [] }),
    )
    expect(byDevice).toMatchObject({ verdict: 'deny', code: 'llm-only-evidence' })
  })

  it('an approval claiming a more local link than observed is link-claim-mismatch', async () => {
    const p = proposal({ level: 'L2' })
    const approval = await approve(alice, p, 'lan')
    const verdict = await evaluateActuationPolicy(
      input(p, [approval], { observedLinks: { [approval.body.nonce]: 'relay' } }),
    )
    expect(verdict).toMatchObject({ verdict: 'deny', code: 'link-claim-mismatch' })
  })

  it('L3 needs one approver OBSERVED on site: claims of wan observed as wan do not count', async () => {
    const p = proposal({ level: 'L3', operation: 'drain' })
    const approvals = [await approve(alice, p, 'wan'), await approve(bob, p, 'wan')]
    expect(await evaluateActuationPolicy(input(p, approvals))).toMatchObject({ code: 'no-local-approver' })
    // Observed local, claimed wan (a modest claim): the observation counts.
    const observed = {
      [approvals[0]?.body.nonce ?? '']: 'lan' as const,
      [approvals[1]?.body.nonce ?? '']: 'wan' as const,
    }
    expect(await evaluateActuationPolicy(input(p, approvals, { observedLinks: observed }))).toMatchObject({
      verdict: 'allow',
    })
  })

  it('an approval under a Telegram-held key is never the on-site approver of an L3, whatever was observed', async () => {
    const carol = await newOperator(commandCenter, ['operator'], 'Carol', 'telegram')
    const p = proposal({ level: 'L3', operation: 'drain' })
    const approvals = [await approve(carol, p, 'wan'), await approve(bob, p, 'wan')]
    // Even a command center that (wrongly) observed the Telegram tap as local cannot make it count.
    const observed = {
      [approvals[0]?.body.nonce ?? '']: 'local' as const,
      [approvals[1]?.body.nonce ?? '']: 'wan' as const,
    }
    expect(await evaluateActuationPolicy(input(p, approvals, { observedLinks: observed }))).toMatchObject({
      code: 'no-local-approver',
    })
    // A channel key claiming to be local is a claim more local than it can be.
    const claimsLocal = await approve(carol, p, 'local')
    expect(
      await evaluateActuationPolicy(
        input(p, [claimsLocal], { observedLinks: { [claimsLocal.body.nonce]: 'local' } }),
      ),
    ).toMatchObject({ code: 'link-claim-mismatch' })
    // It still counts as a (remote) second approver next to one on site.
    const withOnSite = [await approve(carol, p, 'wan'), await approve(bob, p, 'lan')]
    expect(await evaluateActuationPolicy(input(p, withOnSite))).toMatchObject({ verdict: 'allow' })
  })
})
