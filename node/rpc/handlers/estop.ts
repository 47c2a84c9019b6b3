/**
 * Emergency stop and proposal withdrawal (docs/safety.md): `safety.estop` on a command center
 * relays an operator's signed stop to every node in scope; `actuator.estop` latches this node's
 * actuators (any node, a console's direct call included: the order is verified here);
 * `safety.estop.clear` asks for L2 clear proposals; `proposal.cancel` withdraws a proposal;
 * `actuator.cancel` records a command center's signed cancel.
 */

import type { RpcHandlers } from '../../../runtime/rpc/rpc-server.ts'
import type { NodeComponents } from '../../components.ts'
import type { CallerRecords } from '../caller-records.ts'

export type EstopHandlers = Pick<
  RpcHandlers,
  | 'safety.estop'
  | 'actuator.estop'
  | 'safety.estop.clear'
  | 'safety.estop.status'
  | 'proposal.cancel'
  | 'actuator.cancel'
>

export function createEstopHandlers(
  components: Pick<NodeComponents, 'safety'>,
  callers: Pick<CallerRecords, 'authorOf' | 'callerRecord'>,
): EstopHandlers {
  const { safety } = components
  return {
    'safety.estop': (params) => safety.estop(params.order),
    'actuator.estop': (params) => safety.latchAndDriveSafe(params.order),
    'safety.estop.clear': async (params, call) => {
      const created = await safety.requestEstopClear(
        params.scope,
        call.callerId,
        callers.callerRecord(call.callerId),
      )
      return {
        proposals: created.map((record) => ({
          id: record.proposal.id,
          hash: record.hash,
          capability: record.proposal.capability,
          targetNode: record.proposal.targetNode,
        })),
      }
    },
    'safety.estop.status': () => ({
      latches: safety.latches.list().map(({ capability, latchedAt, operatorId, reason }) => ({
        capability,
        latchedAt,
        operatorId,
        reason,
      })),
    }),
    'proposal.cancel': async (params, call) => {
      const { record, actuatorConfirmed } = await safety.cancelProposal(
        params.id,
        call.callerId,
        callers.callerRecord(call.callerId),
        callers.authorOf(call.callerId),
        params.reason,
      )
      return {
        id: record.proposal.id,
        state: record.state,
        reason: record.reason ?? '',
        ...(actuatorConfirmed === undefined ? {} : { actuatorConfirmed }),
      }
    },
    'actuator.cancel': (params) => safety.cancelCommand(params.cancel),
  }
}
