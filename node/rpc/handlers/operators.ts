/** Operator records: certificates issued here, admitted from a command center, renewed, revoked. */

import type { RpcHandlers } from '../../../runtime/rpc/rpc-server.ts'
import type { NodeComponents } from '../../components.ts'

export type OperatorHandlers = Pick<
  RpcHandlers,
  'operator.issue' | 'operator.renew' | 'trust.addOperator' | 'trust.revokeOperator'
>

export function createOperatorHandlers(
  components: Pick<NodeComponents, 'safety' | 'operators'>,
): OperatorHandlers {
  const { admitOperator, admitRevocation, renewOperator } = components.operators
  return {
    'operator.issue': async (params) => ({
      certificate: await components.safety.issueOperatorCertificate(params),
    }),
    'trust.addOperator': (params, call) => admitOperator(call.callerId, params.certificate),
    'trust.revokeOperator': (params, call) => admitRevocation(call.callerId, params.revocation),
    'operator.renew': async (params, call) => ({
      certificate: await renewOperator(call.callerId, params.certificate),
    }),
  }
}
