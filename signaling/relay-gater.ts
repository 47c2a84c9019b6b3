/**
 * The relay's connection gater: members only, at every step. Untrusted keys are refused right after
 * the Noise handshake (the node's trust gater), untrusted peers get no reservation, and a relayed
 * connection needs BOTH ends trusted — which still holds when trust is removed while a reservation is
 * live. An operator key (a console, trusted until its certificate expires) holds no reservation and
 * may only reach a device through the relay, never another console. Every refusal is counted under
 * `refused.*` and logged.
 */
import type { ConnectionGater, PeerId } from '@libp2p/interface'
import type { Counters } from '../runtime/counters.ts'
import { createTrustGater } from '../runtime/trust/trust-gater.ts'

export const REFUSED_PREFIX = 'refused.'
export const RELAYED_ACCEPTED = 'relayed-connections.accepted'

export interface RelayGaterInit {
  isTrusted(deviceId: string): boolean
  /** Keys trusted as operators (consoles) rather than devices. */
  isOperator?(deviceId: string): boolean
  counters: Counters
  log(line: string): void
}

export function createRelayGater(init: RelayGaterInit): ConnectionGater {
  const refuse = (counter: string, line: string) => {
    init.counters.increment(`${REFUSED_PREFIX}${counter}`)
    init.log(line)
  }
  const isTrusted = (peer: PeerId) => init.isTrusted(peer.toString())
  const isOperator = (peer: PeerId) => init.isOperator?.(peer.toString()) ?? false
  return {
    ...createTrustGater({
      isAllowed: init.isTrusted,
      onRefused: (direction, deviceId) =>
        refuse(`connection.${direction}`, `refused ${direction} connection: ${deviceId} is not trusted`),
    }),
    denyInboundRelayReservation: (source) => {
      if (isTrusted(source) && isOperator(source)) {
        refuse('reservation.operator', `refused reservation: ${source} is an operator console, not a device`)
        return true
      }
      if (isTrusted(source)) return false
      refuse('reservation', `refused reservation: ${source} is not trusted`)
      return true
    },
    denyOutboundRelayedConnection: (source, destination) => {
      const untrusted = [source, destination].filter((peer) => !isTrusted(peer))
      if (untrusted.length === 0 && isOperator(source) && isOperator(destination)) {
        refuse(
          'relayed-connection.operators',
          `refused relayed connection ${source} -> ${destination}: both ends are operator consoles`,
        )
        return true
      }
      if (untrusted.length === 0) {
        init.counters.increment(RELAYED_ACCEPTED)
        return false
      }
      refuse(
        'relayed-connection',
        `refused relayed connection ${source} -> ${destination}: ${untrusted.join(', ')} not trusted`,
      )
      return true
    },
  }
}
