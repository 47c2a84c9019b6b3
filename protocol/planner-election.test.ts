import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import {
  claimOf,
  compareCandidates,
  compareClaims,
  type ElectionCandidate,
  electLeader,
  type LeaderClaim,
  nextTerm,
  PLANNER_ROLES,
  signLeaderAnnouncement,
  verifyLeaderAnnouncement,
} from './planner-election.ts'
import type { NodeRole } from './roles.ts'
import { checkCommandTerm } from './safety/command.ts'
import { newSigner } from './safety/test-fixtures.ts'

const deviceIdArb = fc.stringMatching(/^12D3KooW[A-Za-z0-9]{4}$/)
const candidateArb: fc.Arbitrary<ElectionCandidate> = fc.record({
  deviceId: deviceIdArb,
  role: fc.constantFrom(...PLANNER_ROLES),
})
const claimArb: fc.Arbitrary<LeaderClaim> = fc.record({
  term: fc.integer({ min: 1, max: 20 }),
  leader: deviceIdArb,
  role: fc.constantFrom(...PLANNER_ROLES),
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
        expect(Math.sign(compareClaims(a, b))).toBe(-Math.sign(compareClaims(b, a)))
      }),
    )
  })
})

describe('leader announcements', () => {
  const mesh = { meshName: 'farm', generation: 1 }
  const options = (overrides: Partial<Parameters<typeof verifyLeaderAnnouncement>[1]> = {}) => ({
    ...mesh,
    isTrustedOrigin: () => true,
    roleOf: () => undefined,
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
    expect(await reasonOf(announcement, { roleOf: () => 'field' })).toBe('non-planner-origin')
    const field = await signLeaderAnnouncement(leader, { ...mesh, role: 'field', term: 3, issuedAt: 1 })
    expect(await reasonOf(field)).toBe('non-planner-origin')
    // Someone else's key cannot claim for the leader.
    const impostor = await newSigner()
    const forged = await signLeaderAnnouncement(impostor, { ...mesh, role: 'planner', term: 7, issuedAt: 1 })
    expect(await reasonOf({ ...forged, body: { ...forged.body, leader: leader.id } })).toBe('bad-signature')
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
