import fc from 'fast-check'
import { beforeAll, describe, expect, it } from 'vitest'
import { HOUR, makeProposal, NOW, newSigner } from '../../test/helpers/safety-fixtures.ts'
import { PROPOSAL_DEDUP_WINDOW_MS } from './constants.ts'
import {
  duplicateKey,
  isLlmOnlyEvidence,
  type Proposal,
  ProposalDeduplicator,
  proposalHash,
  proposalSchema,
} from './proposal.ts'

let base: Proposal
let otherNode: string

beforeAll(async () => {
  base = makeProposal({ targetNode: (await newSigner()).id, authorId: (await newSigner()).id })
  otherNode = (await newSigner()).id
})

describe('proposal hash', () => {
  it('accepts the fixture as a valid proposal', () => {
    expect(proposalSchema.safeParse(base).success).toBe(true)
  })

  it.each<[string, (p: Proposal) => Proposal]>([
    ['id', (p) => ({ ...p, id: 'other' })],
    ['capability', (p) => ({ ...p, capability: 'actuator:valve:zone-2' })],
    ['targetNode', (p) => ({ ...p, targetNode: otherNode })],
    ['operation', (p) => ({ ...p, operation: 'close' })],
    ['args', (p) => ({ ...p, args: { durationSec: 121 } })],
    ['level', (p) => ({ ...p, level: 'L3' })],
    ['evidence tier', (p) => ({ ...p, evidence: [{ frameId: 'frame-1', tier: 'T3' }] })],
    ['author kind', (p) => ({ ...p, author: { ...p.author, kind: 'operator' } })],
    ['createdAt', (p) => ({ ...p, createdAt: p.createdAt - 1 })],
    ['expiresAt', (p) => ({ ...p, expiresAt: p.expiresAt + 1 })],
    ['leaderTerm', (p) => ({ ...p, leaderTerm: 3 })],
  ])('changes when %s changes', (_field, mutate) => {
    expect(proposalHash(mutate(base))).not.toBe(proposalHash(base))
  })

  it('does not depend on key order', () => {
    const reversed = Object.fromEntries(Object.entries(base).reverse()) as Proposal
    expect(proposalHash(reversed)).toBe(proposalHash(base))
  })

  it('binds any numeric change to the arguments (property)', () => {
    fc.assert(
      fc.property(fc.integer(), fc.integer(), (a, b) => {
        fc.pre(a !== b)
        const first = proposalHash({ ...base, args: { durationSec: a } })
        const second = proposalHash({ ...base, args: { durationSec: b } })
        return first !== second
      }),
    )
  })

  it('refuses proposals that expire before they are created or live too long', () => {
    expect(proposalSchema.safeParse({ ...base, expiresAt: base.createdAt }).success).toBe(false)
    expect(proposalSchema.safeParse({ ...base, expiresAt: base.createdAt + 25 * HOUR }).success).toBe(false)
  })
})

describe('evidence tiers', () => {
  it('treats empty and T0-only evidence as LLM-only, anything measured as not', () => {
    expect(isLlmOnlyEvidence([])).toBe(true)
    expect(isLlmOnlyEvidence([{ frameId: 'a', tier: 'T0' }])).toBe(true)
    expect(
      isLlmOnlyEvidence([
        { frameId: 'a', tier: 'T0' },
        { frameId: 'b', tier: 'T2' },
      ]),
    ).toBe(false)
  })
})

describe('proposal deduplication', () => {
  it('uses the same key for the same action whoever proposes it', () => {
    const again = { ...base, id: 'proposal-2', createdAt: base.createdAt + 5, level: 'L3' as const }
    expect(duplicateKey(again)).toBe(duplicateKey(base))
    expect(duplicateKey({ ...base, args: { durationSec: 1 } })).not.toBe(duplicateKey(base))
  })

  it('merges a repeat within the window and admits it after', () => {
    const dedup = new ProposalDeduplicator()
    const again = { ...base, id: 'proposal-2' }
    expect(dedup.admit(base, NOW)).toEqual({ outcome: 'new' })
    expect(dedup.admit(base, NOW + 1)).toEqual({ outcome: 'new' })
    expect(dedup.admit(again, NOW + PROPOSAL_DEDUP_WINDOW_MS - 1)).toEqual({
      outcome: 'duplicate',
      originalId: base.id,
      firstSeenAt: NOW,
    })
    expect(dedup.admit(again, NOW + PROPOSAL_DEDUP_WINDOW_MS)).toEqual({ outcome: 'new' })
  })

  it('stays within its entry limit', () => {
    const dedup = new ProposalDeduplicator({ maxEntries: 3 })
    for (let i = 0; i < 10; i++) dedup.admit({ ...base, id: `p${i}`, args: { durationSec: i } }, NOW)
    expect(dedup.size).toBe(3)
  })
})
