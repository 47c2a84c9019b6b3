/**
 * Who may call what, decided from the RECEIVER's records of the caller — never from what the caller
 * says it is. Every method of the closed table belongs to one class; every kind of caller is
 * granted a set of classes. A console key is an operator with the roles of the certificate the
 * command center holds on record for it: a viewer reads (and may hand in a signed decision, which
 * the policy then judges); it never gets a device's privileges.
 */
import type { OperatorRole } from '../safety/operator-certificate.ts'
import type { RpcMethodName } from './methods.ts'
import { OPERATOR_FIELD_METHODS } from './operator-access.ts'

/**
 * - `read`: state, frames, proposals — nothing changes.
 * - `propose`: asks for a change that still goes through the policy (a proposal, planner input).
 * - `decide`: hands in a signed approval or rejection; the policy verifies the signer's certificate.
 * - `device`: what mesh nodes do for each other (certified commands, operator hand-over, forwarded
 *   planner input).
 * - `admin`: the local admin only (the table's own `access: 'admin'` also says so).
 */
export type MethodClass = 'read' | 'propose' | 'decide' | 'device' | 'admin'

export const METHOD_CLASSES = {
  'mesh.status': 'read',
  'mesh.health': 'read',
  'mesh.peers': 'read',
  'mesh.events': 'read',
  'mesh.inspect': 'read',
  'mesh.world.query': 'read',
  'context.sync': 'read',
  // Reads only: the router refuses every actuator operation but `state` (capability-router.ts).
  'capability.invoke': 'read',
  'proposal.create': 'propose',
  'proposal.list': 'read',
  'proposal.get': 'read',
  'proposal.approve': 'decide',
  'proposal.reject': 'decide',
  'operator.issue': 'admin',
  'pair.open': 'admin',
  'telegram.pair.open': 'admin',
  'actuator.execute': 'device',
  'planner.ask': 'propose',
  'planner.status': 'read',
  'trust.addOperator': 'device',
  'mesh.message.forward': 'device',
  // Sent by command centers; the receiver also checks the caller is one it obeys.
  'trust.revokeOperator': 'device',
  // Hands back what the caller already holds, renewed: the handler checks that the caller presents
  // its own valid, unrevoked certificate.
  'operator.renew': 'read',
  'evidence.checkpoints': 'read',
  // Credentials for WebRTC: the handler also checks the caller is an operator key or the local admin.
  'console.iceServers': 'read',
  // Emergency stop (docs/safety.md): any certified role may stop, so a viewer's `decide` suffices;
  // the receiver verifies the operator's signed order itself. Clearing and cancelling propose; their
  // handlers also check the caller's roles (operator/admin, or the proposal's author).
  'safety.estop': 'decide',
  'actuator.estop': 'decide',
  'safety.estop.clear': 'propose',
  'safety.estop.status': 'read',
  'proposal.cancel': 'propose',
  'actuator.cancel': 'device',
} as const satisfies Record<RpcMethodName, MethodClass>

/** What the receiving node's records say the caller is. */
export type CallerRecord =
  | { readonly kind: 'local-admin' }
  /** A trusted device key with no operator certificate on record. */
  | { readonly kind: 'device' }
  /** A key with an operator certificate on record here (roles from it), or an operator trust entry
   * without one (no roles: it reads). */
  | { readonly kind: 'operator'; readonly roles: readonly OperatorRole[] }

const GRANTS: Readonly<Record<'device' | OperatorRole | 'none', readonly MethodClass[]>> = {
  device: ['read', 'propose', 'decide', 'device'],
  admin: ['read', 'propose', 'decide'],
  operator: ['read', 'propose', 'decide'],
  viewer: ['read', 'decide'],
  // `decide` reaches the policy, which refuses an AI operator's decision by its certificate role
  // (`ai-operator-cannot-approve`, counted and in the evidence log) rather than a silent FORBIDDEN.
  'ai-operator': ['read', 'propose', 'decide'],
  none: ['read'],
}

export type MethodAccessVerdict =
  | { readonly verdict: 'allow' }
  | { readonly verdict: 'deny'; readonly reason: string }

/** `commandCenter`: whether the receiver is a command center. Elsewhere an operator console only
 * reads the node's state and frames; everything else goes through its command center. */
export function decideMethodAccess(
  caller: CallerRecord,
  method: RpcMethodName,
  receiver: { readonly commandCenter: boolean },
): MethodAccessVerdict {
  if (caller.kind === 'local-admin') return { verdict: 'allow' }
  const methodClass: MethodClass = METHOD_CLASSES[method]
  if (caller.kind === 'operator' && !receiver.commandCenter) {
    return OPERATOR_FIELD_METHODS.has(method)
      ? { verdict: 'allow' }
      : {
          verdict: 'deny',
          reason: `an operator console may call only ${[...OPERATOR_FIELD_METHODS].join(', ')} on a field node; ${method} goes through the command center`,
        }
  }
  const grants =
    caller.kind === 'device'
      ? GRANTS.device
      : caller.roles.length === 0
        ? GRANTS.none
        : [...new Set(caller.roles.flatMap((role) => GRANTS[role]))]
  if (grants.includes(methodClass)) return { verdict: 'allow' }
  const who =
    caller.kind === 'device'
      ? 'a device'
      : caller.roles.length === 0
        ? 'an operator key with no certificate on record here (pair it again)'
        : `an operator with roles ${caller.roles.join(', ')}`
  return { verdict: 'deny', reason: `${method} (${methodClass}) is not open to ${who}` }
}
