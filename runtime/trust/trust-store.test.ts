/** Trust entries of operators lapse with their certificate; device entries never do. */
import { mkdtemp } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { TrustStore } from './trust-store.ts'

const OPERATOR = '12D3KooWD3eckifWpRn9wQpMG9R9hX3sD158z7EqHWmweQAJU5SA'
const DEVICE = '12D3KooWRBy97UB99e3J6hiPesre1MZeuNQvfan4gBziswrRJsNK'

async function store(): Promise<TrustStore> {
  return TrustStore.open(join(await mkdtemp(join(tmpdir(), 'trust-')), 'trusted-peers.json'))
}

describe('TrustStore expiry', () => {
  it('trusts an operator until its expiry and not after, across a reload', async () => {
    const trust = await store()
    await trust.add(OPERATOR, 'dora', { kind: 'operator', expiresAt: 1_000 })
    await trust.add(DEVICE, 'field-1')
    expect(trust.has(OPERATOR, 999)).toBe(true)
    expect(trust.has(OPERATOR, 1_000)).toBe(false)
    expect(trust.isExpired(OPERATOR, 1_000)).toBe(true)
    expect(trust.has(DEVICE, Number.MAX_SAFE_INTEGER)).toBe(true)
    expect(trust.isExpired(DEVICE, Number.MAX_SAFE_INTEGER)).toBe(false)
    const reopened = await TrustStore.open(trust.path)
    expect(reopened.get(OPERATOR)).toMatchObject({ kind: 'operator', expiresAt: 1_000 })
    expect(reopened.has(OPERATOR, 1_001)).toBe(false)
  })

  it('re-pairing an operator replaces the expiry', async () => {
    const trust = await store()
    await trust.add(OPERATOR, 'dora', { kind: 'operator', expiresAt: 1_000 })
    expect(await trust.add(OPERATOR, 'dora', { kind: 'operator', expiresAt: 5_000 })).toBe(true)
    expect(trust.has(OPERATOR, 4_000)).toBe(true)
  })
})
