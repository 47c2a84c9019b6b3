import { beforeAll, describe, expect, it } from 'vitest'
import { HOUR, NOW, newSigner } from '../../test/helpers/safety-fixtures.ts'
import type { Signer } from '../signing.ts'
import { CLOCK_SKEW_TOLERANCE_MS } from './constants.ts'
import { issueOperatorCertificate, verifyOperatorCertificate } from './operator-certificate.ts'
import {
  issueOperatorRevocation,
  OPERATOR_REVOCATION_REJECTIONS,
  type OperatorRevocation,
  revokedBy,
  revokes,
  verifyOperatorRevocation,
} from './revocation.ts'

describe('operator revocations', () => {
  let commandCenter: Signer
  let operator: Signer
  let revocation: OperatorRevocation
  beforeAll(async () => {
    commandCenter = await newSigner()
    operator = await newSigner()
    revocation = await issueOperatorRevocation(commandCenter, {
      operatorId: operator.id,
      revokedAt: NOW,
      reason: 'left the site crew',
    })
  })
  const options = (overrides: { trusted?: string[]; now?: number } = {}) => ({
    trustedIssuers: new Set(overrides.trusted ?? [commandCenter.id]),
    now: overrides.now ?? NOW,
  })

  it('is signed by the issuing command center and accepted by a node that trusts it', async () => {
    expect(revocation.body.issuerId).toBe(commandCenter.id)
    expect(await verifyOperatorRevocation(revocation, options())).toEqual({ outcome: 'accept', revocation })
  })

  it('is refused from a key the node does not trust as a command center', async () => {
    const rogue = await issueOperatorRevocation(operator, {
      operatorId: operator.id,
      revokedAt: NOW,
      reason: 'self-made',
    })
    expect(await verifyOperatorRevocation(rogue, options())).toMatchObject({ reason: 'untrusted-issuer' })
  })

  it('is refused when any signed field was changed', async () => {
    const later = { ...revocation, body: { ...revocation.body, revokedAt: NOW - HOUR } }
    expect(await verifyOperatorRevocation(later, options())).toMatchObject({ reason: 'bad-signature' })
    const other = { ...revocation, body: { ...revocation.body, operatorId: commandCenter.id } }
    expect(await verifyOperatorRevocation(other, options())).toMatchObject({ reason: 'bad-signature' })
  })

  it('is refused when dated beyond the clock skew, accepted within it', async () => {
    const before = NOW - CLOCK_SKEW_TOLERANCE_MS
    expect((await verifyOperatorRevocation(revocation, options({ now: before }))).outcome).toBe('accept')
    expect(await verifyOperatorRevocation(revocation, options({ now: before - 1 }))).toMatchObject({
      reason: 'from-future',
    })
  })

  it('never throws on junk and names every rejection', async () => {
    for (const junk of [null, 7, 'x', {}, { body: {}, signature: 'x' }, { ...revocation, extra: 1 }]) {
      expect(await verifyOperatorRevocation(junk, options())).toMatchObject({ reason: 'malformed' })
    }
    expect(Object.keys(OPERATOR_REVOCATION_REJECTIONS).sort()).toEqual(
      ['bad-signature', 'from-future', 'malformed', 'untrusted-issuer'].sort(),
    )
  })

  it('covers certificates issued at or before revokedAt, not later ones (re-enrolment)', () => {
    expect(revokes(revocation.body, operator.id, NOW - HOUR)).toBe(true)
    expect(revokes(revocation.body, operator.id, NOW)).toBe(true)
    expect(revokes(revocation.body, operator.id, NOW + 1)).toBe(false)
    expect(revokes(revocation.body, commandCenter.id, NOW - HOUR)).toBe(false)
    const isRevoked = revokedBy([revocation.body])
    expect(isRevoked(operator.id, NOW)).toBe(true)
    expect(revokedBy([])(operator.id, NOW)).toBe(false)
  })

  it('makes a revoked certificate fail verification with `revoked`', async () => {
    const certificate = await issueOperatorCertificate(commandCenter, {
      operatorId: operator.id,
      displayName: 'Bob',
      roles: ['operator'],
      issuedAt: NOW - HOUR,
      expiresAt: NOW + HOUR,
    })
    const check = (isRevoked: (id: string, at: number) => boolean) =>
      verifyOperatorCertificate(certificate, {
        trustedIssuers: new Set([commandCenter.id]),
        isRevoked,
        now: NOW,
      })
    expect(await check(revokedBy([revocation.body]))).toMatchObject({ outcome: 'reject', reason: 'revoked' })
    expect((await check(revokedBy([{ ...revocation.body, revokedAt: NOW - 2 * HOUR }]))).outcome).toBe(
      'accept',
    )
  })
})
