/**
 * What a node hands a member or relay that (re)joins: the frames it may have missed (each
 * re-verified on arrival), and from a command center the operator revocations and then the
 * operators' certificates (revocations first: a certificate they cover is then refused, not
 * admitted).
 */
import type { ContextService } from '../context/context-service.ts'
import { type LifecyclePart, part } from '../lifecycle.ts'
import type { OperatorRecords } from '../trust/operator-records.ts'
import type { EventRing } from './event-ring.ts'

function onPeerConnected(name: string, events: EventRing, joined: (peer: string) => void): LifecyclePart {
  let unsubscribe = () => {}
  return part(name, {
    start: () => {
      unsubscribe = events.subscribe((event) => {
        if (event.type === 'peer.connected' && event.peer !== undefined) joined(event.peer)
      })
    },
    stop: () => unsubscribe(),
  })
}

export function syncOnJoin(init: {
  context: ContextService
  events: EventRing
  log: (line: string) => void
}): LifecyclePart {
  return onPeerConnected('sync-on-join', init.events, (peer) => {
    init.context
      .syncFrom(peer)
      .then((sync) => {
        if (sync.ingested > 0) init.log(`caught up ${sync.ingested} frames from ${peer}`)
      })
      .catch((error: Error) => init.log(`context.sync from ${peer} failed: ${error.message}`))
  })
}

export function deliverOperatorRecordsOnJoin(init: {
  operators: OperatorRecords
  events: EventRing
}): LifecyclePart {
  const { operatorDistribution, revocationDistribution } = init.operators
  return onPeerConnected('operator-delivery', init.events, (peer) => {
    if (operatorDistribution === undefined) return
    void revocationDistribution?.deliverAll(peer).then(() => operatorDistribution.deliverAll(peer))
  })
}
