/**
 * `operator.renew` on a command center: operator certificates are short-lived (a working week,
 * DEFAULT_OPERATOR_CERT_TTL_MS), so a person who is still trusted renews theirs without pairing
 * again. The caller must present its own certificate (the caller's key is the certificate's
 * operator), still valid and not revoked in this command center's records; it gets a fresh one with
 * the same name and roles, for no longer than the one it presented was issued for. A revoked
 * operator must be enrolled again by an admin. Each refusal is counted as
 * `operator.renew.refused.<reason>`.
 */
import { ClawMeshError } from '../../protocol/errors.ts'
import {
  type OperatorCertificate,
  type OperatorCertificateRejection,
  type OperatorRole,
  verifyOperatorCertificate,
} from '../../protocol/safety/operator-certificate.ts'
import type { IsOperatorRevoked } from '../../protocol/safety/revocation.ts'
import type { Counters } from '../../runtime/counters.ts'
import type { TrustStore } from '../../runtime/trust/trust-store.ts'

export const RENEW_ACCEPTED_COUNTER = 'operator.renew.accepted'
export const RENEW_REFUSED_PREFIX = 'operator.renew.refused.'

export type RenewalRefusal = 'not-command-center' | 'not-own-certificate' | OperatorCertificateRejection

export interface OperatorRenewalInit {
  /** Renewal is a command center's act; other nodes refuse it. */
  selfIsCommandCenter: boolean
  isCommandCenter(deviceId: string): boolean
  isRevoked: IsOperatorRevoked
  /** Signs and records a certificate (SafetyRuntime.issueOperatorCertificate). */
  issue(fields: {
    operatorId: string
    displayName: string
    roles: OperatorRole[]
    ttlMs: number
  }): Promise<OperatorCertificate>
  trust: TrustStore
  /** Hands the fresh certificate to members and relays (node/trust/operator-distribution.ts). */
  distribute(certificate: OperatorCertificate): void
  defaultTtlMs: number
  counters: Counters
  report(line: string, level: 'info' | 'warn', operatorId: string): void
  now?: () => number
}

export function createOperatorRenewal(init: OperatorRenewalInit) {
  const now = init.now ?? Date.now
  const refuse = (callerId: string, reason: RenewalRefusal, detail: string): never => {
    init.counters.increment(`${RENEW_REFUSED_PREFIX}${reason}`)
    init.report(`certificate renewal for ${callerId} refused (${reason}): ${detail}`, 'warn', callerId)
    throw new ClawMeshError('FORBIDDEN', `certificate renewal refused (${reason}): ${detail}`, {
      data: { code: reason },
    })
  }
  return async function renew(callerId: string, certificate: unknown): Promise<OperatorCertificate> {
    if (!init.selfIsCommandCenter)
      refuse(callerId, 'not-command-center', 'only a command center renews operator certificates')
    const verdict = await verifyOperatorCertificate(certificate, {
      trustedIssuers: (issuerId) => init.isCommandCenter(issuerId),
      isRevoked: init.isRevoked,
      now: now(),
    })
    if (verdict.outcome === 'reject') return refuse(callerId, verdict.reason, verdict.detail)
    const { body } = verdict.certificate
    if (body.operatorId !== callerId)
      refuse(callerId, 'not-own-certificate', `the certificate is ${body.operatorId}'s, not the caller's`)
    const fresh = await init.issue({
      operatorId: body.operatorId,
      displayName: body.displayName,
      roles: [...body.roles],
      // Never longer than the admin first granted (a contractor's day pass stays a day pass).
      ttlMs: Math.min(init.defaultTtlMs, body.expiresAt - body.issuedAt),
    })
    // An operator entry lives as long as the certificate; a device entry of the same key stays as is.
    if (init.trust.get(body.operatorId)?.kind === 'operator') {
      await init.trust.add(body.operatorId, init.trust.get(body.operatorId)?.name ?? body.displayName, {
        kind: 'operator',
        expiresAt: fresh.body.expiresAt,
      })
    }
    init.distribute(fresh)
    init.counters.increment(RENEW_ACCEPTED_COUNTER)
    init.report(
      `renewed the certificate of ${body.displayName} (${body.operatorId}) until ${new Date(fresh.body.expiresAt).toISOString()}`,
      'info',
      body.operatorId,
    )
    return fresh
  }
}
