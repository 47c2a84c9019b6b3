import { beforeAll, describe, expect, it } from 'vitest'
import { HOUR, NOW, newSigner } from '../../test/helpers/safety-fixtures.ts'
import type { Signer } from '../signing.ts'
import { CLOCK_SKEW_TOLERANCE_MS } from './constants.ts'
import {
  issueOperatorCertificate,
  type OperatorCertificate,
  verifyOperatorCertificate,
} from './operator-certificate.ts'
import { revokedBy } from './revocation.ts'

const notRevoked = revokedBy([])

describe('operator certificates', () => {
  let issuer: Signer
  let operator: Signer
  let certificate: OperatorCertificate
  beforeAll(async () => {
    issuer = await newSigner()
    operator = await newSigner()
    certificate = await issueOperatorCertificate(issuer, {
      operatorId: operator.id,
      displayName: 'Ana',
      roles: ['operator'],
      issuedAt: NOW - HOUR,
      expiresAt: NOW + HOUR,
    })
  })
  const trusted = () => new Set([issuer.id])

  it('accepts a certificate from a trusted issuer within its validity', async () => {
    const verdict = await verifyOperatorCertificate(certificate, {
      trustedIssuers: trusted(),
      isRevoked: notRevoked,
      now: NOW,
    })
    expect(verdict.outcome).toBe('accept')
  })

  it('accepts a predicate as the trust store', async () => {
    const verdict = await verifyOperatorCertificate(certificate, {
      trustedIssuers: (id) => id === issuer.id,
      isRevoked: notRevoked,
      now: NOW,
    })
    expect(verdict.outcome).toBe('accept')
  })

  it('rejects a certificate whose roles were edited after signing (forged)', async () => {
    const forged = { ...certificate, body: { ...certificate.body, roles: ['admin'] } }
    const verdict = await verifyOperatorCertificate(forged, {
      trustedIssuers: trusted(),
      isRevoked: notRevoked,
      now: NOW,
    })
    expect(verdict).toMatchObject({ outcome: 'reject', reason: 'bad-signature' })
  })

  it('rejects a certificate self-issued by an untrusted key', async () => {
    const rogue = await newSigner()
    const selfIssued = await issueOperatorCertificate(rogue, { ...certificate.body, operatorId: rogue.id })
    const verdict = await verifyOperatorCertificate(selfIssued, {
      trustedIssuers: trusted(),
      isRevoked: notRevoked,
      now: NOW,
    })
    expect(verdict).toMatchObject({ outcome: 'reject', reason: 'untrusted-issuer' })
  })

  it('rejects a certificate re-labelled with a trusted issuer it was not signed by', async () => {
    const rogue = await newSigner()
    const rogueCert = await issueOperatorCertificate(rogue, { ...certificate.body })
    const relabelled = { ...rogueCert, body: { ...rogueCert.body, issuerId: issuer.id } }
    const verdict = await verifyOperatorCertificate(relabelled, {
      trustedIssuers: trusted(),
      isRevoked: notRevoked,
      now: NOW,
    })
    expect(verdict).toMatchObject({ outcome: 'reject', reason: 'bad-signature' })
  })

  it('rejects an expired certificate', async () => {
    const verdict = await verifyOperatorCertificate(certificate, {
      trustedIssuers: trusted(),
      isRevoked: notRevoked,
      now: NOW + HOUR,
    })
    expect(verdict).toMatchObject({ outcome: 'reject', reason: 'expired' })
  })

  it('rejects a certificate issued in the future beyond clock skew, accepts within it', async () => {
    const early = NOW - HOUR - CLOCK_SKEW_TOLERANCE_MS - 1
    expect(
      await verifyOperatorCertificate(certificate, {
        trustedIssuers: trusted(),
        isRevoked: notRevoked,
        now: early,
      }),
    ).toMatchObject({
      outcome: 'reject',
      reason: 'not-yet-valid',
    })
    const withinSkew = NOW - HOUR - CLOCK_SKEW_TOLERANCE_MS + 1
    expect(
      (
        await verifyOperatorCertificate(certificate, {
          trustedIssuers: trusted(),
          isRevoked: notRevoked,
          now: withinSkew,
        })
      ).outcome,
    ).toBe('accept')
  })

  it.each([
    ['an unknown role', (c: OperatorCertificate) => ({ ...c, body: { ...c.body, roles: ['root'] } })],
    ['an extra field', (c: OperatorCertificate) => ({ ...c, body: { ...c.body, superuser: true } })],
    [
      'a non-peer-id operator',
      (c: OperatorCertificate) => ({ ...c, body: { ...c.body, operatorId: 'alice' } }),
    ],
    ['no signature', (c: OperatorCertificate) => ({ body: c.body })],
    ['null', () => null],
  ])('rejects as malformed: %s', async (_name, mutate) => {
    const verdict = await verifyOperatorCertificate(mutate(certificate), {
      trustedIssuers: trusted(),
      isRevoked: notRevoked,
      now: NOW,
    })
    expect(verdict).toMatchObject({ outcome: 'reject', reason: 'malformed' })
  })

  it('refuses to issue a certificate that expires before it is issued', async () => {
    await expect(
      issueOperatorCertificate(issuer, { ...certificate.body, issuedAt: NOW, expiresAt: NOW - 1 }),
    ).rejects.toThrow()
  })

  it('an ai-operator certificate carries no other role: issuing one that does fails, verifying a forged one rejects', async () => {
    await expect(
      issueOperatorCertificate(issuer, { ...certificate.body, roles: ['ai-operator', 'operator'] }),
    ).rejects.toThrow('ai-operator')
    const ai = await issueOperatorCertificate(issuer, { ...certificate.body, roles: ['ai-operator'] })
    expect(ai.body.roles).toEqual(['ai-operator'])
    const widened = { ...ai, body: { ...ai.body, roles: ['ai-operator', 'admin'] } }
    expect(
      await verifyOperatorCertificate(widened, {
        trustedIssuers: trusted(),
        now: NOW,
        isRevoked: notRevoked,
      }),
    ).toMatchObject({ outcome: 'reject', reason: 'malformed' })
  })
})
