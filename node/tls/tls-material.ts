/**
 * The TLS material of a node on disk: create it from the local CA, import a user's certificate,
 * check it (parses, key matches, dates, SANs) and load it for the HTTPS and WSS listeners.
 */
import { createHash, createPrivateKey, X509Certificate } from 'node:crypto'
import { readFile, stat } from 'node:fs/promises'
import { hostname } from 'node:os'
import { writeFileAtomic } from '../../runtime/state/atomic-file.ts'
import {
  CERT_FILE_MODE,
  DAY_MS,
  KEY_FILE_MODE,
  MAX_PEM_FILE_BYTES,
  SERVER_CERT_RENEW_BEFORE_DAYS,
} from './constants.ts'
import { localSubjectNames, type SubjectNames } from './lan-names.ts'
import { type TlsPaths, tlsPaths } from './tls-paths.ts'

export type TlsMaterialErrorCode =
  | 'UNREADABLE'
  | 'NOT_A_CERTIFICATE'
  | 'NOT_A_KEY'
  | 'KEY_MISMATCH'
  | 'EXPIRED'
  | 'NOT_YET_VALID'

/** A certificate or key that cannot be used, with what to do about it in the message. */
export class TlsMaterialError extends Error {
  static readonly NAME = 'TlsMaterialError'
  override readonly name = TlsMaterialError.NAME
  readonly code: TlsMaterialErrorCode
  constructor(code: TlsMaterialErrorCode, message: string, options: { cause?: unknown } = {}) {
    super(message, options)
    this.code = code
  }
}

export interface CertificateSummary {
  subject: string
  issuer: string
  dnsNames: string[]
  ipAddresses: string[]
  validFrom: string
  validTo: string
  /** SHA-256 of the DER certificate, colon-separated hex (what phones show in their settings). */
  fingerprint256: string
  /** Base64 SHA-256 of the public key (SPKI): what Chromium's
   * `--ignore-certificate-errors-spki-list` takes, e.g. for headless tests. */
  spkiSha256: string
}

export interface TlsStatus {
  paths: TlsPaths
  /** `local-ca`: the server certificate was signed by this node's local CA; `user`: brought in. */
  source: 'local-ca' | 'user'
  server: CertificateSummary
  /** The local CA, when it signed the server certificate (what `GET /ca.crt` serves). */
  ca?: CertificateSummary
}

/** What the HTTPS and WSS listeners are given. */
export interface ServerTls {
  certPem: string
  keyPem: string
  /** PEM of the local CA when it issued `certPem`, served at `GET /ca.crt`. */
  caPem?: string
  status: TlsStatus
}

export async function hasServerTls(stateDir: string): Promise<boolean> {
  const paths = tlsPaths(stateDir)
  return (await exists(paths.serverCert)) && (await exists(paths.serverKey))
}

export interface EnsureLocalTlsOptions {
  /** Extra SANs (DNS names or IP addresses), e.g. a name the site's DNS gives the command center. */
  extraNames?: readonly string[]
  /** `always` re-issues the server certificate (`clawmesh cert`); `when-needed` only if it is
   * missing, not from the local CA, expiring soon, or does not cover this machine's names. */
  reissue: 'always' | 'when-needed'
  now?: Date
}

export interface EnsureLocalTlsResult {
  createdCa: boolean
  issuedServer: boolean
  status: TlsStatus
}

/** The certificate-issuing code (@peculiar/x509 and its ASN.1 stack, ~0.7 MiB of source) is loaded
 * only when a certificate is made: a node that merely reads its TLS files never needs it (docs/memory.md). */
const loadLocalCa = () => import('./local-ca.ts')

/** Creates the local CA if there is none and (re-)issues the server certificate from it. */
export async function ensureLocalTls(
  stateDir: string,
  options: EnsureLocalTlsOptions,
): Promise<EnsureLocalTlsResult> {
  const paths = tlsPaths(stateDir)
  const now = options.now ?? new Date()
  let createdCa = false
  const { createLocalCa, issueServerCertificate } = await loadLocalCa()
  if (!(await exists(paths.caCert)) || !(await exists(paths.caKey))) {
    const ca = await createLocalCa(hostname() || 'clawmesh', now)
    await writeFileAtomic(paths.caKey, ca.keyPem, KEY_FILE_MODE)
    await writeFileAtomic(paths.caCert, ca.certPem, CERT_FILE_MODE)
    createdCa = true
  }
  const ca = { certPem: await readPem(paths.caCert), keyPem: await readPem(paths.caKey) }
  const names = localSubjectNames(options.extraNames)
  const needed =
    createdCa ||
    options.reissue === 'always' ||
    (await serverCertificateNeedsReissue(paths, ca.certPem, names, now))
  if (needed) {
    const server = await issueServerCertificate(ca, names, now)
    await writeFileAtomic(paths.serverKey, server.keyPem, KEY_FILE_MODE)
    await writeFileAtomic(paths.serverCert, server.certPem, CERT_FILE_MODE)
  }
  return { createdCa, issuedServer: needed, status: (await loadServerTls(stateDir, now)).status }
}

export interface IssuedFromCa {
  issuedServer: boolean
  status: TlsStatus
}

/**
 * Gives another service of this machine (the demo's relay) its own server certificate and key,
 * signed by the local CA in `caStateDir` (which must exist: run ensureLocalTls first), with the same
 * SANs. Writes `stateDir/tls/server.{crt,key}` and a copy of `ca.crt`, never the CA key, so a
 * browser that trusts the CA once trusts both. Re-issues under the same rules as ensureLocalTls.
 */
export async function ensureServerTlsFromCa(
  caStateDir: string,
  stateDir: string,
  options: EnsureLocalTlsOptions,
): Promise<IssuedFromCa> {
  const caPaths = tlsPaths(caStateDir)
  const paths = tlsPaths(stateDir)
  const now = options.now ?? new Date()
  const ca = { certPem: await readPem(caPaths.caCert), keyPem: await readPem(caPaths.caKey) }
  const names = localSubjectNames(options.extraNames)
  const needed =
    options.reissue === 'always' || (await serverCertificateNeedsReissue(paths, ca.certPem, names, now))
  if (needed) {
    const server = await (await loadLocalCa()).issueServerCertificate(ca, names, now)
    await writeFileAtomic(paths.serverKey, server.keyPem, KEY_FILE_MODE)
    await writeFileAtomic(paths.serverCert, server.certPem, CERT_FILE_MODE)
  }
  if (!(await exists(paths.caCert)) || (await readPem(paths.caCert)) !== ca.certPem)
    await writeFileAtomic(paths.caCert, ca.certPem, CERT_FILE_MODE)
  return { issuedServer: needed, status: (await loadServerTls(stateDir, now)).status }
}

async function serverCertificateNeedsReissue(
  paths: TlsPaths,
  caPem: string,
  names: SubjectNames,
  now: Date,
): Promise<boolean> {
  if (!(await exists(paths.serverCert)) || !(await exists(paths.serverKey))) return true
  try {
    const server = new X509Certificate(await readPem(paths.serverCert))
    if (!server.checkIssued(new X509Certificate(caPem))) return true
    if (Date.parse(server.validTo) - now.getTime() < SERVER_CERT_RENEW_BEFORE_DAYS * DAY_MS) return true
    return missingNames(server, names).length > 0
  } catch {
    return true
  }
}

export interface ImportResult {
  status: TlsStatus
  /** Names of this machine the certificate does not cover: browsers using them will refuse it. */
  uncoveredNames: string[]
}

/** Validates a user's certificate and key and copies them into the state dir. */
export async function importUserCertificate(
  stateDir: string,
  certFile: string,
  keyFile: string,
  now = new Date(),
): Promise<ImportResult> {
  const certPem = await readPem(certFile)
  const keyPem = await readPem(keyFile)
  const certificate = checkCertificateAndKey(certPem, keyPem, certFile, keyFile, now)
  const paths = tlsPaths(stateDir)
  await writeFileAtomic(paths.serverKey, keyPem, KEY_FILE_MODE)
  await writeFileAtomic(paths.serverCert, certPem, CERT_FILE_MODE)
  return {
    status: (await loadServerTls(stateDir, now)).status,
    uncoveredNames: missingNames(certificate, localSubjectNames()),
  }
}

/** Loads and checks the server certificate and key (and the local CA if it issued them). */
export async function loadServerTls(stateDir: string, now = new Date()): Promise<ServerTls> {
  const paths = tlsPaths(stateDir)
  const certPem = await readPem(paths.serverCert)
  const keyPem = await readPem(paths.serverKey)
  const server = checkCertificateAndKey(certPem, keyPem, paths.serverCert, paths.serverKey, now)
  let caPem: string | undefined
  let ca: X509Certificate | undefined
  if (await exists(paths.caCert)) {
    const candidatePem = await readPem(paths.caCert)
    const candidate = parseCertificate(candidatePem, paths.caCert)
    if (server.checkIssued(candidate) && server.verify(candidate.publicKey)) {
      caPem = candidatePem
      ca = candidate
    }
  }
  return {
    certPem,
    keyPem,
    ...(caPem === undefined ? {} : { caPem }),
    status: {
      paths,
      source: ca === undefined ? 'user' : 'local-ca',
      server: summarize(server),
      ...(ca === undefined ? {} : { ca: summarize(ca) }),
    },
  }
}

function checkCertificateAndKey(
  certPem: string,
  keyPem: string,
  certFile: string,
  keyFile: string,
  now: Date,
): X509Certificate {
  const certificate = parseCertificate(certPem, certFile)
  let key: ReturnType<typeof createPrivateKey>
  try {
    key = createPrivateKey(keyPem)
  } catch (error) {
    throw new TlsMaterialError('NOT_A_KEY', `${keyFile} is not a PEM private key`, { cause: error })
  }
  if (!certificate.checkPrivateKey(key))
    throw new TlsMaterialError(
      'KEY_MISMATCH',
      `the key in ${keyFile} does not belong to the certificate in ${certFile}`,
    )
  if (Date.parse(certificate.validTo) <= now.getTime())
    throw new TlsMaterialError(
      'EXPIRED',
      `the certificate in ${certFile} expired on ${certificate.validTo}: renew it (or run \`clawmesh cert\` for a local one)`,
    )
  if (Date.parse(certificate.validFrom) > now.getTime())
    throw new TlsMaterialError(
      'NOT_YET_VALID',
      `the certificate in ${certFile} is valid only from ${certificate.validFrom}: check this machine's clock`,
    )
  return certificate
}

function parseCertificate(pem: string, file: string): X509Certificate {
  try {
    return new X509Certificate(pem)
  } catch (error) {
    throw new TlsMaterialError('NOT_A_CERTIFICATE', `${file} is not a PEM X.509 certificate`, {
      cause: error,
    })
  }
}

/** Names of `names` the certificate's SANs do not cover (wildcards honoured by checkHost). */
export function missingNames(certificate: X509Certificate, names: SubjectNames): string[] {
  return [
    ...names.dns.filter((name) => certificate.checkHost(name, { subject: 'never' }) === undefined),
    ...names.ips.filter((ip) => certificate.checkIP(ip) === undefined),
  ]
}

export function summarize(certificate: X509Certificate): CertificateSummary {
  const dnsNames: string[] = []
  const ipAddresses: string[] = []
  for (const entry of (certificate.subjectAltName ?? '').split(/,\s*/)) {
    if (entry.startsWith('DNS:')) dnsNames.push(entry.slice(4))
    else if (entry.startsWith('IP Address:')) ipAddresses.push(normalizeIp(entry.slice(11)))
  }
  return {
    subject: certificate.subject.replaceAll('\n', ', '),
    issuer: certificate.issuer.replaceAll('\n', ', '),
    dnsNames,
    ipAddresses,
    validFrom: new Date(certificate.validFrom).toISOString(),
    validTo: new Date(certificate.validTo).toISOString(),
    fingerprint256: certificate.fingerprint256,
    spkiSha256: createHash('sha256')
      .update(certificate.publicKey.export({ type: 'spki', format: 'der' }))
      .digest('base64'),
  }
}

/** Node prints IPv6 SANs uncompressed (0:0:0:0:0:0:0:1); the URL parser gives the usual form. */
function normalizeIp(ip: string): string {
  return ip.includes(':') ? new URL(`http://[${ip}]/`).hostname.slice(1, -1) : ip
}

async function readPem(path: string): Promise<string> {
  try {
    const info = await stat(path)
    if (info.size > MAX_PEM_FILE_BYTES)
      throw new TlsMaterialError(
        'UNREADABLE',
        `${path} is ${info.size} bytes; a PEM certificate or key is under ${MAX_PEM_FILE_BYTES}`,
      )
    return await readFile(path, 'utf8')
  } catch (error) {
    if (error instanceof TlsMaterialError) throw error
    throw new TlsMaterialError('UNREADABLE', `cannot read ${path}: ${(error as Error).message}`, {
      cause: error,
    })
  }
}

async function exists(path: string): Promise<boolean> {
  try {
    await stat(path)
    return true
  } catch {
    return false
  }
}
