/**
 * Mesh membership and peer lifecycle. The gater has already checked the key; here every new
 * connection must announce (through identify's agent version) the same mesh name and protocol
 * generation before RPC or frames are served. A mismatch is logged on both sides (each side sees the
 * other's announcement), counted, and the connection closed.
 *
 * Lifecycle: a member that announces a graceful stop is `left` at once; a member whose connection
 * drops is `suspect` until a reachability probe (ping, which redials) either succeeds (`connected`)
 * or fails (`down`). Records are keyed by device ID, so a peer that restarts with the same key comes
 * back as the same entry, never as a ghost duplicate.
 */
import type { Libp2p, PeerId } from '@libp2p/interface'
import { peerIdFromString } from '@libp2p/peer-id'
import { HELLO_TIMEOUT_MS } from '../../protocol/limits.ts'
import {
  type AgentAnnouncement,
  checkMeshCompatibility,
  checkServedPeerMesh,
  type MeshIdentity,
  parseAgentVersion,
} from '../../protocol/mesh.ts'
import type { NodeRole } from '../../protocol/roles.ts'
import type { PeerEntry } from '../../protocol/rpc/methods.ts'
import type { Counters } from '../../runtime/counters.ts'
import type { EventRing } from './event-ring.ts'

/** Time between refusing a peer and hanging up, so the peer's own identify of us completes and it
 * can log the mismatch too instead of seeing an unexplained disconnect. */
const MISMATCH_HANGUP_GRACE_MS = 500

/** How long the reachability probe after a lost connection may take before the peer is declared
 * down. A redial over a healthy LAN takes milliseconds; 5 s tolerates a congested WAN link. */
export const DOWN_PROBE_TIMEOUT_MS = 5_000

export type MembershipVerdict =
  | { readonly verdict: 'accept'; readonly agent: AgentAnnouncement }
  | { readonly verdict: 'reject'; readonly detail: string }

export interface PeerInfo {
  name: string
  role: NodeRole
  capabilities: string[]
}

interface PeerRecord {
  deviceId: string
  state: PeerEntry['state']
  agent?: AgentAnnouncement
  info?: PeerInfo
  latencyMs?: number
  refusal?: string
  lastSeen: number
  waiters: Array<(verdict: MembershipVerdict) => void>
  helloTimer?: ReturnType<typeof setTimeout>
  leaving?: boolean
}

export type PeerRecordView = Readonly<Omit<PeerRecord, 'waiters' | 'helloTimer' | 'leaving'>>

export interface MembershipInit {
  local: MeshIdentity
  libp2p: Libp2p
  counters: Counters
  events: EventRing
  log: (line: string) => void
  /** Round-trip probe to a peer (dialling it if needed); rejects when unreachable. */
  probe(deviceId: string, signal: AbortSignal): Promise<number>
  /** Fetches a member's name, role and capabilities after its hello was accepted. */
  fetchInfo(deviceId: string): Promise<PeerInfo>
  /** A peer's hello was decided (accepted, refused, or it left first): its gossip standing changed. */
  onHelloSettled?(deviceId: string): void
}

/** Whether gossip may flow to a peer: `pending` until its hello is decided, `refuse` for a refused
 * hello or one of another mesh (whatever kind it claims). */
export type GossipStanding = 'accept' | 'pending' | 'refuse'

export class Membership {
  readonly #init: MembershipInit
  readonly #peers = new Map<string, PeerRecord>()
  readonly #unsubscribe: Array<() => void> = []
  #stopped = false

  constructor(init: MembershipInit) {
    this.#init = init
  }

  start(): void {
    const { libp2p } = this.#init
    const onConnection = (event: CustomEvent<{ remotePeer: PeerId }>) =>
      this.#onConnection(event.detail.remotePeer.toString())
    const onIdentify = (event: CustomEvent<{ peerId: PeerId; agentVersion?: string }>) =>
      this.#onIdentify(event.detail.peerId.toString(), event.detail.agentVersion)
    const onDisconnect = (event: CustomEvent<PeerId>) => this.#onDisconnect(event.detail.toString())
    libp2p.addEventListener('connection:open', onConnection)
    libp2p.addEventListener('peer:identify', onIdentify)
    libp2p.addEventListener('peer:disconnect', onDisconnect)
    this.#unsubscribe.push(
      () => libp2p.removeEventListener('connection:open', onConnection),
      () => libp2p.removeEventListener('peer:identify', onIdentify),
      () => libp2p.removeEventListener('peer:disconnect', onDisconnect),
    )
    // Connections opened while libp2p started (a relay dialled for its reservation) fired their
    // events before these listeners existed: take them in now, with the hello identify stored.
    for (const connection of libp2p.getConnections()) {
      const deviceId = connection.remotePeer.toString()
      this.#onConnection(deviceId)
      libp2p.peerStore
        .get(connection.remotePeer)
        .then((peer) => {
          const agentVersion = peer.metadata.get('AgentVersion')
          if (agentVersion !== undefined && this.#peers.get(deviceId)?.state === 'verifying') {
            this.#onIdentify(deviceId, new TextDecoder().decode(agentVersion))
          }
        })
        .catch(() => {
          // Not identified yet: its peer:identify event arrives through the listener above.
        })
    }
  }

  stop(): void {
    this.#stopped = true
    for (const unsubscribe of this.#unsubscribe.splice(0)) unsubscribe()
    for (const record of this.#peers.values()) clearTimeout(record.helloTimer)
  }

  /** Resolves once the peer's announcement has been checked (or the hello timeout passed). */
  verdict(deviceId: string): Promise<MembershipVerdict> {
    const record = this.#peers.get(deviceId)
    if (record?.agent !== undefined && record.state === 'connected') {
      return Promise.resolve({ verdict: 'accept', agent: record.agent })
    }
    if (record?.state === 'refused')
      return Promise.resolve({ verdict: 'reject', detail: record.refusal ?? 'refused' })
    const pending = record ?? this.#record(deviceId)
    return new Promise((resolve) => pending.waiters.push(resolve))
  }

  /** Resolves to accept only for a peer that may be served RPC: its hello was accepted and it speaks
   * for this mesh, whatever its kind (checkServedPeerMesh). */
  async servedVerdict(deviceId: string): Promise<MembershipVerdict> {
    const hello = await this.verdict(deviceId)
    if (hello.verdict === 'reject') return hello
    const served = checkServedPeerMesh(this.#init.local, hello.agent)
    return served.verdict === 'accept'
      ? hello
      : { verdict: 'reject', detail: `${served.reason}: ${served.detail}` }
  }

  /** Synchronous, for gossipsub's peer score: no message goes to a peer before its hello is accepted. */
  gossipStanding(deviceId: string): GossipStanding {
    const record = this.#peers.get(deviceId)
    if (record === undefined || record.state === 'verifying') return 'pending'
    if (record.state === 'refused' || record.agent === undefined) return 'refuse'
    return checkServedPeerMesh(this.#init.local, record.agent).verdict === 'accept' ? 'accept' : 'refuse'
  }

  agentOf(deviceId: string): AgentAnnouncement | undefined {
    const record = this.#peers.get(deviceId)
    return record?.state === 'connected' ? record.agent : undefined
  }

  /** Members are nodes/relays of this mesh whose hello was accepted (not CLI or console clients). */
  isMember(deviceId: string): boolean {
    const agent = this.agentOf(deviceId)
    return agent !== undefined && (agent.kind === 'node' || agent.kind === 'relay')
  }

  connectedMembers(): string[] {
    return [...this.#peers.values()]
      .filter(
        (record) =>
          record.state === 'connected' && (record.agent?.kind === 'node' || record.agent?.kind === 'relay'),
      )
      .map((record) => record.deviceId)
  }

  entries(): PeerRecordView[] {
    return [...this.#peers.values()]
  }

  /** Called when a member announced a graceful stop: it is dropped at once, no probe. */
  peerLeft(deviceId: string): void {
    const record = this.#peers.get(deviceId)
    if (record === undefined) return
    record.leaving = true
    record.state = 'left'
    record.lastSeen = Date.now()
    this.#init.events.push({
      level: 'info',
      type: 'peer.left',
      message: `${this.#label(record)} left the mesh`,
      peer: deviceId,
    })
    this.#init.libp2p.hangUp(peerIdFromString(deviceId)).catch(() => {})
  }

  /** Records a capability/role update a member advertised after joining. */
  updateInfo(deviceId: string, info: PeerInfo): void {
    const record = this.#peers.get(deviceId)
    if (record !== undefined) record.info = info
  }

  #label(record: PeerRecord): string {
    return record.info?.name === undefined ? record.deviceId : `${record.info.name} (${record.deviceId})`
  }

  #record(deviceId: string): PeerRecord {
    let record = this.#peers.get(deviceId)
    if (record === undefined) {
      record = { deviceId, state: 'verifying', lastSeen: Date.now(), waiters: [] }
      this.#peers.set(deviceId, record)
    }
    return record
  }

  #onConnection(deviceId: string): void {
    const record = this.#record(deviceId)
    record.lastSeen = Date.now()
    record.leaving = false
    if (record.state === 'connected' || record.helloTimer !== undefined) return
    record.state = 'verifying'
    record.helloTimer = setTimeout(() => {
      record.helloTimer = undefined
      if (record.state !== 'verifying') return
      this.#refuse(record, 'hello-timeout', `peer did not announce its mesh within ${HELLO_TIMEOUT_MS} ms`)
    }, HELLO_TIMEOUT_MS)
  }

  #onIdentify(deviceId: string, agentVersion: string | undefined): void {
    const record = this.#record(deviceId)
    clearTimeout(record.helloTimer)
    record.helloTimer = undefined
    record.lastSeen = Date.now()
    const agent = parseAgentVersion(agentVersion)
    const compatibility = checkMeshCompatibility(this.#init.local, agent)
    if (compatibility.verdict === 'reject') {
      this.#refuse(record, compatibility.reason, compatibility.detail)
      return
    }
    const accepted = agent as AgentAnnouncement
    const wasConnected = record.state === 'connected'
    record.state = 'connected'
    record.agent = accepted
    record.refusal = undefined
    this.#settle(record, { verdict: 'accept', agent: accepted })
    if (wasConnected || (accepted.kind !== 'node' && accepted.kind !== 'relay')) return
    this.#init
      .fetchInfo(deviceId)
      .then((info) => {
        record.info = info
      })
      .catch((error: Error) => this.#init.log(`could not read status of ${deviceId}: ${error.message}`))
      .finally(() => {
        this.#init.events.push({
          level: 'info',
          type: 'peer.connected',
          message: `${this.#label(record)} joined`,
          peer: deviceId,
        })
      })
    void this.#measureLatency(record)
  }

  async #measureLatency(record: PeerRecord): Promise<void> {
    try {
      record.latencyMs = await this.#init.probe(record.deviceId, AbortSignal.timeout(DOWN_PROBE_TIMEOUT_MS))
    } catch {
      // Latency is informative only; reachability is judged on disconnect.
    }
  }

  #onDisconnect(deviceId: string): void {
    const record = this.#peers.get(deviceId)
    if (record === undefined) return
    clearTimeout(record.helloTimer)
    record.helloTimer = undefined
    this.#settle(record, { verdict: 'reject', detail: 'peer disconnected before its hello was checked' })
    if (record.state === 'refused' || record.state === 'left' || record.leaving) return
    const wasMember =
      record.state === 'connected' && (record.agent?.kind === 'node' || record.agent?.kind === 'relay')
    if (!wasMember || this.#stopped) {
      record.state = 'disconnected'
      return
    }
    record.state = 'suspect'
    this.#init.events.push({
      level: 'warn',
      type: 'peer.suspect',
      message: `lost connection to ${this.#label(record)}; probing`,
      peer: deviceId,
    })
    this.#init
      .probe(deviceId, AbortSignal.timeout(DOWN_PROBE_TIMEOUT_MS))
      .then((latencyMs) => {
        record.latencyMs = latencyMs
        if (record.state === 'suspect') record.state = 'connected'
      })
      .catch(() => {
        if (record.state !== 'suspect') return
        record.state = 'down'
        this.#init.counters.increment('peers.down')
        this.#init.events.push({
          level: 'warn',
          type: 'peer.down',
          message: `${this.#label(record)} is down (reachability probe failed)`,
          peer: deviceId,
        })
        this.#init.log(`peer ${this.#label(record)} is down: reachability probe failed`)
      })
  }

  #refuse(record: PeerRecord, reason: string, detail: string): void {
    record.state = 'refused'
    record.refusal = `${reason}: ${detail}`
    this.#init.counters.increment(`connections.refused.${reason}`)
    this.#init.events.push({
      level: 'warn',
      type: `peer.refused.${reason}`,
      message: detail,
      peer: record.deviceId,
    })
    this.#init.log(`refusing peer ${record.deviceId}: ${detail}`)
    this.#settle(record, { verdict: 'reject', detail: record.refusal })
    setTimeout(() => {
      this.#init.libp2p.hangUp(peerIdFromString(record.deviceId)).catch(() => {})
    }, MISMATCH_HANGUP_GRACE_MS).unref()
  }

  #settle(record: PeerRecord, verdict: MembershipVerdict): void {
    this.#init.onHelloSettled?.(record.deviceId)
    for (const waiter of record.waiters.splice(0)) waiter(verdict)
  }
}
