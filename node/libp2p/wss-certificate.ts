/**
 * Gives the WebSocket listener a TLS certificate so one port speaks both WS (CLI and nodes) and WSS
 * (browsers). @libp2p/websockets sniffs the first byte of each connection and hands TLS to an HTTPS
 * server it builds when it receives `certificate:provision` on the libp2p event bus (the hook
 * auto-tls uses); that bus is reachable only from a service's components, hence this service.
 */
import type { TLSCertificate } from '@libp2p/interface'

/** The part of libp2p's internal event bus this service uses. */
export interface EventBus {
  addEventListener(type: 'transport:listening', listener: () => void): void
  removeEventListener(type: 'transport:listening', listener: () => void): void
  safeDispatchEvent(type: 'certificate:provision', init: { detail: TLSCertificate }): boolean
}

export interface WssCertificateComponents {
  events: EventBus
}

/** With no certificate the service does nothing and the node listens on plain WS only. */
export function wssCertificate(certificate: TLSCertificate | undefined) {
  return (components: WssCertificateComponents) => new WssCertificate(components, certificate)
}

class WssCertificate {
  readonly #events: EventBus
  readonly #certificate: TLSCertificate | undefined
  readonly #onListening = () => {
    if (this.#certificate === undefined) return
    // A listener that already has its HTTPS server ignores a repeat, so every new listener gets it.
    this.#events.safeDispatchEvent('certificate:provision', { detail: this.#certificate })
  }

  constructor(components: WssCertificateComponents, certificate: TLSCertificate | undefined) {
    this.#events = components.events
    this.#certificate = certificate
  }

  readonly [Symbol.toStringTag] = 'clawmesh/wss-certificate'

  start(): void {
    this.#events.addEventListener('transport:listening', this.#onListening)
  }

  stop(): void {
    this.#events.removeEventListener('transport:listening', this.#onListening)
  }
}
