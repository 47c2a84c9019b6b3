/**
 * The receiving side of `trust.addOperator`: a relay or member node is handed an operator
 * certificate by its command center and trusts the operator's key, as an `operator` entry that
 * expires with the certificate, so a console can reach it across WAN (docs/console.md, "WAN").
 *
 * Checked in this order, each refusal counted as `trust.operator.refused.<reason>` and reported:
 * the caller is a command center this receiver trusts as such (configuration, never the certificate
 * itself), the certificate verifies (schema, issuer is such a command center, signature, not revoked
 * in this receiver's records, validity),
 * and the key is not already trusted as a device (an operator entry must never replace a member).
 */
import { ClawMeshError } from '../../protocol/errors.ts'
import {
  type OperatorCertificate,
  verifyOperatorCertificate,
} from '../../protocol/safety/operator-certificate.ts'
import type { IsOperatorRevoked } from '../../protocol/safety/revocation.ts'
import type { Counters } from '../counters.ts'
import type { TrustStore } from './trust-store.ts'

export const OPERATOR_ACCEPTED_COUNTER = 'trust.operator.accepted'
export const OPERATOR_REFUSED_PREFIX = 'trust.operator.refused.'

export type OperatorAdmissionRefusal =
  | 'not-command-center'
  | 'malformed'
  | 'untrusted-issuer'
  | 'bad-signature'
  | 'revoked'
  | 'not-yet-valid'
  | 'expired'
  | 'device-key'

export type OperatorAdmissionReport =
  | { readonly outcome: 'accept'; readonly callerId: string; readonly certificate: OperatorCertificate }
  | {
      readonly outcome: 'reject'
      readonly callerId: string
      readonly reason: OperatorAdmissionRefusal
      readonly detail: string
    }

export interface OperatorAdmissionInit {
  trust: TrustStore
  /** Command centers this receiver trusts to vouch for operators (its `commandCenters` config). */
  isCommandCenter(deviceId: string): boolean
  /** This receiver's revocation records: a revoked operator's certificate is never admitted again
   * (a command center redelivering it on reconnect must not undo the revocation). */
  isRevoked: IsOperatorRevoked
  counters: Counters
  report(report: OperatorAdmissionReport): void
  now?: () => number
}

export interface AdmittedOperator {
  operatorId: string
  expiresAt: number
  added: boolean
}

export function createOperatorAdmission(init: OperatorAdmissionInit) {
  const now = init.now ?? Date.now
  const refuse = (callerId: string, reason: OperatorAdmissionRefusal, detail: string): never => {
    init.counters.increment(`${OPERATOR_REFUSED_PREFIX}${reason}`)
    init.report({ outcome: 'reject', callerId, reason, detail })
    throw new ClawMeshError('FORBIDDEN', `operator certificate refused (${reason}): ${detail}`, {
      data: { reason },
    })
  }
  return async function admitOperator(callerId: string, certificate: unknown): Promise<AdmittedOperator> {
    if (!init.isCommandCenter(callerId))
      refuse(callerId, 'not-command-center', `${callerId} is not a command center this node trusts`)
    const verdict = await verifyOperatorCertificate(certificate, {
      trustedIssuers: (issuerId) => init.isCommandCenter(issuerId),
      isRevoked: init.isRevoked,
      now: now(),
    })
    if (verdict.outcome === 'reject') return refuse(callerId, verdict.reason, verdict.detail)
    const { body } = verdict.certificate
    const existing = init.trust.get(body.operatorId)
    if (existing !== undefined && existing.kind !== 'operator')
      refuse(callerId, 'device-key', `${body.operatorId} is trusted here as a device, not an operator`)
    const added = await init.trust.add(body.operatorId, body.displayName, {
      kind: 'operator',
      expiresAt: body.expiresAt,
    })
    init.counters.increment(OPERATOR_ACCEPTED_COUNTER)
    init.report({ outcome: 'accept', callerId, certificate: verdict.certificate })
    return { operatorId: body.operatorId, expiresAt: body.expiresAt, added }
  }
}
