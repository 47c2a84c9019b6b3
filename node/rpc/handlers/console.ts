/** What the operator console asks its command center for beyond the mesh methods: ICE servers. */

import type { RpcHandlers } from '../../../runtime/rpc/rpc-server.ts'
import type { NodeComponents } from '../../components.ts'
import { consoleIceServersHandler } from '../../console/console-ice-servers.ts'

export function createConsoleHandlers(
  components: Pick<NodeComponents, 'config' | 'trust'>,
): Pick<RpcHandlers, 'console.iceServers'> {
  const { trust } = components
  return {
    'console.iceServers': consoleIceServersHandler({
      iceServers: components.config.iceServers,
      isOperator: (callerId) => trust.has(callerId) && trust.get(callerId)?.kind === 'operator',
    }),
  }
}
