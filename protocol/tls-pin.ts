/**
 * TLS certificate pins for static peers (`--peer id=wss://…|sha256:…|label`): the SHA-256 of the
 * server certificate (DER), as `clawmesh cert` prints it and as Node gives it in `fingerprint256`
 * (`AB:CD:…`). A pin is what lets a node trust a wss:// peer's outer TLS layer without a CA, and what
 * `--wan-policy require-tls` asks of every WAN link; one place decides what a pin looks like, how two
 * compare and which TLS posture a static peer has.
 */
import { ClawMeshError } from './errors.ts'
import type { StaticPeer } from './static-peer.ts'

export const TLS_PIN_PREFIX = 'sha256:'
/** A SHA-256 digest is 32 bytes: 64 hex digits. */
const SHA256_HEX_LENGTH = 64
/** Hex digits of a pin shown in log lines: enough to tell two certificates apart at a glance. */
export const TLS_PIN_SHORT_HEX = 16

/** What protects a static peer's link below Noise (which every link has): a TLS layer whose
 * certificate is pinned, a TLS layer trusted through a CA only, no outer layer (ws://), or WebRTC's
 * DTLS (its certificate fingerprint is bound to the peer's key by the libp2p handshake). */
export const TLS_POSTURES = ['tls-pinned', 'tls-unpinned', 'insecure', 'dtls'] as const
export type TlsPosture = (typeof TLS_POSTURES)[number]

export type TlsPinParse =
  | { readonly ok: true; readonly pin: string }
  | { readonly ok: false; readonly reason: string }

/**
 * Reads `sha256:` followed by 64 hex digits, with or without colons between bytes, any case; the
 * canonical form is `sha256:` and lowercase hex without colons. A bare colon-hex fingerprint (as
 * `openssl x509 -fingerprint -sha256` prints it) is accepted too: 32 bytes cannot be anything else.
 */
export function parseTlsPin(input: string): TlsPinParse {
  const trimmed = input.trim()
  const body = trimmed.toLowerCase().startsWith(TLS_PIN_PREFIX)
    ? trimmed.slice(TLS_PIN_PREFIX.length)
    : trimmed
  const hex = body.replaceAll(':', '').toLowerCase()
  if (hex.length !== SHA256_HEX_LENGTH || !/^[0-9a-f]+$/.test(hex)) {
    return {
      ok: false,
      reason: `TLS pin "${input}" must be sha256: followed by the certificate's SHA-256 (64 hex digits, colons allowed), as \`clawmesh cert\` prints it`,
    }
  }
  return { ok: true, pin: `${TLS_PIN_PREFIX}${hex}` }
}

/** The canonical pin of a certificate whose SHA-256 fingerprint Node reports as `AB:CD:…`. */
export function pinFromFingerprint256(fingerprint256: string): string {
  const parsed = parseTlsPin(fingerprint256)
  if (!parsed.ok) throw new ClawMeshError('INVALID_PARAMS', parsed.reason)
  return parsed.pin
}

/** Both sides canonical; a digest is public, so a plain comparison leaks nothing worth hiding. */
export function pinsMatch(expected: string, actual: string): boolean {
  const left = parseTlsPin(expected)
  const right = parseTlsPin(actual)
  return left.ok && right.ok && left.pin === right.pin
}

/** `sha256:0123456789abcdef…` for log lines. */
export function shortPin(pin: string): string {
  const parsed = parseTlsPin(pin)
  const canonical = parsed.ok ? parsed.pin : pin
  return `${canonical.slice(0, TLS_PIN_PREFIX.length + TLS_PIN_SHORT_HEX)}…`
}

export function tlsPostureOf(peer: Pick<StaticPeer, 'multiaddr' | 'secure' | 'tlsFingerprint'>): TlsPosture {
  if (peer.multiaddr.includes('/webrtc')) return 'dtls'
  if (!peer.secure) return 'insecure'
  return peer.tlsFingerprint === undefined ? 'tls-unpinned' : 'tls-pinned'
}

export interface TlsTarget {
  readonly host: string
  readonly port: number
  /** SNI name: the DNS name dialled, or the one a `/sni/` part names; none for an IP address. */
  readonly servername?: string
}

/** Where the TLS layer of a wss static peer is, read from its dialled multiaddr. */
export function tlsTargetOf(multiaddr: string): TlsTarget | undefined {
  const match =
    /^\/(ip4|ip6|dns4|dns6|dns)\/([^/]+)\/tcp\/(\d+)\/(?:tls(?:\/sni\/([^/]+))?\/ws|wss)(?:\/|$)/.exec(
      multiaddr,
    )
  if (match === null) return undefined
  const [, family, host, port, sni] = match as unknown as [string, string, string, string, string | undefined]
  const servername = sni ?? (family.startsWith('dns') ? host : undefined)
  return { host, port: Number(port), ...(servername === undefined ? {} : { servername }) }
}
