import { generateKeyPair } from '@libp2p/crypto/keys'
import { describe, expect, it } from 'vitest'
import type { ConsoleConfig } from '../../../protocol/console-config.ts'
import { issueOperatorCertificate } from '../../../protocol/safety/operator-certificate.ts'
import { signerFromPrivateKey } from '../../../protocol/signing.ts'
import { CERTIFICATE_EXPIRED, certificateProblem } from './operator-pairing.ts'

const commandCenter = signerFromPrivateKey(await generateKeyPair('Ed25519'))
const otherCommandCenter = signerFromPrivateKey(await generateKeyPair('Ed25519'))
const operator = signerFromPrivateKey(await generateKeyPair('Ed25519'))
const EXPIRES_AT = 1_000_000

const config = {
  commandCenter: { deviceId: commandCenter.id, name: 'command-center', addrs: ['/dns4/cc/tcp/1/wss'] },
} as ConsoleConfig

const certificate = (issuer = commandCenter, operatorId = operator.id) =>
  issueOperatorCertificate(issuer, {
    operatorId,
    displayName: 'alice',
    roles: ['operator'],
    issuedAt: 0,
    expiresAt: EXPIRES_AT,
  })

describe('certificateProblem: whether a certificate can be used with this command center', () => {
  it('accepts a certificate for this key from this command center until the last millisecond', async () => {
    expect(certificateProblem(await certificate(), config, operator.id, EXPIRES_AT - 1)).toBeUndefined()
  })

  it('is expired at expiresAt exactly', async () => {
    expect(certificateProblem(await certificate(), config, operator.id, EXPIRES_AT)).toBe(CERTIFICATE_EXPIRED)
  })

  it('refuses a certificate issued to another operator key', async () => {
    const other = signerFromPrivateKey(await generateKeyPair('Ed25519'))
    expect(certificateProblem(await certificate(commandCenter, other.id), config, operator.id, 0)).toMatch(
      /another operator key/,
    )
  })

  it('refuses a certificate issued by another command center, naming the one to pair with', async () => {
    expect(certificateProblem(await certificate(otherCommandCenter), config, operator.id, 0)).toMatch(
      /another command center: pair with command-center/,
    )
  })
})
