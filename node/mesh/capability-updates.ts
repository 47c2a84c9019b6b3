/**
 * Capabilities and roles are advertised live: a member's `capability_update` replaces what it
 * reported when it joined. A capability the site binds to another device is not this member's to
 * serve, whatever it advertises: refused, counted, and never routed to.
 */

import type { Counters } from '../../runtime/counters.ts'
import type { ContextService } from '../context/context-service.ts'
import { type LifecyclePart, part } from '../lifecycle.ts'
import type { SiteBindings } from '../site/site-bindings.ts'
import type { EventRing } from './event-ring.ts'
import type { Membership } from './membership.ts'

export interface CapabilityUpdatesInit {
  deviceId: string
  context: ContextService
  membership: Membership
  bindings: SiteBindings
  counters: Counters
  events: EventRing
}

export function followCapabilityUpdates(init: CapabilityUpdatesInit): LifecyclePart {
  const { bindings, counters, events } = init
  let unsubscribe = () => {}
  return part('capability-updates', {
    start: () => {
      unsubscribe = init.context.onFrame((frame) => {
        if (frame.kind !== 'capability_update' || frame.origin === init.deviceId) return
        const refused = frame.data.capabilities.filter((capability) =>
          bindings.boundElsewhere(capability, frame.origin),
        )
        if (refused.length > 0) {
          counters.increment('capabilities.refused.unbound', refused.length)
          events.push({
            level: 'warn',
            type: 'capabilities.refused.unbound',
            message: `${frame.origin} advertised ${refused.join(', ')}, which the site assigns to other nodes`,
            peer: frame.origin,
          })
        }
        init.membership.updateInfo(frame.origin, {
          name: frame.originName,
          role: frame.data.role,
          capabilities: frame.data.capabilities.filter((capability) => !refused.includes(capability)),
        })
      })
    },
    stop: () => unsubscribe(),
  })
}
