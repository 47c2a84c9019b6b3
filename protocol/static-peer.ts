/**
 * Static peer specs: `<deviceId>=<url>|<tlsFingerprint>|<transportLabel>` (fingerprint and label
 * optional). The device ID is pinned: it becomes the `/p2p/` part of the dialled multiaddr, so Noise
 * refuses a peer that answers at that URL with another key. The fingerprint (`sha256:…`) pins the
 * wss:// server certificate (protocol/tls-pin.ts); the dialer checks it before every dial.
 */
import { z } from 'zod'
import { checkDeviceId } from './device-id.ts'
import { ClawMeshError } from './errors.ts'
import { parseNodeUrl } from './node-url.ts'
import { parseTlsPin, tlsTargetOf } from './tls-pin.ts'

export const TRANSPORT_LABELS = ['relay', 'vpn', 'lan', 'local', 'mdns', 'wan'] as const
export const transportLabelSchema = z.enum(TRANSPORT_LABELS)
export type TransportLabel = z.infer<typeof transportLabelSchema>

export interface StaticPeer {
  readonly deviceId: string
  readonly url: string
  readonly multiaddr: string
  readonly secure: boolean
  /** Canonical `sha256:<hex>` pin of the server certificate (protocol/tls-pin.ts). */
  readonly tlsFingerprint?: string
  readonly label: TransportLabel
}

/** Labels are a claim by the operator about the link; loopback URLs default to `local`, others to `lan`. */
export function parseStaticPeer(spec: string, defaultPort?: number): StaticPeer {
  const separator = spec.indexOf('=')
  if (separator <= 0) {
    throw new ClawMeshError(
      'INVALID_PARAMS',
      `static peer "${spec}" must look like <deviceId>=<url>[|<tlsFingerprint>][|<label>]`,
    )
  }
  const deviceId = spec.slice(0, separator)
  const check = checkDeviceId(deviceId)
  if (!check.ok) throw new ClawMeshError('INVALID_PARAMS', `static peer "${spec}": ${check.reason}`)
  const { url, fingerprint, label } = splitPeerParts(spec, spec.slice(separator + 1))
  if (url.startsWith('/')) return staticPeerFromMultiaddr(spec, deviceId, url, fingerprint, label)
  const parsed = parseNodeUrl(url, defaultPort)
  const defaultLabel: TransportLabel =
    parsed.host === '127.0.0.1' || parsed.host === 'localhost' || parsed.host === '::1' ? 'local' : 'lan'
  const labelResult = transportLabelSchema.safeParse(label === '' ? defaultLabel : label)
  if (!labelResult.success) {
    throw new ClawMeshError(
      'INVALID_PARAMS',
      `static peer "${spec}": label must be one of ${TRANSPORT_LABELS.join(', ')}`,
    )
  }
  const multiaddr = `${parsed.multiaddr}/p2p/${deviceId}`
  return {
    deviceId,
    url,
    multiaddr,
    secure: parsed.secure,
    ...pinOf(spec, fingerprint, multiaddr),
    label: labelResult.data,
  }
}

/**
 * `url`, `url|label`, `url|fingerprint`, `url|fingerprint|label`, `url||label`. A second part that
 * is a transport label is the label: `id=wss://host|wan` used to be read as a fingerprint "wan", so
 * the peer came up labelled lan and escaped the WAN policy.
 */
function splitPeerParts(spec: string, rest: string): { url: string; fingerprint: string; label: string } {
  const parts = rest.split('|')
  if (parts.length > 3) {
    throw new ClawMeshError(
      'INVALID_PARAMS',
      `static peer "${spec}" has ${parts.length - 1} "|" separators; expected <url>[|<tlsFingerprint>][|<label>]`,
    )
  }
  const [url = '', second = '', third = ''] = parts
  if (parts.length === 2 && transportLabelSchema.safeParse(second).success)
    return { url, fingerprint: '', label: second }
  return { url, fingerprint: second, label: third }
}

/** A pin must be a SHA-256 fingerprint and needs a TLS layer to pin. */
function pinOf(spec: string, fingerprint: string, multiaddr: string): { tlsFingerprint?: string } {
  if (fingerprint === '') return {}
  const parsed = parseTlsPin(fingerprint)
  if (!parsed.ok) throw new ClawMeshError('INVALID_PARAMS', `static peer "${spec}": ${parsed.reason}`)
  if (tlsTargetOf(multiaddr) === undefined) {
    throw new ClawMeshError(
      'INVALID_PARAMS',
      `static peer "${spec}": a TLS pin needs a wss:// URL (or a /tls/ws multiaddr); this address has no TLS layer to pin`,
    )
  }
  return { tlsFingerprint: parsed.pin }
}

/** A multiaddr form (`/ip4/…/p2p/<relay>/p2p-circuit/webrtc`), for peers reached through a relay. */
function staticPeerFromMultiaddr(
  spec: string,
  deviceId: string,
  address: string,
  fingerprint: string,
  label: string,
): StaticPeer {
  const labelResult = transportLabelSchema.safeParse(
    label === '' ? (address.includes('/p2p-circuit') ? 'relay' : 'lan') : label,
  )
  if (!labelResult.success) {
    throw new ClawMeshError(
      'INVALID_PARAMS',
      `static peer "${spec}": label must be one of ${TRANSPORT_LABELS.join(', ')}`,
    )
  }
  const pinned = address.endsWith(`/p2p/${deviceId}`) ? address : `${address}/p2p/${deviceId}`
  return {
    deviceId,
    url: address,
    multiaddr: pinned,
    // WebRTC links are DTLS-encrypted end to end; a relayed hop carries only Noise-encrypted signalling.
    secure: address.includes('/webrtc') || address.includes('/tls/') || address.includes('/wss'),
    ...pinOf(spec, fingerprint, pinned),
    label: labelResult.data,
  }
}
