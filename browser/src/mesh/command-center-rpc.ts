/**
 * The command center's RPC methods as the console calls them: always to the one command center
 * console-config names, on the mesh generation's protocol.
 */
import { peerIdFromString } from '@libp2p/peer-id'
import type { ConsoleConfig } from '../../../protocol/console-config.ts'
import { rpcProtocolId } from '../../../protocol/mesh.ts'
import { callRpc } from '../../../protocol/rpc/client.ts'
import type { RpcMethodName, RpcParams, RpcResult } from '../../../protocol/rpc/methods.ts'
import type { ConsoleNode } from './browser-node.ts'
import { askPlanner, type PlannerAnswer, type PlannerStatus, plannerStatus } from './planner-client.ts'

export interface CommandCenterRpc {
  call<M extends RpcMethodName>(method: M, params: RpcParams<M>): Promise<RpcResult<M>>
  plannerStatus(): Promise<PlannerStatus>
  askPlanner(text: string): Promise<PlannerAnswer>
}

export function createCommandCenterRpc(node: ConsoleNode, config: ConsoleConfig): CommandCenterRpc {
  const target = peerIdFromString(config.commandCenter.deviceId)
  const protocol = rpcProtocolId(config.generation)
  return {
    call: (method, params) => callRpc(node, target, protocol, method, params),
    plannerStatus: () => plannerStatus(node, target, protocol),
    askPlanner: (text) => askPlanner(node, target, protocol, text),
  }
}
