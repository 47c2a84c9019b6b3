/**
 * The receiver's side of operator revocations (`trust.revokeOperator`), on member nodes and relays
 * alike; the command center's side is node/trust/revocation-distribution.ts.
 *
 * `createRevocationAdmission` decides from the receiver's own records: the caller is a command
 * center this receiver trusts as such (its configuration), the revocation is signed by such a
 * command center, it is persisted (revocations.ts) before the answer, and the operator's trust
 * entry (an `operator` entry only; a device entry is the local admin's) is removed and its
 * connections closed. Each refusal is counted as `trust.revocation.refused.<reason>`.
 */
import { ClawMeshError } from '../../protocol/errors.ts'
import {
  type OperatorRevocation,
  type OperatorRevocationRejection,
  verifyOperatorRevocation,
} from '../../protocol/safety/revocation.ts'
import type { Counters } from '../counters.ts'
import type { RevocationStore } from './revocations.ts'
import type { TrustStore } from './trust-store.ts'

export const REVOCATION_ACCEPTED_COUNTER = 'trust.revocation.accepted'
export const REVOCATION_REFUSED_PREFIX = 'trust.revocation.refused.'

export type RevocationAdmissionRefusal = 'not-command-center' | 'store-full' | OperatorRevocationRejection

export type RevocationAdmissionReport =
  | {
      readonly outcome: 'accept'
      readonly callerId: string
      readonly revocation: OperatorRevocation
      readonly trustRemoved: boolean
    }
  | {
      readonly outcome: 'reject'
      readonly callerId: string
      readonly reason: RevocationAdmissionRefusal
      readonly detail: string
    }

export interface RevocationAdmissionInit {
  store: RevocationStore
  trust: TrustStore
  /** Command centers this receiver trusts (its `commandCenters` config, itself when it is one). */
  isCommandCenter(deviceId: string): boolean
  /** Closes every connection of a key that is no longer trusted. */
  disconnect(deviceId: string): Promise<void>
  counters: Counters
  report(report: RevocationAdmissionReport): void
  now?: () => number
}

export interface AdmittedRevocation {
  operatorId: string
  revokedAt: number
  /** False when this receiver already held this revocation (or a later one for the operator). */
  added: boolean
  trustRemoved: boolean
}

export function createRevocationAdmission(init: RevocationAdmissionInit) {
  const now = init.now ?? Date.now
  const refuse = (callerId: string, reason: RevocationAdmissionRefusal, detail: string): never => {
    init.counters.increment(`${REVOCATION_REFUSED_PREFIX}${reason}`)
    init.report({ outcome: 'reject', callerId, reason, detail })
    throw new ClawMeshError('FORBIDDEN', `operator revocation refused (${reason}): ${detail}`, {
      data: { reason },
    })
  }
  return async function admitRevocation(callerId: string, candidate: unknown): Promise<AdmittedRevocation> {
    if (!init.isCommandCenter(callerId))
      refuse(callerId, 'not-command-center', `${callerId} is not a command center this node trusts`)
    const verdict = await verifyOperatorRevocation(candidate, {
      trustedIssuers: (issuerId) => init.isCommandCenter(issuerId),
      now: now(),
    })
    if (verdict.outcome === 'reject') return refuse(callerId, verdict.reason, verdict.detail)
    const { revocation } = verdict
    const added = await init.store.add(revocation)
    if (added.outcome === 'full')
      refuse(callerId, 'store-full', 'this node holds the most operator revocations it may keep')
    const trustRemoved = await removeOperatorEntry(init.trust, revocation.body.operatorId)
    if (trustRemoved) await init.disconnect(revocation.body.operatorId)
    if (added.outcome === 'added') {
      init.counters.increment(REVOCATION_ACCEPTED_COUNTER)
      init.report({ outcome: 'accept', callerId, revocation, trustRemoved })
    }
    return {
      operatorId: revocation.body.operatorId,
      revokedAt: revocation.body.revokedAt,
      added: added.outcome === 'added',
      trustRemoved,
    }
  }
}

/** Removes the key's entry when it is an operator's; a device entry of the same key stays. */
export async function removeOperatorEntry(trust: TrustStore, operatorId: string): Promise<boolean> {
  return trust.get(operatorId)?.kind === 'operator' ? trust.remove(operatorId) : false
}
