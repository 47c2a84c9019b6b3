/**
 * Keeps the console connected to its command center: dials it, redials with exponential backoff
 * when the connection drops, and redials at once when the tab becomes visible again or the device
 * comes back online (background tabs have their timers throttled, so a scheduled retry may be
 * minutes late). The state is a signal the status bar shows.
 */
import { multiaddr } from '@multiformats/multiaddr'
import { type Accessor, createSignal } from 'solid-js'
import type { ConsoleConfig } from '../../../protocol/console-config.ts'
import type { ConsoleNode } from './browser-node.ts'

/** First retry after a second; doubling up to 15 s keeps a restarted command center found quickly
 * without hammering one that is down for long. */
export const RECONNECT_INITIAL_DELAY_MS = 1_000
export const RECONNECT_MAX_DELAY_MS = 15_000
/** A dial that has not completed by then is abandoned and retried. */
export const DIAL_TIMEOUT_MS = 10_000

export type LinkState =
  | { readonly kind: 'connecting'; readonly attempt: number }
  | { readonly kind: 'connected'; readonly since: number; readonly address: string }
  | { readonly kind: 'backoff'; readonly retryAt: number; readonly attempt: number; readonly error: string }
  | { readonly kind: 'stopped' }

export interface CommandCenterLink {
  readonly state: Accessor<LinkState>
  /** Dials, and redials until stopped; a link stopped earlier starts again. */
  start(): void
  reconnectNow(): void
  stop(): void
}

export function createCommandCenterLink(node: ConsoleNode, config: ConsoleConfig): CommandCenterLink {
  return createPeerLink(node, config.commandCenter, 'the command center')
}

/** The same link to any one peer the console may dial: its command center, or a field node over
 * WebRTC through the relay (the WAN path). */
export function createPeerLink(
  node: ConsoleNode,
  target: { readonly deviceId: string; readonly addrs: readonly string[] },
  label: string,
): CommandCenterLink {
  const [state, setState] = createSignal<LinkState>({ kind: 'connecting', attempt: 0 })
  const addresses = target.addrs.map((address) => multiaddr(address))
  const commandCenter = target.deviceId
  let attempt = 0
  let timer: ReturnType<typeof setTimeout> | undefined
  let dialling = false
  let stopped = false

  const connected = () =>
    node.getConnections().some((connection) => connection.remotePeer.toString() === commandCenter)

  const dial = async () => {
    if (stopped || dialling) return
    clearTimeout(timer)
    dialling = true
    attempt++
    setState({ kind: 'connecting', attempt })
    try {
      const connection = await node.dial(addresses, { signal: AbortSignal.timeout(DIAL_TIMEOUT_MS) })
      attempt = 0
      setState({ kind: 'connected', since: Date.now(), address: connection.remoteAddr.toString() })
    } catch (error) {
      scheduleRetry((error as Error).message)
    } finally {
      dialling = false
    }
  }

  const scheduleRetry = (message: string) => {
    if (stopped) return
    const delay = Math.min(RECONNECT_MAX_DELAY_MS, RECONNECT_INITIAL_DELAY_MS * 2 ** Math.max(0, attempt - 1))
    setState({ kind: 'backoff', retryAt: Date.now() + delay, attempt, error: message })
    clearTimeout(timer)
    timer = setTimeout(() => void dial(), delay)
  }

  const onDisconnect = (event: CustomEvent<{ toString(): string }>) => {
    if (event.detail.toString() !== commandCenter || connected()) return
    scheduleRetry(`the connection to ${label} closed`)
  }
  const wake = () => {
    if (document.visibilityState === 'visible' && !connected()) void dial()
  }

  return {
    state,
    start() {
      stopped = false
      node.addEventListener('peer:disconnect', onDisconnect)
      document.addEventListener('visibilitychange', wake)
      window.addEventListener('online', wake)
      void dial()
    },
    reconnectNow: () => {
      if (!connected()) void dial()
    },
    stop() {
      stopped = true
      clearTimeout(timer)
      node.removeEventListener('peer:disconnect', onDisconnect)
      document.removeEventListener('visibilitychange', wake)
      window.removeEventListener('online', wake)
      setState({ kind: 'stopped' })
    },
  }
}
