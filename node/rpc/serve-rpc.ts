/**
 * The node's RPC server as a lifecycle part: the handler table behind the caller checks of
 * caller-records.ts, every refusal noted for `mesh.health` and pushed as an event — except
 * RATE_LIMITED, counted per peer in the throttled-peers table with one event per episode, so a flood
 * does not wash the security events out of the ring.
 */

import type { Counters } from '../../runtime/counters.ts'
import { type RpcHandlers, startRpcServer } from '../../runtime/rpc/rpc-server.ts'
import type { RefusalWindow } from '../health/refusal-window.ts'
import type { ThrottledPeers } from '../health/throttled-peers.ts'
import type { NodeLibp2p } from '../libp2p/create-node-libp2p.ts'
import type { Startable } from '../lifecycle.ts'
import type { EventRing } from '../mesh/event-ring.ts'
import type { CallerRecords } from './caller-records.ts'

export interface ServeRpcInit {
  libp2p: NodeLibp2p
  protocol: string
  handlers: RpcHandlers
  callers: CallerRecords
  counters: Counters
  events: EventRing
  refusals: RefusalWindow
  throttled: ThrottledPeers
}

export class RpcServerPart implements Startable {
  readonly name = 'rpc-server'
  readonly #init: ServeRpcInit
  #stop: () => Promise<void> = async () => {}

  constructor(init: ServeRpcInit) {
    this.#init = init
  }

  async start(): Promise<void> {
    const { callers, events, refusals, throttled } = this.#init
    this.#stop = await startRpcServer({
      libp2p: this.#init.libp2p,
      protocol: this.#init.protocol,
      handlers: this.#init.handlers,
      counters: this.#init.counters,
      authorize: callers.authorize,
      // Roles from records: what the caller may call follows from its certificate on record or its
      // trust entry (protocol/rpc/caller-access.ts).
      forbids: callers.forbids,
      forbidsCall: callers.forbidsCall,
      onRefusal: (callerId, code, message) => {
        if (code === 'RATE_LIMITED' && !throttled.note(callerId, { rpcRequests: 1 })) return
        refusals.note()
        events.push({ level: 'warn', type: `rpc.refused.${code}`, message, peer: callerId })
      },
    })
  }

  stop(): Promise<void> {
    return this.#stop()
  }
}
