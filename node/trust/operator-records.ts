/**
 * A node's operator records at work: admitting operator certificates and revocations handed over
 * by command centers (`trust.addOperator`, `trust.revokeOperator`), renewing certificates
 * (`operator.renew`) and, on a command center, distributing both to members and relays. Every
 * outcome is an event and a log line; every refusal is counted and noted for `mesh.health`.
 */
import { peerIdFromString } from '@libp2p/peer-id'
import type { Counters } from '../../runtime/counters.ts'
import { createOperatorAdmission } from '../../runtime/trust/operator-admission.ts'
import { createRevocationAdmission } from '../../runtime/trust/revocation-admission.ts'
import type { RevocationStore } from '../../runtime/trust/revocations.ts'
import type { TrustStore } from '../../runtime/trust/trust-store.ts'
import type { NodeConfig } from '../config.ts'
import type { RefusalWindow } from '../health/refusal-window.ts'
import type { NodeLibp2p } from '../libp2p/create-node-libp2p.ts'
import type { EventRing } from '../mesh/event-ring.ts'
import type { Membership } from '../mesh/membership.ts'
import { DEFAULT_OPERATOR_CERT_TTL_MS, type SafetyRuntime } from '../safety/safety-runtime.ts'
import { type OperatorDistribution, openOperatorDistribution } from './operator-distribution.ts'
import { createOperatorRenewal } from './operator-renewal.ts'
import {
  disconnectPeer,
  openRevocationDistribution,
  type RevocationDistribution,
} from './revocation-distribution.ts'

export interface OperatorRecordsInit {
  stateDir: string
  relays: NodeConfig['relays']
  libp2p: NodeLibp2p
  rpcProtocol: string
  trust: TrustStore
  revocations: RevocationStore
  membership: Membership
  safety: SafetyRuntime
  selfIsCommandCenter: boolean
  isCommandCenter: (deviceId: string) => boolean
  refusals: RefusalWindow
  counters: Counters
  events: EventRing
  log: (line: string) => void
}

export interface OperatorRecords {
  admitOperator: ReturnType<typeof createOperatorAdmission>
  admitRevocation: ReturnType<typeof createRevocationAdmission>
  renewOperator: ReturnType<typeof createOperatorRenewal>
  /** Command centers only. */
  operatorDistribution: OperatorDistribution | undefined
  /** Command centers only. */
  revocationDistribution: RevocationDistribution | undefined
}

export async function openOperatorRecords(init: OperatorRecordsInit): Promise<OperatorRecords> {
  const { libp2p, trust, revocations, counters, events, log, refusals, isCommandCenter } = init
  const admitOperator = createOperatorAdmission({
    trust,
    isCommandCenter,
    isRevoked: revocations.isRevoked,
    counters,
    report: (report) => {
      if (report.outcome === 'accept') {
        const { body } = report.certificate
        const message = `operator ${body.displayName} (${body.operatorId}) trusted until ${new Date(body.expiresAt).toISOString()}, vouched for by ${report.callerId}`
        events.push({ level: 'info', type: 'trust.operator.accepted', message, peer: body.operatorId })
        log(message)
        return
      }
      refusals.note()
      const message = `operator certificate from ${report.callerId} refused (${report.reason}): ${report.detail}`
      events.push({
        level: 'warn',
        type: `trust.operator.refused.${report.reason}`,
        message,
        peer: report.callerId,
      })
      log(message)
    },
  })
  // Relays and member nodes connected now: where a command center's operator records go.
  const distributionTargets = () => {
    const relayIds = init.relays.map((relay) => /\/p2p\/([^/]+)$/.exec(relay)?.[1])
    const connectedRelays = relayIds.filter(
      (id): id is string => id !== undefined && libp2p.getConnections(peerIdFromString(id)).length > 0,
    )
    return [...new Set([...init.membership.connectedMembers(), ...connectedRelays])]
  }
  const operatorDistribution = init.selfIsCommandCenter
    ? await openOperatorDistribution({
        stateDir: init.stateDir,
        libp2p,
        rpcProtocol: init.rpcProtocol,
        targets: distributionTargets,
        isRevoked: revocations.isRevoked,
        counters,
        events,
        log,
      })
    : undefined
  const revocationDistribution = init.selfIsCommandCenter
    ? openRevocationDistribution({
        store: revocations,
        libp2p,
        rpcProtocol: init.rpcProtocol,
        targets: distributionTargets,
        counters,
        events,
        log,
      })
    : undefined
  const admitRevocation = createRevocationAdmission({
    store: revocations,
    trust,
    isCommandCenter,
    disconnect: (deviceId) => disconnectPeer(libp2p, deviceId),
    counters,
    report: (report) => {
      if (report.outcome === 'accept') {
        const { body } = report.revocation
        const message = `operator ${body.operatorId} revoked by ${body.issuerId} (${body.reason}): certificates issued until ${new Date(body.revokedAt).toISOString()} are refused`
        events.push({ level: 'warn', type: 'trust.operator.revoked', message, peer: body.operatorId })
        log(message)
        return
      }
      refusals.note()
      const message = `operator revocation from ${report.callerId} refused (${report.reason}): ${report.detail}`
      events.push({
        level: 'warn',
        type: `trust.revocation.refused.${report.reason}`,
        message,
        peer: report.callerId,
      })
      log(message)
    },
  })
  const renewOperator = createOperatorRenewal({
    selfIsCommandCenter: init.selfIsCommandCenter,
    isCommandCenter,
    isRevoked: revocations.isRevoked,
    issue: (fields) => init.safety.issueOperatorCertificate(fields),
    trust,
    distribute: (certificate) => void operatorDistribution?.paired(certificate),
    defaultTtlMs: DEFAULT_OPERATOR_CERT_TTL_MS,
    counters,
    report: (message, level, operatorId) => {
      if (level === 'warn') refusals.note()
      events.push({
        level,
        type: level === 'warn' ? 'operator.renew.refused' : 'operator.renewed',
        message,
        peer: operatorId,
      })
      log(message)
    },
  })
  return { admitOperator, admitRevocation, renewOperator, operatorDistribution, revocationDistribution }
}
