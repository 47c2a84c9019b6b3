/**
 * Keeps configured static peers connected: dials each one that is not connected, and after a
 * failure or a disconnect waits with capped exponential backoff before trying again, so a dead
 * peer is not redialled in a storm. A peer with a TLS pin has its certificate checked before every
 * dial (a redial too: a certificate can change under a running link's feet); a mismatch is refused,
 * logged and counted, and nothing is dialled.
 */
import type { Libp2p } from '@libp2p/interface'
import { multiaddr } from '@multiformats/multiaddr'
import type { StaticPeer } from '../../protocol/static-peer.ts'
import {
  shortPin,
  type TlsPosture,
  type TlsTarget,
  tlsPostureOf,
  tlsTargetOf,
} from '../../protocol/tls-pin.ts'
import type { Counters } from '../../runtime/counters.ts'
import type { RefusalWindow } from '../health/refusal-window.ts'
import { checkServerPin, type TlsPinCheck } from '../tls/server-fingerprint.ts'
import type { EventRing } from './event-ring.ts'

export const STATIC_PEER_BACKOFF_INITIAL_MS = 500
/** A field link that is down for minutes should still come back within half a minute of healing. */
export const STATIC_PEER_BACKOFF_MAX_MS = 30_000
export const STATIC_PEER_DIAL_TIMEOUT_MS = 10_000
/** A WebRTC dial through a relay exchanges SDP and ICE over the relayed link, then runs DTLS and
 * Noise: several round trips more than a WebSocket dial, and much slower on a loaded field node. */
export const STATIC_PEER_WEBRTC_DIAL_TIMEOUT_MS = 30_000

export type StaticPeerState = 'connecting' | 'connected' | 'backoff'

export interface StaticPeerDialerOptions {
  counters?: Counters
  events?: EventRing
  /** Pin refusals mark the node degraded in `mesh.health`, as other refusals do. */
  refusals?: Pick<RefusalWindow, 'note'>
  /** Reads the certificate a pinned peer serves (a real TLS handshake unless a test swaps it). */
  checkPin?: (target: TlsTarget, expected: string) => Promise<TlsPinCheck>
}

/** Counted for every dial a TLS pin mismatch stopped. */
export const TLS_PIN_REFUSED_COUNTER = 'connections.refused.tls-pin'

interface DialState {
  peer: StaticPeer
  state: StaticPeerState
  attempts: number
  lastError?: string
  /** The last pin check found another certificate: no dial to this key, from anywhere. */
  pinMismatch?: boolean
  timer?: ReturnType<typeof setTimeout>
}

export class StaticPeerDialer {
  readonly #libp2p: Libp2p
  readonly #log: (line: string) => void
  readonly #options: StaticPeerDialerOptions
  readonly #states = new Map<string, DialState>()
  #stopped = false
  readonly #onDisconnect = (event: CustomEvent) => {
    const state = this.#states.get(String(event.detail))
    if (state !== undefined && state.state === 'connected')
      this.#schedule(state, STATIC_PEER_BACKOFF_INITIAL_MS)
  }

  constructor(
    libp2p: Libp2p,
    peers: readonly StaticPeer[],
    log: (line: string) => void,
    options: StaticPeerDialerOptions = {},
  ) {
    this.#libp2p = libp2p
    this.#log = log
    this.#options = options
    for (const peer of peers) this.#states.set(peer.deviceId, { peer, state: 'backoff', attempts: 0 })
  }

  start(): void {
    this.#libp2p.addEventListener('peer:disconnect', this.#onDisconnect)
    for (const state of this.#states.values()) void this.#dial(state)
  }

  stop(): void {
    this.#stopped = true
    this.#libp2p.removeEventListener('peer:disconnect', this.#onDisconnect)
    for (const state of this.#states.values()) clearTimeout(state.timer)
  }

  /**
   * For the connection gater: a pinned peer whose certificate did not match is not dialled by any
   * other path either (an RPC or gossip dial by key would use addresses identify stored, plain ws://
   * ones included). Counted with the dialer's own refusals.
   */
  refusesDialTo(deviceId: string): boolean {
    if (this.#states.get(deviceId)?.pinMismatch !== true) return false
    this.#options.counters?.increment(TLS_PIN_REFUSED_COUNTER)
    this.#options.refusals?.note()
    return true
  }

  states(): Array<{
    deviceId: string
    url: string
    label: string
    state: StaticPeerState
    attempts: number
    lastError?: string
    tls: TlsPosture
  }> {
    return [...this.#states.values()].map((state) => ({
      deviceId: state.peer.deviceId,
      url: state.peer.url,
      label: state.peer.label,
      tls: tlsPostureOf(state.peer),
      state: state.state,
      attempts: state.attempts,
      ...(state.lastError === undefined ? {} : { lastError: state.lastError }),
    }))
  }

  async #dial(state: DialState): Promise<void> {
    if (this.#stopped) return
    state.state = 'connecting'
    state.attempts += 1
    if (!(await this.#pinAllowsDial(state))) return
    try {
      await this.#libp2p.dial(multiaddr(state.peer.multiaddr), {
        signal: AbortSignal.timeout(
          state.peer.multiaddr.includes('/webrtc')
            ? STATIC_PEER_WEBRTC_DIAL_TIMEOUT_MS
            : STATIC_PEER_DIAL_TIMEOUT_MS,
        ),
      })
      state.state = 'connected'
      state.attempts = 0
      state.lastError = undefined
    } catch (error) {
      const message = (error as Error).message
      const otherKey = /Payload identity key (\S+) does not match expected remote identity key/.exec(
        message,
      )?.[1]
      if (state.lastError !== message) {
        this.#log(
          otherKey === undefined
            ? `static peer ${state.peer.deviceId} at ${state.peer.url} unreachable: ${message}`
            : `static peer ${state.peer.deviceId} at ${state.peer.url} answered with a different key (${otherKey}): refused. Check the URL or the pinned device ID.`,
        )
      }
      state.lastError = message
      this.#backOff(state)
    }
  }

  /** No pin, or the certificate served matches it; otherwise the attempt ends here, in backoff. */
  async #pinAllowsDial(state: DialState): Promise<boolean> {
    const { peer } = state
    const target = tlsTargetOf(peer.multiaddr)
    if (peer.tlsFingerprint === undefined || target === undefined) return true
    const check = await (this.#options.checkPin ?? checkServerPin)(target, peer.tlsFingerprint)
    if (this.#stopped) return false
    // Only a match lifts a mismatch: a check that could not reach the peer proves nothing.
    if (check.verdict !== 'unreachable') state.pinMismatch = check.verdict === 'mismatch'
    if (check.verdict === 'match') return true
    const message =
      check.verdict === 'mismatch'
        ? `TLS pin mismatch: expected ${shortPin(check.expected)}, got ${shortPin(check.got)}`
        : `TLS pin not checked: ${check.detail}`
    if (check.verdict === 'mismatch') {
      this.#options.counters?.increment(TLS_PIN_REFUSED_COUNTER)
      this.#options.refusals?.note()
      this.#options.events?.push({
        level: 'warn',
        type: 'peer.refused.tls-pin',
        message: `static peer ${peer.deviceId} at ${peer.url}: ${message}`,
        peer: peer.deviceId,
      })
    }
    if (state.lastError !== message) {
      this.#log(
        check.verdict === 'mismatch'
          ? `static peer ${peer.deviceId} at ${peer.url} refused: ${message}. Not dialled; check the URL or re-pin after a certificate renewal (\`clawmesh cert --show\` on that node).`
          : `static peer ${peer.deviceId} at ${peer.url} unreachable: ${message}`,
      )
    }
    state.lastError = message
    this.#backOff(state)
    return false
  }

  #backOff(state: DialState): void {
    this.#schedule(
      state,
      Math.min(
        STATIC_PEER_BACKOFF_MAX_MS,
        STATIC_PEER_BACKOFF_INITIAL_MS * 2 ** Math.min(state.attempts, 16),
      ),
    )
  }

  #schedule(state: DialState, delayMs: number): void {
    if (this.#stopped) return
    clearTimeout(state.timer)
    state.state = 'backoff'
    state.timer = setTimeout(() => void this.#dial(state), delayMs)
  }
}
