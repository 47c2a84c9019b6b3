import { generateKeyPair } from '@libp2p/crypto/keys'
import { describe, expect, it } from 'vitest'
import { signerFromPrivateKey, signValue, verifyValue } from './signing.ts'

describe('verifyValue', () => {
  it('accepts a certificate again after a cached check, and never a changed body under its signature', async () => {
    const signer = signerFromPrivateKey(await generateKeyPair('Ed25519'))
    const body = { operatorId: 'alice', roles: ['viewer'], expiresAt: 1_000 }
    const signature = await signValue(signer, 'operator-certificate', body)
    expect(await verifyValue(signer.id, 'operator-certificate', body, signature)).toBe(true)
    expect(await verifyValue(signer.id, 'operator-certificate', { ...body }, signature)).toBe(true)
    // The cached signature must not vouch for other bytes: a role raised, an expiry moved.
    expect(
      await verifyValue(signer.id, 'operator-certificate', { ...body, roles: ['admin'] }, signature),
    ).toBe(false)
    expect(
      await verifyValue(signer.id, 'operator-certificate', { ...body, expiresAt: 2_000 }, signature),
    ).toBe(false)
    // Nor for another domain or another signer.
    expect(await verifyValue(signer.id, 'approval', body, signature)).toBe(false)
    const other = signerFromPrivateKey(await generateKeyPair('Ed25519'))
    expect(await verifyValue(other.id, 'operator-certificate', body, signature)).toBe(false)
  })

  it('does not remember a signature that failed', async () => {
    const signer = signerFromPrivateKey(await generateKeyPair('Ed25519'))
    const body = { operatorId: 'bob' }
    const forged = await signValue(signer, 'operator-certificate', { operatorId: 'mallory' })
    expect(await verifyValue(signer.id, 'operator-certificate', body, forged)).toBe(false)
    expect(await verifyValue(signer.id, 'operator-certificate', body, forged)).toBe(false)
  })
})
