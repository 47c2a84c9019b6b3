/**
 * What an operator console may do on a node that is not its command center. A console reaches a
 * field node only for the WAN path (WebRTC signalled by the relay, docs/console.md): it takes the
 * node's frames over gossip and may read its state. It may not create proposals, invoke
 * capabilities, forward planner input or call anything else: those go through the command center,
 * where the operator's certificate and approvals are checked. `actuator.execute` would be safe anyway
 * (it needs the full certificate chain), but a console has no reason to call it on a field node.
 */
import type { RpcMethodName } from './methods.ts'

export const OPERATOR_FIELD_METHODS: ReadonlySet<RpcMethodName> = new Set<RpcMethodName>([
  'mesh.status',
  'mesh.health',
  'mesh.world.query',
  'context.sync',
  'context.sync.ids',
  'context.sync.frames',
  // A console may stop a field node's actuators directly (its command center may be the thing
  // that is down); the node verifies the operator's signed order itself.
  'actuator.estop',
  'safety.estop.status',
])
