/**
 * What this node's records say a caller is — its certificate on record (issued here), else its
 * trust entry, else nothing — and from that, whether it may connect to the RPC server and which
 * methods it may call. Never what the caller claims.
 */

import {
  type CallerRecord,
  decideInvokeAccess,
  decideMethodAccess,
} from '../../protocol/rpc/caller-access.ts'
import type { CapabilityInvokeParams, RpcMethodName } from '../../protocol/rpc/methods.ts'
import type { OperatorLink } from '../../protocol/safety/approval.ts'
import type { CallerAccess } from '../../runtime/rpc/rpc-server.ts'
import type { TrustStore } from '../../runtime/trust/trust-store.ts'
import type { Membership } from '../mesh/membership.ts'
import type { ProposalAuthorRecord } from '../safety/safety-runtime.ts'
import { type ApprovalArrival, observedLinkOf } from '../safety/safety-runtime.ts'
import type { IssuedCertificates } from '../trust/issued-certificates.ts'

export interface CallerRecordsInit {
  localAdminId: string
  trust: TrustStore
  /** Operator certificates this node issued (the safety runtime's record). */
  issued: () => IssuedCertificates
  membership: Membership
  /** Whether this node is a command center (planner roles): some methods are theirs only. */
  selfIsCommandCenter: boolean
}

export interface CallerRecords {
  callerRecord(callerId: string): CallerRecord
  /** The author a proposal is recorded under: an operator with its certificate, else the device. */
  authorOf(callerId: string): ProposalAuthorRecord
  /** RpcServerInit.authorize: undefined refuses the caller. */
  authorize(callerId: string): Promise<CallerAccess | undefined>
  /** RpcServerInit.forbids: roles from records (protocol/rpc/caller-access.ts). */
  forbids(callerId: string, method: RpcMethodName): string | undefined
  /** RpcServerInit.forbidsCall: the host workflow access class of a `capability.invoke`. */
  forbidsCall(callerId: string, method: RpcMethodName, params: unknown): string | undefined
}

export function createCallerRecords(init: CallerRecordsInit): CallerRecords {
  const { localAdminId, trust } = init
  const callerRecord = (callerId: string): CallerRecord => {
    if (callerId === localAdminId) return { kind: 'local-admin' }
    const certificate = init.issued().current(callerId)
    if (certificate !== undefined) return { kind: 'operator', roles: certificate.body.roles }
    return trust.get(callerId)?.kind === 'operator' ? { kind: 'operator', roles: [] } : { kind: 'device' }
  }
  return {
    callerRecord,
    authorOf: (callerId) => {
      const certificate = init.issued().current(callerId)
      return certificate === undefined
        ? { kind: 'device', id: callerId }
        : { kind: 'operator', id: callerId, certificate }
    },
    authorize: async (callerId) => {
      if (callerId === localAdminId) return 'admin'
      if (!trust.has(callerId)) return undefined
      // Any caller but the local admin must speak for this mesh, a CLI or console key included.
      const verdict = await init.membership.servedVerdict(callerId)
      if (verdict.verdict === 'reject') return undefined
      return 'peer'
    },
    forbids: (callerId, method) => {
      const verdict = decideMethodAccess(callerRecord(callerId), method, {
        commandCenter: init.selfIsCommandCenter,
      })
      return verdict.verdict === 'deny' ? verdict.reason : undefined
    },
    forbidsCall: (callerId, method, params) => {
      if (method !== 'capability.invoke') return undefined
      const { capability, operation } = params as CapabilityInvokeParams
      const verdict = decideInvokeAccess(callerRecord(callerId), capability, operation)
      return verdict.verdict === 'deny' ? verdict.reason : undefined
    },
  }
}

type DecisionCall = { callerId: string; connection: { remoteAddr: { toString(): string } } }

/** Where a call came from, as the connection (not the caller) says; with the link a forwarding
 * planner observed, which the safety runtime believes only from a command center it obeys. */
export function arrivalOf(call: DecisionCall, params: { observedLink?: OperatorLink } = {}): ApprovalArrival {
  return {
    callerId: call.callerId,
    remoteAddr: call.connection.remoteAddr.toString(),
    ...(params.observedLink === undefined ? {} : { forwardedLink: params.observedLink }),
  }
}

/** A planner that does not hold the proposal hands the decision to the leader with the link it
 * observed the approval arrive over. */
export function withForwardedLink<P extends { approval: Record<string, unknown> }>(
  params: P,
  call: DecisionCall,
  isCommandCenter: (deviceId: string) => boolean,
): P & { observedLink: OperatorLink } {
  return { ...params, observedLink: observedLinkOf(params.approval, arrivalOf(call), isCommandCenter) }
}
