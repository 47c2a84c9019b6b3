/** Certificate issuing with an injected clock, a real issued-certificates record in a temp dir and
 * a fake evidence log. */
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { verifyOperatorCertificate } from '../../protocol/safety/index.ts'
import { HOUR, NOW, newSigner } from '../../test/helpers/safety-fixtures.ts'
import { IssuedCertificates } from '../trust/issued-certificates.ts'
import { CertificateIssuer, DEFAULT_OPERATOR_CERT_TTL_MS } from './certificate-issuer.ts'

let stateDir: string
beforeEach(async () => {
  stateDir = await mkdtemp(join(tmpdir(), 'clawmesh-certs-'))
})
afterEach(async () => {
  await rm(stateDir, { recursive: true, force: true })
})

async function setup() {
  const signer = await newSigner()
  const issued = await IssuedCertificates.open(stateDir)
  const evidence: Array<{ type: string; data: unknown }> = []
  const issuer = new CertificateIssuer({
    signer,
    issued,
    evidence: {
      append: async (type, data) => {
        evidence.push({ type, data })
        return {} as never
      },
    },
    now: () => NOW,
  })
  return { signer, issued, evidence, issuer }
}

describe('CertificateIssuer', () => {
  it('signs a certificate that verifies against this issuer, valid from now for the default week', async () => {
    const { signer, issuer } = await setup()
    const operatorId = (await newSigner()).id
    const certificate = await issuer.issue({ operatorId, displayName: 'Alice', roles: ['operator'] })
    expect(certificate.body).toMatchObject({
      operatorId,
      roles: ['operator'],
      issuerId: signer.id,
      issuedAt: NOW,
      expiresAt: NOW + DEFAULT_OPERATOR_CERT_TTL_MS,
    })
    const verdict = await verifyOperatorCertificate(certificate, {
      trustedIssuers: (id) => id === signer.id,
      isRevoked: () => false,
      now: NOW,
    })
    expect(verdict.outcome).toBe('accept')
  })

  it('keeps the certificate on record and logs its issuance before answering', async () => {
    const { issued, evidence, issuer } = await setup()
    const operatorId = (await newSigner()).id
    const certificate = await issuer.issue({
      operatorId,
      displayName: 'Bob',
      roles: ['operator', 'admin'],
      ttlMs: HOUR,
    })
    expect(certificate.body.expiresAt).toBe(NOW + HOUR)
    expect(issued.current(operatorId, NOW)).toEqual(certificate)
    expect(evidence).toEqual([
      { type: 'decision', data: { kind: 'operator-certificate-issued', body: certificate.body } },
    ])
  })
})
