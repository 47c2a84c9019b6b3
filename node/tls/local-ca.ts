/**
 * The local certificate authority of a command center: an ECDSA P-256 CA (long-lived, installed
 * once on each tablet) and the server certificates it signs for the console's HTTPS and the WSS
 * listener. Node's crypto parses certificates but cannot issue them; @peculiar/x509 builds them on
 * WebCrypto (see docs/decisions.md).
 */
import 'reflect-metadata'
import { webcrypto } from 'node:crypto'
import * as x509 from '@peculiar/x509'
import { CERT_BACKDATE_MS, DAY_MS, LOCAL_CA_VALIDITY_DAYS, SERVER_CERT_VALIDITY_DAYS } from './constants.ts'
import type { SubjectNames } from './lan-names.ts'

const crypto = webcrypto
type CryptoKeyPair = webcrypto.CryptoKeyPair
type CryptoKey = webcrypto.CryptoKey
const EC_KEY = { name: 'ECDSA', namedCurve: 'P-256' } as const
const SIGNING = { name: 'ECDSA', hash: 'SHA-256' } as const

export interface PemKeyPair {
  certPem: string
  keyPem: string
}

export async function createLocalCa(label: string, now = new Date()): Promise<PemKeyPair> {
  const keys = (await crypto.subtle.generateKey(EC_KEY, true, ['sign', 'verify'])) as CryptoKeyPair
  const certificate = await x509.X509CertificateGenerator.createSelfSigned(
    {
      serialNumber: randomSerial(),
      name: `CN=ClawMesh local CA (${escapeDn(label)}), O=ClawMesh`,
      notBefore: new Date(now.getTime() - CERT_BACKDATE_MS),
      notAfter: new Date(now.getTime() + LOCAL_CA_VALIDITY_DAYS * DAY_MS),
      keys,
      signingAlgorithm: SIGNING,
      extensions: [
        // pathLen 0: this CA signs server certificates only, never another CA.
        new x509.BasicConstraintsExtension(true, 0, true),
        new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
        await x509.SubjectKeyIdentifierExtension.create(keys.publicKey, false, crypto),
      ],
    },
    crypto,
  )
  return { certPem: certificate.toString('pem'), keyPem: await exportKeyPem(keys.privateKey) }
}

export async function issueServerCertificate(
  ca: PemKeyPair,
  names: SubjectNames,
  now = new Date(),
): Promise<PemKeyPair> {
  const caCertificate = new x509.X509Certificate(ca.certPem)
  const caKey = await crypto.subtle.importKey('pkcs8', pemBody(ca.keyPem), EC_KEY, false, ['sign'])
  const keys = (await crypto.subtle.generateKey(EC_KEY, true, ['sign', 'verify'])) as CryptoKeyPair
  const commonName = names.dns.find((name) => name !== 'localhost') ?? names.dns[0] ?? 'localhost'
  const certificate = await x509.X509CertificateGenerator.create(
    {
      serialNumber: randomSerial(),
      subject: `CN=${escapeDn(commonName)}, O=ClawMesh`,
      issuer: caCertificate.subject,
      notBefore: new Date(now.getTime() - CERT_BACKDATE_MS),
      notAfter: new Date(now.getTime() + SERVER_CERT_VALIDITY_DAYS * DAY_MS),
      publicKey: keys.publicKey,
      signingKey: caKey,
      signingAlgorithm: SIGNING,
      extensions: [
        new x509.BasicConstraintsExtension(false, undefined, true),
        new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
        new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth], false),
        new x509.SubjectAlternativeNameExtension(
          [
            ...names.dns.map((value) => ({ type: 'dns' as const, value })),
            ...names.ips.map((value) => ({ type: 'ip' as const, value })),
          ],
          false,
        ),
        await x509.SubjectKeyIdentifierExtension.create(keys.publicKey, false, crypto),
        await x509.AuthorityKeyIdentifierExtension.create(caCertificate, false, crypto),
      ],
    },
    crypto,
  )
  return { certPem: certificate.toString('pem'), keyPem: await exportKeyPem(keys.privateKey) }
}

async function exportKeyPem(key: CryptoKey): Promise<string> {
  const der = await crypto.subtle.exportKey('pkcs8', key)
  return `${x509.PemConverter.encode(der, 'PRIVATE KEY')}\n`
}

function pemBody(pem: string): ArrayBuffer {
  const der = x509.PemConverter.decode(pem)[0]
  if (der === undefined) throw new Error('no PEM block in the CA key file')
  return der
}

/** 16 random bytes with the top bit clear: positive, unique, and not guessable. */
function randomSerial(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(16))
  bytes[0] = (bytes[0] as number) & 0x7f
  return Buffer.from(bytes).toString('hex')
}

function escapeDn(value: string): string {
  return value.replace(/[,+"\\<>;=]/g, (character) => `\\${character}`)
}
