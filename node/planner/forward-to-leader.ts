/**
 * Leader-aware forwarding: a request that only the planner leader should answer (an approval of a
 * proposal it holds, operator input for the planner) is sent on to the leader over the ordinary
 * RPC client and its answer relayed back unchanged, errors included.
 *
 * Bounded to one hop without a wire field: a request that arrived from another mesh member (a node,
 * not a CLI or console client) is always handled where it lands, so a forwarded request is never
 * forwarded again, even while two nodes briefly disagree about who leads.
 */
import { peerIdFromString } from '@libp2p/peer-id'
import { ClawMeshError } from '../../protocol/errors.ts'
import { rpcProtocolId } from '../../protocol/mesh.ts'
import type { RpcMethodName, RpcParams, RpcResult } from '../../protocol/rpc/methods.ts'
import type { Counters } from '../../runtime/counters.ts'
import type { NodeLibp2p } from '../libp2p/create-node-libp2p.ts'
import { callRpc } from '../rpc/rpc-client.ts'
import { LEADER_FORWARD_TIMEOUT_MS } from './constants.ts'
import type { LeaderView } from './leader-view.ts'

export interface LeaderForwarderInit {
  deviceId: string
  libp2p: NodeLibp2p
  generation: number
  leaderView: LeaderView
  /** True for mesh members (nodes, relays): their requests are never forwarded again. */
  isMember(callerId: string): boolean
  counters: Counters
  log: (line: string) => void
}

export interface LeaderForwarder {
  /** The leader a request from `callerId` should go to, or undefined to handle it here (this node
   * leads, no leader is known, or the caller is a mesh member that forwarded it already). */
  leaderFor(callerId: string): string | undefined
  /** Sends the request to the current leader and returns its answer (or throws its error).
   * Throws UNAVAILABLE when no live leader is known or this node is the leader. */
  forwardToLeader<M extends RpcMethodName>(method: M, params: RpcParams<M>): Promise<RpcResult<M>>
}

export function createLeaderForwarder(init: LeaderForwarderInit): LeaderForwarder {
  const protocol = rpcProtocolId(init.generation)
  const leaderId = (): string | undefined => {
    const leader = init.leaderView.leader()
    return leader === undefined || leader.deviceId === init.deviceId ? undefined : leader.deviceId
  }
  return {
    leaderFor(callerId) {
      if (init.isMember(callerId)) return undefined
      return leaderId()
    },
    async forwardToLeader(method, params) {
      const leader = leaderId()
      if (leader === undefined) {
        throw new ClawMeshError(
          'UNAVAILABLE',
          init.leaderView.isLeader()
            ? 'this node is the planner leader; nothing to forward'
            : 'no live planner leader is known right now; retry once a planner is back',
        )
      }
      init.counters.increment(`planner.forwarded.${method}`)
      try {
        return await callRpc(init.libp2p, peerIdFromString(leader), protocol, method, params, {
          timeoutMs: LEADER_FORWARD_TIMEOUT_MS,
        })
      } catch (error) {
        if (!(error instanceof ClawMeshError)) {
          init.counters.increment('planner.forward.failed')
          init.log(`forwarding ${method} to leader ${leader} failed: ${(error as Error).message}`)
          throw new ClawMeshError('UNAVAILABLE', `the planner leader ${leader} could not be reached`, {
            cause: error,
          })
        }
        throw error
      }
    },
  }
}
