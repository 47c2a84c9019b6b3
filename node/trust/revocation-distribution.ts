/**
 * Operator revocations across the mesh (`trust.revokeOperator`).
 *
 * The command center's side (`openRevocationDistribution`) hands every revocation it holds to each
 * connected member and relay when it is issued, and again to each that (re)joins, as
 * node/trust/operator-distribution.ts does for certificates; it delivers, it decides nothing. The
 * receiver's side is revocation-admission.ts.
 */
import { peerIdFromString } from '@libp2p/peer-id'
import type { OperatorRevocation } from '../../protocol/safety/revocation.ts'
import type { Counters } from '../../runtime/counters.ts'
import type { RevocationStore } from '../../runtime/trust/revocations.ts'
import type { NodeLibp2p } from '../libp2p/create-node-libp2p.ts'
import type { EventRing } from '../mesh/event-ring.ts'
import { callRpc } from '../rpc/rpc-client.ts'

/** One delivery is a single small RPC; a member that does not answer in time gets it on reconnect. */
export const REVOCATION_DELIVERY_TIMEOUT_MS = 10_000

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
