/**
 * Mesh membership of connected peers. The gater has already checked the key; here every new
 * connection must announce (through identify's agent version) the same mesh name and protocol
 * generation before RPC or frames are served. A mismatch is logged on both sides (each side sees
 * the other's announcement), counted, and the connection is closed.
 */
import type { Libp2p, PeerId } from '@libp2p/interface'
import { peerIdFromString } from '@libp2p/peer-id'
import { HELLO_TIMEOUT_MS } from '../../protocol/limits.ts'
import {
  type AgentAnnouncement,
  checkMeshCompatibility,
  type MeshIdentity,
  parseAgentVersion,
} from '../../protocol/mesh.ts'
import type { PeerEntry } from '../../protocol/rpc/methods.ts'
import type { Counters } from './counters.ts'
import type { EventRing } from './event-ring.ts'

/** Time between refusing a peer and hanging up, so the peer's own identify of us completes and it
 * can log the mismatch too instead of seeing an unexplained disconnect. */
const MISMATCH_HANGUP_GRACE_MS = 500

export type MembershipVerdict =
  | { readonly verdict: 'accept'; readonly agent: AgentAnnouncement }
  | { readonly verdict: 'reject'; readonly detail: string }

interface PeerRecord {
  deviceId: string
  state: PeerEntry['state']
  agent?: AgentAnnouncement
  refusal?: string
  lastSeen: number
  waiters: Array<(verdict: MembershipVerdict) => void>
  helloTimer?: ReturnType<typeof setTimeout>
}

export interface MembershipInit {
  local: MeshIdentity
  libp2p: Libp2p
  counters: Counters
  events: EventRing
  log: (line: string) => void
}

export class Membership {
  readonly #init: MembershipInit
  readonly #peers = new Map<string, PeerRecord>()
  readonly #unsubscribe: Array<() => void> = []

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
  }

  stop(): void {
    for (const unsubscribe of this.#unsubscribe.splice(0)) unsubscribe()
    for (const record of this.#peers.values()) clearTimeout(record.helloTimer)
  }

  /** Resolves once the peer's announcement has been checked (or the hello timeout passed). */
  verdict(deviceId: string): Promise<MembershipVerdict> {
    const record = this.#peers.get(deviceId)
    if (record?.agent !== undefined && record.state === 'connected')
      return Promise.resolve({ verdict: 'accept', agent: record.agent })
    if (record?.state === 'refused')
      return Promise.resolve({ verdict: 'reject', detail: record.refusal ?? 'refused' })
    const pending = record ?? this.#record(deviceId)
    return new Promise((resolve) => pending.waiters.push(resolve))
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

  entries(): ReadonlyArray<Readonly<Omit<PeerRecord, 'waiters' | 'helloTimer'>>> {
    return [...this.#peers.values()]
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
    const wasConnected = record.state === 'connected'
    record.state = 'connected'
    record.agent = agent
    record.refusal = undefined
    if (!wasConnected) {
      this.#init.events.push({
        level: 'info',
        type: 'peer.connected',
        message: `${agent?.kind} ${deviceId} joined`,
        peer: deviceId,
      })
    }
    this.#settle(record, { verdict: 'accept', agent: agent as AgentAnnouncement })
  }

  #onDisconnect(deviceId: string): void {
    const record = this.#peers.get(deviceId)
    if (record === undefined) return
    clearTimeout(record.helloTimer)
    record.helloTimer = undefined
    if (record.state === 'refused') return
    const wasConnected = record.state === 'connected'
    record.state = 'disconnected'
    record.lastSeen = Date.now()
    if (wasConnected) {
      this.#init.events.push({
        level: 'info',
        type: 'peer.disconnected',
        message: `${deviceId} disconnected`,
        peer: deviceId,
      })
    }
    this.#settle(record, { verdict: 'reject', detail: 'peer disconnected before its hello was checked' })
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
    for (const waiter of record.waiters.splice(0)) waiter(verdict)
  }
}
