/**
 * Operator revocations across the mesh (`trust.revokeOperator`).
 *
 * The command center's side (`openRevocationDistribution`) hands every revocation it holds to each
 * connected member and relay when it is issued, and again to each that (re)joins, as
 * node/trust/operator-distribution.ts does for certificates; it delivers, it decides nothing.
 *
 * The receiver's side (`createRevocationAdmission`) decides from its own records: the caller is a
 * command center this receiver trusts as such (its configuration), the revocation is signed by such
 * a command center, it is persisted (node/trust/revocations.ts) before the answer, and the
 * operator's trust entry (an `operator` entry only; a device entry is the local admin's) is removed
 * and its connections closed. Each refusal is counted as `trust.revocation.refused.<reason>`.
 */
import { peerIdFromString } from '@libp2p/peer-id'
import { ClawMeshError } from '../../protocol/errors.ts'
import {
  type OperatorRevocation,
  type OperatorRevocationRejection,
  verifyOperatorRevocation,
} from '../../protocol/safety/revocation.ts'
import type { NodeLibp2p } from '../libp2p/create-node-libp2p.ts'
import type { Counters } from '../mesh/counters.ts'
import type { EventRing } from '../mesh/event-ring.ts'
import { callRpc } from '../rpc/rpc-client.ts'
import type { RevocationStore } from './revocations.ts'
import type { TrustStore } from './trust-store.ts'

/** One delivery is a single small RPC; a member that does not answer in time gets it on reconnect. */
export const REVOCATION_DELIVERY_TIMEOUT_MS = 10_000

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

export interface RevocationDistributionInit {
  store: RevocationStore
  libp2p: NodeLibp2p
  rpcProtocol: string
  /** Relays and member nodes connected now. */
  targets(): string[]
  counters: Counters
  events: EventRing
  log(line: string): void
}

export interface RevocationDistribution {
  /** New revocations in the store (issued by `clawmesh trust remove`): deliver to every target now. */
  issued(revocations: readonly OperatorRevocation[]): Promise<void>
  /** A relay or member (re)connected: deliver every revocation held. */
  deliverAll(deviceId: string): Promise<void>
}

export function openRevocationDistribution(init: RevocationDistributionInit): RevocationDistribution {
  const deliver = async (deviceId: string, revocation: OperatorRevocation) => {
    const operatorId = revocation.body.operatorId
    try {
      const result = await callRpc(
        init.libp2p,
        peerIdFromString(deviceId),
        init.rpcProtocol,
        'trust.revokeOperator',
        { revocation },
        { timeoutMs: REVOCATION_DELIVERY_TIMEOUT_MS },
      )
      init.counters.increment('operator.revocation.delivered')
      if (result.added) init.log(`revocation of operator ${operatorId} accepted by ${deviceId}`)
    } catch (error) {
      init.counters.increment('operator.revocation.failed')
      const message = `${deviceId} did not accept the revocation of operator ${operatorId}: ${(error as Error).message}`
      init.events.push({ level: 'warn', type: 'operator.revocation.failed', message, peer: deviceId })
      init.log(message)
    }
  }
  return {
    async issued(revocations) {
      await Promise.all(
        init.targets().flatMap((deviceId) => revocations.map((revocation) => deliver(deviceId, revocation))),
      )
    },
    async deliverAll(deviceId) {
      for (const revocation of init.store.list()) await deliver(deviceId, revocation)
    },
  }
}

/** Closes every connection of a key (after its trust entry went). */
export async function disconnectPeer(libp2p: NodeLibp2p, deviceId: string): Promise<void> {
  await Promise.all(
    libp2p.getConnections(peerIdFromString(deviceId)).map((connection) => connection.close().catch(() => {})),
  )
}
