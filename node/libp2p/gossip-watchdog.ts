/**
 * Repairs a live connection whose gossip is gone. gossipsub (@libp2p/gossipsub 17.1.1) opens its
 * outbound stream to a peer once, when the registrar reports the connection (topology onConnect
 * after identify) or when the peer opens a stream to it; when a stream fails it forgets the peer
 * (a read error removes it and closes both streams) or just the stream (an outbound close), and
 * nothing opens it again while the connection stays up. The node's peer lifecycle redials only a
 * closed link, so under CPU starvation a command center kept all its connections and heard nothing
 * for minutes (docs/scale.md).
 *
 * Every GOSSIP_WATCHDOG_CHECK_MS the watchdog looks at the connections of each trusted mesh node
 * (never a CLI or console client, never a key admitted only to pair) for a working gossip stream
 * each way. A peer without one for GOSSIP_STREAM_GRACE_MS is repaired, the mildest way first:
 *  1. reopen: identify the connection again (libp2p's public API). The registrar then calls
 *     gossipsub's topology onConnect, which takes the peer back and opens an outbound stream; the
 *     peer, seeing that stream arrive, opens its own outbound stream if it has none. Our outbound
 *     stream, if any is left, is aborted first so that a fresh one reaches the peer. gossipsub
 *     reopens streams the same way for its configured direct peers only (`directConnect`).
 *  2. redial: hang up, so the peer lifecycle's reachability probe dials a new connection, on which
 *     gossipsub starts afresh.
 * Attempts back off per peer (doubling up to GOSSIP_REPAIR_BACKOFF_MAX_MS, forgotten only after the
 * peer's gossip stayed healthy that long), so a trusted peer that keeps refusing gossip streams
 * costs at most one redial per back-off. Counted in `mesh.health` as `gossip.repair.reopen`,
 * `.redial`, `.refused` (an attempt that did not bring gossip back) and `gossip.restored`, with
 * events in `mesh.events`.
 */
import type { GossipSub } from '@libp2p/gossipsub'
import type { Identify } from '@libp2p/identify'
import type { Connection, PeerId, Stream } from '@libp2p/interface'
import type { Counters } from '../../runtime/counters.ts'
import type { TrustStore } from '../../runtime/trust/trust-store.ts'
import type { RefusalWindow } from '../health/refusal-window.ts'
import { type LifecyclePart, part } from '../lifecycle.ts'
import type { EventRing } from '../mesh/event-ring.ts'
import type { Membership } from '../mesh/membership.ts'

/** How often connections are checked: a look at each connection's stream list, cheap enough to do
 * often, and short beside the grace so a repair starts soon after the grace ends. */
export const GOSSIP_WATCHDOG_CHECK_MS = 2_000

/** How long a trusted node may be connected without a working gossip stream each way before it is
 * repaired. Only peers whose hello (identify) was accepted are watched, and gossipsub opens its
 * streams in the same identify event; a stream being replaced is missing for a round trip, and on a
 * starved node a stream negotiation took seconds (docs/scale.md, dial bursts). 10 s covers those
 * while keeping a starved link's silence to seconds, not minutes. */
export const GOSSIP_STREAM_GRACE_MS = 10_000

/** Wait after a peer's first repair before the next one; doubled with each further attempt. One
 * and a half graces, so a reopen is judged (after one grace) before a redial follows it. */
export const GOSSIP_REPAIR_BACKOFF_MIN_MS = 15_000

/** Longest wait between two repairs of one peer, and how long its gossip must then stay healthy
 * before its attempts are forgotten: a trusted peer that refuses gossip streams, or breaks them each
 * time they open, gets one redial per ten minutes, not one per grace. */
export const GOSSIP_REPAIR_BACKOFF_MAX_MS = 10 * 60_000

export type GossipRepair = 'reopen' | 'redial'

/** The parts of libp2p the watchdog uses (its public interfaces, so tests can stand in for it). */
export interface GossipWatchdogLibp2p {
  getConnections(): Connection[]
  hangUp(peer: PeerId): Promise<void>
  readonly services: {
    readonly pubsub: Pick<GossipSub, 'protocols' | 'getPeers'>
    readonly identify: Pick<Identify, 'identify'>
  }
}

export interface GossipWatchdogInit {
  readonly libp2p: GossipWatchdogLibp2p
  /** A trusted mesh node whose hello was accepted: the only peers gossip is owed to and from. */
  readonly isGossipPeer: (deviceId: string) => boolean
  readonly counters: Pick<Counters, 'increment'>
  readonly events: Pick<EventRing, 'push'>
  readonly refusals: Pick<RefusalWindow, 'note'>
  readonly log: (line: string) => void
  readonly now?: () => number
  readonly checkIntervalMs?: number
}

interface PeerWatch {
  /** When the peer was first seen without working gossip in the current episode. */
  missingSince: number | undefined
  /** Since when its gossip has been working, once it had needed a repair. */
  healthySince: number | undefined
  attempts: number
  lastAttemptAt: number
  /** The last attempt, until it is judged. */
  pending: GossipRepair | undefined
  /** The last attempt judged did not bring gossip back: the next one is a redial. */
  lastRefused: boolean
}

/** Which of a peer's gossip streams work, over all its open connections that gossipsub runs on. */
interface GossipLinks {
  readonly connections: Connection[]
  outbound: boolean
  inbound: boolean
}

/** Whether a gossip stream still carries messages its way. gossipsub writes only on its outbound
 * stream and reads only its inbound one, and closes its end of a stream only to drop it, so an end
 * the remote has closed is a stream the remote no longer uses. */
function carriesGossip(stream: Stream): boolean {
  if (stream.remoteWriteStatus !== 'writable') return false
  return stream.direction === 'outbound'
    ? stream.writeStatus === 'writable'
    : stream.readStatus === 'readable' || stream.readStatus === 'paused'
}

export class GossipWatchdog {
  readonly #init: GossipWatchdogInit
  readonly #now: () => number
  readonly #watches = new Map<string, PeerWatch>()
  #timer: NodeJS.Timeout | undefined
  #checking = false

  constructor(init: GossipWatchdogInit) {
    this.#init = init
    this.#now = init.now ?? Date.now
  }

  start(): void {
    this.#timer = setInterval(() => void this.check(), this.#init.checkIntervalMs ?? GOSSIP_WATCHDOG_CHECK_MS)
    this.#timer.unref()
  }

  stop(): void {
    clearInterval(this.#timer)
    this.#timer = undefined
  }

  /** One round: judges the last repair of each peer and starts the repairs that are due. */
  async check(): Promise<void> {
    if (this.#checking) return
    this.#checking = true
    try {
      const now = this.#now()
      const links = this.#gossipLinks()
      const repairs: Promise<void>[] = []
      for (const [deviceId, link] of links) {
        if (!this.#init.isGossipPeer(deviceId)) continue
        const repair = this.#checkPeer(deviceId, link, now)
        if (repair !== undefined) repairs.push(repair)
      }
      for (const [deviceId, watch] of this.#watches) {
        // A peer that went away keeps its attempts as long as a connected one would: hanging up and
        // coming back does not clear a back-off.
        if (!links.has(deviceId) && now - watch.lastAttemptAt >= GOSSIP_REPAIR_BACKOFF_MAX_MS)
          this.#watches.delete(deviceId)
      }
      // Repairs run side by side: a peer slow to answer identify does not hold up the others.
      await Promise.all(repairs)
    } finally {
      this.#checking = false
    }
  }

  /** Judges one peer; returns the repair it starts, if one is due. */
  #checkPeer(deviceId: string, link: GossipLinks, now: number): Promise<void> | undefined {
    let watch = this.#watches.get(deviceId)
    if (link.outbound && link.inbound) {
      if (watch === undefined) return
      if (watch.pending !== undefined) this.#restored(deviceId, watch, now)
      watch.missingSince = undefined
      watch.lastRefused = false
      watch.healthySince ??= now
      if (now - watch.healthySince >= GOSSIP_REPAIR_BACKOFF_MAX_MS) this.#watches.delete(deviceId)
      return
    }
    if (watch === undefined) {
      watch = {
        missingSince: now,
        healthySince: undefined,
        attempts: 0,
        lastAttemptAt: 0,
        pending: undefined,
        lastRefused: false,
      }
      this.#watches.set(deviceId, watch)
    }
    watch.missingSince ??= now
    watch.healthySince = undefined
    if (watch.pending !== undefined && now - watch.lastAttemptAt >= GOSSIP_STREAM_GRACE_MS)
      this.#refused(deviceId, watch.pending, 'gossip did not come back')
    if (now - watch.missingSince < GOSSIP_STREAM_GRACE_MS) return
    if (watch.attempts > 0 && now - watch.lastAttemptAt < this.#backoff(watch.attempts)) return
    watch.attempts += 1
    watch.lastAttemptAt = now
    watch.pending = watch.lastRefused ? 'redial' : 'reopen'
    return this.#repair(deviceId, watch, link, now)
  }

  async #repair(deviceId: string, watch: PeerWatch, link: GossipLinks, now: number): Promise<void> {
    const repair = watch.pending as GossipRepair
    const missing =
      link.outbound || link.inbound
        ? `${link.outbound ? 'inbound' : 'outbound'} gossip stream`
        : 'gossip streams'
    const seconds = Math.round((now - (watch.missingSince ?? now)) / 1_000)
    const gone = `${deviceId} has had no ${missing} on a live connection for ${seconds} s`
    const action = repair === 'reopen' ? 'reopening it' : 'closing the connection to redial'
    this.#init.counters.increment(`gossip.repair.${repair}`)
    this.#init.events.push({
      level: 'warn',
      type: 'peer.gossip.repair',
      message: `${gone}: ${action}`,
      peer: deviceId,
    })
    this.#init.log(`${gone}: ${action}`)
    const [connection] = link.connections
    if (connection === undefined) return
    try {
      if (repair === 'redial') {
        await this.#init.libp2p.hangUp(connection.remotePeer)
        return
      }
      // gossipsub opens an outbound stream only where it has none (a stream the peer stopped reading
      // included), and a fresh one arriving is what makes the peer open its own, our inbound.
      // Aborted, not closed: gossipsub forgets a stream only once both ends are closed, and the
      // peer never closes the end it reads.
      for (const stream of this.#gossipStreams(link.connections, 'outbound'))
        stream.abort(new Error('gossip watchdog: reopening the gossip stream'))
      await this.#init.libp2p.services.identify.identify(connection, {
        signal: AbortSignal.timeout(GOSSIP_STREAM_GRACE_MS),
      })
    } catch (error) {
      this.#refused(deviceId, repair, (error as Error).message)
    }
  }

  #restored(deviceId: string, watch: PeerWatch, now: number): void {
    const afterSeconds = Math.round((now - (watch.missingSince ?? now)) / 1_000)
    const message = `gossip with ${deviceId} restored by a ${watch.pending} ${afterSeconds} s after it was found missing`
    watch.pending = undefined
    this.#init.counters.increment('gossip.restored')
    this.#init.events.push({ level: 'info', type: 'peer.gossip.restored', message, peer: deviceId })
    this.#init.log(message)
  }

  #refused(deviceId: string, repair: GossipRepair, why: string): void {
    const watch = this.#watches.get(deviceId)
    if (watch !== undefined) {
      watch.pending = undefined
      watch.lastRefused = true
    }
    this.#init.counters.increment('gossip.repair.refused')
    this.#init.refusals.note()
    const message = `${repair} of gossip with ${deviceId} failed: ${why}`
    this.#init.events.push({ level: 'warn', type: 'peer.gossip.refused', message, peer: deviceId })
    this.#init.log(message)
  }

  /** Wait after `attempts` repairs before the next one. */
  #backoff(attempts: number): number {
    if (attempts === 0) return 0
    return Math.min(GOSSIP_REPAIR_BACKOFF_MIN_MS * 2 ** (attempts - 1), GOSSIP_REPAIR_BACKOFF_MAX_MS)
  }

  /** Each connected peer's gossip streams. gossipsub does not run on limited (relayed) connections,
   * so a peer reached only through one has nothing to repair and is left out. */
  #gossipLinks(): Map<string, GossipLinks> {
    const links = new Map<string, GossipLinks>()
    for (const connection of this.#init.libp2p.getConnections()) {
      if (connection.status !== 'open' || connection.limits !== undefined) continue
      const deviceId = connection.remotePeer.toString()
      let link = links.get(deviceId)
      if (link === undefined) {
        link = { connections: [], outbound: false, inbound: false }
        links.set(deviceId, link)
      }
      link.connections.push(connection)
    }
    const known = new Set(this.#init.libp2p.services.pubsub.getPeers().map((peer) => peer.toString()))
    for (const [deviceId, link] of links) {
      // A peer gossipsub has forgotten has no working stream, whatever is left on the connection.
      if (!known.has(deviceId)) continue
      link.outbound = this.#gossipStreams(link.connections, 'outbound').some(carriesGossip)
      link.inbound = this.#gossipStreams(link.connections, 'inbound').some(carriesGossip)
    }
    return links
  }

  #gossipStreams(connections: readonly Connection[], direction: Stream['direction']): Stream[] {
    const protocols = this.#init.libp2p.services.pubsub.protocols
    return connections.flatMap((connection) =>
      connection.streams.filter(
        (stream) =>
          stream.direction === direction && stream.status === 'open' && protocols.includes(stream.protocol),
      ),
    )
  }
}

export interface WatchGossipStreamsInit extends Omit<GossipWatchdogInit, 'isGossipPeer'> {
  readonly trust: Pick<TrustStore, 'has' | 'get'>
  readonly membership: Pick<Membership, 'agentOf' | 'gossipStanding'>
}

/** The node's gossip peers: trusted device keys (an operator key is a person's, not a node's) whose
 * hello was accepted as a node of this mesh. CLI and console clients, relays and keys admitted only
 * to pair are never repaired. */
export function isGossipPeer(
  trust: Pick<TrustStore, 'has' | 'get'>,
  membership: Pick<Membership, 'agentOf' | 'gossipStanding'>,
  deviceId: string,
): boolean {
  return (
    trust.has(deviceId) &&
    trust.get(deviceId)?.kind !== 'operator' &&
    membership.agentOf(deviceId)?.kind === 'node' &&
    membership.gossipStanding(deviceId) === 'accept'
  )
}

export function watchGossipStreams(init: WatchGossipStreamsInit): LifecyclePart {
  const { trust, membership } = init
  return part(
    'gossip-watchdog',
    new GossipWatchdog({ ...init, isGossipPeer: (deviceId) => isGossipPeer(trust, membership, deviceId) }),
  )
}
