/**
 * A command center issuing operator certificates: signs one with this node's key, keeps it on
 * record (node/trust/issued-certificates.ts, which later tells who a caller is) and logs the
 * issuance as a `decision` evidence entry.
 */
import {
  issueOperatorCertificate,
  type OperatorCertificate,
  type OperatorChannel,
  type OperatorRole,
} from '../../protocol/safety/index.ts'
import type { Signer } from '../../protocol/signing.ts'
import type { IssuedCertificates } from '../trust/issued-certificates.ts'
import type { EvidenceLogWriter } from './evidence-log-writer.ts'

/** Operator certificates last a week unless asked otherwise, and are renewed (`operator.renew`,
 * `clawmesh operator renew`) while the person is still trusted. A revocation reaches only the nodes
 * connected to a command center (now or when they rejoin); a node cut off from it never hears of
 * one, so the certificate's own end is the bound on how long a revoked operator's signature can
 * still pass there. A week covers a shift rotation with a weekend and a field trip without renewal. */
export const DEFAULT_OPERATOR_CERT_TTL_MS = 7 * 24 * 3_600_000

export interface OperatorCertificateFields {
  operatorId: string
  displayName: string
  roles: OperatorRole[]
  ttlMs?: number
  /** Set only by a channel surface that holds the key for the person (Telegram). */
  channel?: OperatorChannel
}

export interface CertificateIssuerInit {
  signer: Signer
  issued: Pick<IssuedCertificates, 'record'>
  evidence: Pick<EvidenceLogWriter, 'append'>
  now(): number
}

export class CertificateIssuer {
  readonly #init: CertificateIssuerInit

  constructor(init: CertificateIssuerInit) {
    this.#init = init
  }

  /** Resolves once the certificate is on record and its evidence entry is durable. */
  async issue(fields: OperatorCertificateFields): Promise<OperatorCertificate> {
    const now = this.#init.now()
    const certificate = await issueOperatorCertificate(this.#init.signer, {
      operatorId: fields.operatorId,
      displayName: fields.displayName,
      roles: fields.roles,
      issuedAt: now,
      expiresAt: now + (fields.ttlMs ?? DEFAULT_OPERATOR_CERT_TTL_MS),
      ...(fields.channel === undefined ? {} : { channel: fields.channel }),
    })
    await Promise.all([
      this.#init.issued.record(certificate),
      this.#init.evidence.append('decision', { kind: 'operator-certificate-issued', body: certificate.body }),
    ])
    return certificate
  }
}
