/**
 * Static peer specs: `<deviceId>=<url>|<tlsFingerprint>|<transportLabel>` (fingerprint and label
 * optional). The device ID is pinned: it becomes the `/p2p/` part of the dialled multiaddr, so Noise
 * refuses a peer that answers at that URL with another key.
 */
import { z } from 'zod'
import { checkDeviceId } from './device-id.ts'
import { ClawMeshError } from './errors.ts'
import { parseNodeUrl } from './node-url.ts'

export const TRANSPORT_LABELS = ['relay', 'vpn', 'lan', 'local', 'mdns', 'wan'] as const
export const transportLabelSchema = z.enum(TRANSPORT_LABELS)
export type TransportLabel = z.infer<typeof transportLabelSchema>

export interface StaticPeer {
  readonly deviceId: string
  readonly url: string
  readonly multiaddr: string
  readonly secure: boolean
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
  const [url = '', fingerprint = '', label = ''] = spec.slice(separator + 1).split('|')
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
  return {
    deviceId,
    url,
    multiaddr: `${parsed.multiaddr}/p2p/${deviceId}`,
    secure: parsed.secure,
    ...(fingerprint === '' ? {} : { tlsFingerprint: fingerprint }),
    label: labelResult.data,
  }
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
    ...(fingerprint === '' ? {} : { tlsFingerprint: fingerprint }),
    label: labelResult.data,
  }
}
