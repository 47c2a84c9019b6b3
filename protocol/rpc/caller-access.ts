/**
 * Who may call what, decided from the RECEIVER's records of the caller — never from what the caller
 * says it is. Every method of the closed table belongs to one class; every kind of caller is
 * granted a set of classes. A console key is an operator with the roles of the certificate the
 * command center holds on record for it: a viewer reads (and may hand in a signed decision, which
 * the policy then judges); it never gets a device's privileges.
 */
import {
  HOST_WORKFLOWS,
  type HostFindingsFrameData,
  type HostWorkflow,
  isHostCapability,
} from '../host-ops/findings.ts'
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
  'context.sync.ids': 'read',
  'context.sync.frames': 'read',
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
  // Answers from this node's own rules and records; changes nothing.
  'policy.check': 'read',
  // Runs doctor (host-read) on each node; the fleet table is appended to this node's evidence log.
  'host.monitor.check': 'read',
  'host.monitor.agent': 'admin',
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

/**
 * Host workflows fall in two access classes, checked where a `capability.invoke` of a `host:*`
 * capability first arrives (the node the caller talks to) and by the planner's read tool:
 * - `host-read`: health a viewer may watch (`doctor`, `service-check`).
 * - `host-sensitive`: facts that map an attack or may carry secrets — accounts, sudo rules, open
 *   ports and firewall state (`security-check`), raw log lines (`analyze-logs`), file names and
 *   sizes under data paths (`disk-investigate`). An operator or admin only; never a viewer, never the
 *   planner (its model provider would receive them).
 * A workflow this table does not know is `host-sensitive`: the strictest class is the default.
 */
export type HostAccessClass = 'host-read' | 'host-sensitive'

export const HOST_WORKFLOW_ACCESS = {
  doctor: 'host-read',
  'service-check': 'host-read',
  'security-check': 'host-sensitive',
  'analyze-logs': 'host-sensitive',
  'disk-investigate': 'host-sensitive',
  // Paths, sizes and hashes of files; exposed secrets; the machine's alerts and their repairs.
  'data-clean-plan': 'host-sensitive',
  'hygiene-plan': 'host-sensitive',
  'autoheal-plan': 'host-sensitive',
} as const satisfies Record<HostWorkflow, HostAccessClass>

/** Whether a role may run `host-sensitive` workflows. A record over every role, so a new role in
 * OPERATOR_ROLES does not compile until someone decides. */
export const HOST_SENSITIVE_ROLES: Readonly<Record<OperatorRole, boolean>> = {
  viewer: false,
  operator: true,
  admin: true,
  // Diagnosing machines is what an AI operator is for (MCP's security_check, analyze_logs); what it
  // learns leaves only through its own tool answers, and it can still never approve.
  'ai-operator': true,
}

export function hostWorkflowAccess(operation: string): HostAccessClass {
  return (HOST_WORKFLOWS as readonly string[]).includes(operation)
    ? HOST_WORKFLOW_ACCESS[operation as HostWorkflow]
    : 'host-sensitive'
}

/** Who reads through `capability.invoke`: a caller from the receiver's records, or this node's own
 * planner (its read tool calls the router in-process). */
export type InvokeCaller = CallerRecord | { readonly kind: 'planner' }

/** The operations the planner's read tool may invoke: a sensor's `read`, an actuator's `state`. */
export const PLANNER_READ_OPERATIONS: readonly string[] = ['read', 'state']

/** The rule on the capability and operation of a `capability.invoke`, after `decideMethodAccess`
 * allowed the method itself. */
export function decideInvokeAccess(
  caller: InvokeCaller,
  capability: string,
  operation: string,
): MethodAccessVerdict {
  if (caller.kind === 'planner') {
    if (isHostCapability(capability)) {
      return {
        verdict: 'deny',
        reason: `the planner does not run host workflows (${capability} ${operation}): host facts stay with operators`,
      }
    }
    return PLANNER_READ_OPERATIONS.includes(operation)
      ? { verdict: 'allow' }
      : {
          verdict: 'deny',
          reason: `the planner's read tool invokes only ${PLANNER_READ_OPERATIONS.join(', ')}; "${operation}" goes through a proposal`,
        }
  }
  if (!isHostCapability(capability)) return { verdict: 'allow' }
  const accessClass = hostWorkflowAccess(operation)
  if (accessClass === 'host-read' || caller.kind === 'local-admin' || caller.kind === 'device') {
    return { verdict: 'allow' }
  }
  if (caller.roles.some((role) => HOST_SENSITIVE_ROLES[role])) return { verdict: 'allow' }
  const who =
    caller.roles.length === 0
      ? 'an operator key with no certificate on record here'
      : `an operator with roles ${caller.roles.join(', ')}`
  return {
    verdict: 'deny',
    reason: `${capability} ${operation} is ${accessClass}: open to operators and admins, not to ${who}`,
  }
}

/** A `host_findings` frame reaches every subscriber of the mesh topic, viewer consoles included, so
 * the frame of a `host-sensitive` run keeps each finding's check, status and risk (the Fleet view and
 * `clawmesh list` need them) but not its summary; the whole report stays in the node's evidence log
 * and in the answer to whoever was allowed to run it. */
export function broadcastForm(data: HostFindingsFrameData): HostFindingsFrameData {
  if (hostWorkflowAccess(data.workflow) === 'host-read') return data
  return { ...data, findings: data.findings.map((finding) => ({ ...finding, summary: '' })) }
}
