import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { newSigner } from '../test/helpers/safety-fixtures.ts'
import {
  claimOf,
  compareCandidates,
  compareClaims,
  type ElectionCandidate,
  electLeader,
  isEligibleLeader,
  isTermWithinStep,
  LEADER_TERM_MAX,
  LEADER_TERM_MAX_STEP,
  type LeaderClaim,
  type LeaderEligibilityRecords,
  nextTerm,
  signLeaderAnnouncement,
  verifyLeaderAnnouncement,
} from './planner-election.ts'
import { COMMAND_CENTER_ROLES, type NodeRole } from './roles.ts'
import { checkCommandTerm } from './safety/command.ts'

const deviceIdArb = fc.stringMatching(/^12D3KooW[A-Za-z0-9]{4}$/)
const candidateArb: fc.Arbitrary<ElectionCandidate> = fc.record({
  deviceId: deviceIdArb,
  role: fc.constantFrom(...COMMAND_CENTER_ROLES),
})
const claimArb: fc.Arbitrary<LeaderClaim> = fc.record({
  term: fc.integer({ min: 1, max: 20 }),
  leader: deviceIdArb,
  role: fc.constantFrom(...COMMAND_CENTER_ROLES),
})

/** What a node holds after hearing `claims` in this order: the highest by `compareClaims`. */
function fold(claims: readonly LeaderClaim[]): { held: LeaderClaim | undefined; terms: number[] } {
  let held: LeaderClaim | undefined
  const terms: number[] = []
  for (const claim of claims) {
    if (held === undefined || compareClaims(claim, held) > 0) held = claim
    terms.push(held.term)
  }
  return { held, terms }
}

describe('planner election rules', () => {
  it('a planner outranks a standby; the lowest device ID breaks ties', () => {
    const standby = { deviceId: '12D3KooWAAAA', role: 'standby-planner' } as const
    const plannerB = { deviceId: '12D3KooWBBBB', role: 'planner' } as const
    const plannerC = { deviceId: '12D3KooWCCCC', role: 'planner' } as const
    expect(electLeader([standby, plannerC, plannerB])).toEqual(plannerB)
    expect(electLeader([standby, plannerC])).toEqual(plannerC)
    expect(electLeader([standby])).toEqual(standby)
    expect(electLeader([])).toBeUndefined()
    expect(electLeader([{ deviceId: '12D3KooWAAAA', role: 'field' as never }])).toBeUndefined()
  })

  it('every node with the same view elects the same leader, whatever order it lists the view in', () => {
    fc.assert(
      fc.property(fc.array(candidateArb, { maxLength: 12 }), fc.integer(), (view, seed) => {
        const shuffled = fc.sample(fc.shuffledSubarray(view, { minLength: view.length }), {
          seed,
          numRuns: 1,
        })[0] as ElectionCandidate[]
        const withDuplicates = [...shuffled, ...view.slice(0, 3)]
        const leader = electLeader(view)
        expect(electLeader(shuffled)).toEqual(leader)
        expect(electLeader(withDuplicates)).toEqual(leader)
        if (leader !== undefined) {
          for (const other of view) expect(compareCandidates(leader, other)).toBeLessThanOrEqual(0)
          if (view.some((candidate) => candidate.role === 'planner')) expect(leader.role).toBe('planner')
        }
      }),
    )
  })

  it('terms a node holds never decrease, and every arrival order converges on the same claim', () => {
    fc.assert(
      fc.property(fc.array(claimArb, { minLength: 1, maxLength: 15 }), fc.integer(), (claims, seed) => {
        const { held, terms } = fold(claims)
        for (let index = 1; index < terms.length; index++) {
          expect(terms[index]).toBeGreaterThanOrEqual(terms[index - 1] as number)
        }
        const reordered = fc.sample(fc.shuffledSubarray(claims, { minLength: claims.length }), {
          seed,
          numRuns: 1,
        })[0] as LeaderClaim[]
        const other = fold(reordered).held as LeaderClaim
        expect(compareClaims(other, held as LeaderClaim)).toBe(0)
        expect(held?.term).toBe(Math.max(...claims.map((claim) => claim.term)))
      }),
    )
  })

  it('a new leader always claims above every term it has seen', () => {
    fc.assert(
      fc.property(fc.array(claimArb, { minLength: 1, maxLength: 10 }), (claims) => {
        const highest = fold(claims).held as LeaderClaim
        expect(nextTerm(highest.term)).toBeGreaterThan(Math.max(...claims.map((claim) => claim.term)))
      }),
    )
    expect(nextTerm(undefined)).toBe(1)
  })

  it('split brain: of two claims of the same term, the better-ranked claimant wins on every node', () => {
    const low = { term: 4, leader: '12D3KooWAAAA', role: 'planner' as NodeRole }
    const high = { term: 4, leader: '12D3KooWBBBB', role: 'planner' as NodeRole }
    const standby = { term: 4, leader: '12D3KooW0000', role: 'standby-planner' as NodeRole }
    expect(compareClaims(low, high)).toBeGreaterThan(0)
    expect(compareClaims(high, low)).toBeLessThan(0)
    expect(compareClaims(low, standby)).toBeGreaterThan(0)
    expect(compareClaims({ ...standby, term: 5 }, low)).toBeGreaterThan(0)
    fc.assert(
      fc.property(claimArb, claimArb, (a, b) => {
        // A sum, not toBe(-x): toBe tells +0 from -0, so equal claims failed this at random.
        expect(Math.sign(compareClaims(a, b)) + Math.sign(compareClaims(b, a))).toBe(0)
      }),
    )
  })
})

describe('leader announcements', () => {
  const mesh = { meshName: 'farm', generation: 1 }
  const options = (overrides: Partial<Parameters<typeof verifyLeaderAnnouncement>[1]> = {}) => ({
    ...mesh,
    isTrustedOrigin: () => true,
    isEligibleOrigin: () => true,
    roleOf: () => undefined,
    heldTerm: 2,
    ...overrides,
  })

  it('a signed claim of a trusted planner is accepted', async () => {
    const leader = await newSigner()
    const announcement = await signLeaderAnnouncement(leader, {
      ...mesh,
      role: 'planner',
      term: 3,
      issuedAt: 1,
    })
    const verdict = await verifyLeaderAnnouncement(JSON.parse(JSON.stringify(announcement)), options())
    expect(verdict.verdict).toBe('accept')
    expect(claimOf(announcement)).toEqual({ term: 3, leader: leader.id, role: 'planner' })
  })

  it('refuses a tampered term, another mesh, an untrusted or non-planner origin', async () => {
    const leader = await newSigner()
    const announcement = await signLeaderAnnouncement(leader, {
      ...mesh,
      role: 'planner',
      term: 3,
      issuedAt: 1,
    })
    const reasonOf = async (candidate: unknown, overrides = {}) => {
      const verdict = await verifyLeaderAnnouncement(candidate, options(overrides))
      return verdict.verdict === 'reject' ? verdict.reason : 'accepted'
    }
    expect(await reasonOf({ ...announcement, body: { ...announcement.body, term: 9 } })).toBe('bad-signature')
    expect(await reasonOf({ ...announcement, body: { ...announcement.body, extra: 1 } })).toBe('malformed')
    expect(await reasonOf(announcement, { meshName: 'other' })).toBe('wrong-mesh')
    expect(await reasonOf(announcement, { isTrustedOrigin: () => false })).toBe('untrusted-origin')
    expect(await reasonOf(announcement, { isEligibleOrigin: () => false })).toBe('ineligible-origin')
    expect(await reasonOf(announcement, { heldTerm: 1 })).toBe('term-beyond-bound')
    expect(await reasonOf(announcement, { roleOf: () => 'field' })).toBe('non-planner-origin')
    const field = await signLeaderAnnouncement(leader, { ...mesh, role: 'field', term: 3, issuedAt: 1 })
    expect(await reasonOf(field)).toBe('non-planner-origin')
    // Someone else's key cannot claim for the leader.
    const impostor = await newSigner()
    const forged = await signLeaderAnnouncement(impostor, { ...mesh, role: 'planner', term: 7, issuedAt: 1 })
    expect(await reasonOf({ ...forged, body: { ...forged.body, leader: leader.id } })).toBe('bad-signature')
  })
})

describe('who may lead a receiver, and how far a term may step (issue 14)', () => {
  const records = (overrides: Partial<LeaderEligibilityRecords> = {}): LeaderEligibilityRecords => ({
    selfId: '12D3KooWSELF',
    selfRole: 'field',
    commandCenters: ['12D3KooWCCCC'],
    trustKindOf: () => 'device',
    ...overrides,
  })

  it('a command center the receiver obeys is eligible; a trusted device that is not one is not', () => {
    expect(isEligibleLeader('12D3KooWCCCC', records())).toBe(true)
    expect(isEligibleLeader('12D3KooWFIELD', records())).toBe(false)
  })

  it('an operator key is never eligible, even when listed as a command center', () => {
    expect(isEligibleLeader('12D3KooWCCCC', records({ trustKindOf: () => 'operator' }))).toBe(false)
  })

  it('the receiver itself is eligible only when it runs as planner or standby-planner', () => {
    for (const role of COMMAND_CENTER_ROLES) {
      expect(isEligibleLeader('12D3KooWSELF', records({ selfRole: role }))).toBe(true)
    }
    for (const role of ['node', 'field', 'sensor', 'actuator', 'viewer'] as const) {
      expect(isEligibleLeader('12D3KooWSELF', records({ selfRole: role }))).toBe(false)
    }
  })

  it('a term may be at most LEADER_TERM_MAX_STEP above the held term; none held counts as 0', () => {
    expect(LEADER_TERM_MAX_STEP).toBe(1)
    expect(isTermWithinStep(1, undefined)).toBe(true)
    expect(isTermWithinStep(2, undefined)).toBe(false)
    expect(isTermWithinStep(8, 7)).toBe(true)
    expect(isTermWithinStep(9, 7)).toBe(false)
    expect(isTermWithinStep(12, 7)).toBe(false)
    expect(isTermWithinStep(LEADER_TERM_MAX, 7)).toBe(false)
    // Stale and equal terms are within the bound (compareClaims decides them).
    expect(isTermWithinStep(3, 7)).toBe(true)
    expect(isTermWithinStep(7, 7)).toBe(true)
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 1_000_000 }),
        fc.integer({ min: 1, max: 1_000 }),
        (held, step) => {
          expect(isTermWithinStep(held + step, held)).toBe(step <= LEADER_TERM_MAX_STEP)
        },
      ),
    )
  })

  it('the term an elected planner claims is always within the bound of what it holds', () => {
    fc.assert(
      fc.property(fc.option(fc.integer({ min: 1, max: 1_000_000 }), { nil: undefined }), (held) => {
        expect(isTermWithinStep(nextTerm(held), held)).toBe(true)
      }),
    )
  })

  it('a trusted field device claiming leadership at the maximum term is refused as ineligible', async () => {
    const device = await newSigner()
    const poison = await signLeaderAnnouncement(device, {
      meshName: 'farm',
      generation: 1,
      role: 'planner',
      term: LEADER_TERM_MAX,
      issuedAt: 1,
    })
    const verdict = await verifyLeaderAnnouncement(poison, {
      meshName: 'farm',
      generation: 1,
      isTrustedOrigin: () => true,
      isEligibleOrigin: (id) => isEligibleLeader(id, records()),
      roleOf: () => 'planner',
      heldTerm: 3,
    })
    expect(verdict).toMatchObject({ verdict: 'reject', reason: 'ineligible-origin' })
  })
})

describe('command term fence', () => {
  it('refuses a missing or older term once a term is known, and accepts anything before', () => {
    expect(checkCommandTerm(undefined, undefined).outcome).toBe('accept')
    expect(checkCommandTerm(2, undefined).outcome).toBe('accept')
    expect(checkCommandTerm(3, 3).outcome).toBe('accept')
    expect(checkCommandTerm(4, 3).outcome).toBe('accept')
    expect(checkCommandTerm(2, 3)).toMatchObject({ outcome: 'reject', reason: 'stale-leader-term' })
    expect(checkCommandTerm(undefined, 3)).toMatchObject({ outcome: 'reject', reason: 'stale-leader-term' })
  })
})
