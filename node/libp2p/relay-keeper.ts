/**
 * Keeps this node's reservation on each configured relay (`--relay`). libp2p's circuit-relay
 * transport reserves a configured relay once, when it starts listening; if the relay restarts (or
 * the link to it drops) the reservation is removed and never made again, so a node that is
 * reachable only through the relay stays unreachable until it restarts itself. The keeper checks
 * every RELAY_RESERVATION_CHECK_MS whether the node still announces an address through each relay
 * and, if not, has the idle circuit listener reserve it again. Counted as
 * `relay.reservation.{lost,renewed,failed}` in `mesh.health`.
 */
import type { Listener } from '@libp2p/interface'
import { type Multiaddr, multiaddr } from '@multiformats/multiaddr'
import type { Counters } from '../../runtime/counters.ts'
import { type LifecyclePart, part } from '../lifecycle.ts'
import type { NodeLibp2p } from './create-node-libp2p.ts'

/** How often the reservations are checked. A relay restart is a few seconds of downtime; checking
 * every two seconds makes the node reachable again about that long after the relay is back, and a
 * check with nothing to do reads two small lists. */
export const RELAY_RESERVATION_CHECK_MS = 2_000

export interface RelayKeeperInit {
  readonly libp2p: NodeLibp2p
  /** The configured relays, each `/…/p2p/<relayId>` (what `--relay` takes). */
  readonly relays: readonly string[]
  readonly counters: Pick<Counters, 'increment'>
  readonly log: (line: string) => void
  readonly intervalMs?: number
}

/** libp2p keeps its listeners in the transport manager, which the Libp2p interface does not expose;
 * `getListeners()` is part of that manager's own interface. If a release moves it the keeper finds
 * no listener and counts `relay.reservation.failed` (test/faults/relay-kill.test.ts would fail). */
function circuitListeners(libp2p: NodeLibp2p): Listener[] {
  const internals = libp2p as unknown as {
    components?: { transportManager?: { getListeners(): Listener[] } }
  }
  return (internals.components?.transportManager?.getListeners() ?? []).filter(
    (listener) => listener.constructor.name === 'CircuitRelayTransportListener',
  )
}

export class RelayKeeper {
  readonly #init: RelayKeeperInit
  readonly #relays: ReadonlyArray<{ readonly relayId: string; readonly circuit: Multiaddr }>
  /** Relays whose address this node announced at the last check. */
  readonly #held = new Set<string>()
  #timer: NodeJS.Timeout | undefined
  #checking = false

  constructor(init: RelayKeeperInit) {
    this.#init = init
    this.#relays = init.relays.map((relay) => {
      const address = multiaddr(relay)
      const relayId = address.getComponents().findLast((component) => component.name === 'p2p')?.value
      if (relayId === undefined) throw new Error(`relay address ${relay} does not end in /p2p/<relayId>`)
      return { relayId, circuit: address.encapsulate('/p2p-circuit') }
    })
  }

  start(): void {
    if (this.#relays.length === 0) return
    for (const { relayId } of this.#relays) if (this.#announces(relayId)) this.#held.add(relayId)
    this.#timer = setInterval(() => void this.check(), this.#init.intervalMs ?? RELAY_RESERVATION_CHECK_MS)
    this.#timer.unref()
  }

  stop(): void {
    clearInterval(this.#timer)
    this.#timer = undefined
  }

  /** One round: every relay the node no longer announces an address through is reserved again. */
  async check(): Promise<void> {
    if (this.#checking) return
    this.#checking = true
    try {
      for (const { relayId, circuit } of this.#relays) {
        if (this.#announces(relayId)) {
          this.#held.add(relayId)
          continue
        }
        if (this.#held.delete(relayId)) {
          this.#init.counters.increment('relay.reservation.lost')
          this.#init.log(`lost the reservation on relay ${relayId}; reserving it again`)
        }
        await this.#reserve(relayId, circuit)
      }
    } finally {
      this.#checking = false
    }
  }

  #announces(relayId: string): boolean {
    return this.#init.libp2p
      .getMultiaddrs()
      .some((address) => address.toString().includes(`/p2p/${relayId}/p2p-circuit`))
  }

  async #reserve(relayId: string, circuit: Multiaddr): Promise<void> {
    // A circuit listener whose relay went away announces nothing; listening again on it makes a new
    // reservation without adding a listener per attempt.
    const idle = circuitListeners(this.#init.libp2p).find((listener) => listener.getAddrs().length === 0)
    try {
      if (idle === undefined) throw new Error('no idle circuit-relay listener to reserve with')
      await idle.listen(circuit)
      if (!this.#announces(relayId)) return
      this.#held.add(relayId)
      this.#init.counters.increment('relay.reservation.renewed')
      this.#init.log(`reservation on relay ${relayId} renewed`)
    } catch {
      // The relay is still down (or refuses us): the next check tries again.
      this.#init.counters.increment('relay.reservation.failed')
    }
  }
}

export function keepRelayReservations(init: RelayKeeperInit): LifecyclePart {
  return part('relay-keeper', new RelayKeeper(init))
}
