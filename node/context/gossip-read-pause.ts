/**
 * Stops reading a flooding peer's gossip while its flood penalty lasts (issue #20, Floods).
 *
 * Graylisting (origin-throttle.ts) makes gossipsub drop what a flooder sends before hashing or
 * validating it, but every message is still decrypted, demultiplexed and decoded first: a trusted
 * peer publishing as fast as it can kept a node at a quarter of a core and its event loop late by
 * tens of milliseconds, which is what a well-behaved peer's status call and frames then wait for.
 * Pausing the flooder's inbound gossip streams stops yamux's window updates on them, so once the
 * window in flight is read the flooder's own stack holds its messages: the flood costs this node
 * nothing more until the penalty ends. Only the gossip streams pause — the flooder's RPC streams,
 * and with them an emergency stop sent to or by it, and gossip this node sends it, carry on.
 *
 * While paused a peer cannot overrun, so the penalty ends on time; the streams are then resumed, the
 * data held in the window is read (and judged by the throttle like any other), and a peer still
 * flooding is penalised and paused again. A stream the peer opens during the pause is read, under
 * the graylisting alone, as before this module existed.
 */
import type { Connection, Stream } from '@libp2p/interface'
import type { Counters } from '../../runtime/counters.ts'

/** What this needs of a libp2p node: its open connections. */
export interface GossipReadPauseHost {
  getConnections(): Connection[]
}

export class GossipReadPause {
  readonly #host: GossipReadPauseHost
  readonly #protocols: ReadonlySet<string>
  readonly #counters: Counters | undefined
  readonly #resumes = new Map<string, ReturnType<typeof setTimeout>>()

  constructor(host: GossipReadPauseHost, gossipProtocols: readonly string[], counters?: Counters) {
    this.#host = host
    this.#protocols = new Set(gossipProtocols)
    this.#counters = counters
  }

  /** Pauses `deviceId`'s inbound gossip streams for `durationMs`; the number paused. A pause already
   * running is extended. */
  pause(deviceId: string, durationMs: number): number {
    const streams = this.#inboundGossip(deviceId).filter((stream) => stream.readStatus === 'readable')
    for (const stream of streams) stream.pause()
    if (streams.length > 0) this.#counters?.increment('gossip.reads-paused.flood', streams.length)
    clearTimeout(this.#resumes.get(deviceId))
    const timer = setTimeout(() => this.resume(deviceId), durationMs)
    timer.unref()
    this.#resumes.set(deviceId, timer)
    return streams.length
  }

  /** Reads `deviceId`'s paused gossip streams again (also when its penalty ends). */
  resume(deviceId: string): void {
    clearTimeout(this.#resumes.get(deviceId))
    this.#resumes.delete(deviceId)
    for (const stream of this.#inboundGossip(deviceId)) if (stream.readStatus === 'paused') stream.resume()
  }

  /** Whether any of `deviceId`'s inbound gossip streams is paused. */
  isPaused(deviceId: string): boolean {
    return this.#inboundGossip(deviceId).some((stream) => stream.readStatus === 'paused')
  }

  stop(): void {
    for (const timer of this.#resumes.values()) clearTimeout(timer)
    this.#resumes.clear()
  }

  #inboundGossip(deviceId: string): Stream[] {
    return this.#host
      .getConnections()
      .filter((connection) => connection.remotePeer.toString() === deviceId)
      .flatMap((connection) =>
        connection.streams.filter(
          (stream) => stream.direction === 'inbound' && this.#protocols.has(stream.protocol ?? ''),
        ),
      )
  }
}
