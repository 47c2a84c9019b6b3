/**
 * Link posture: what protects a link, reported truthfully. Every libp2p link is encrypted and
 * mutually authenticated by Noise with the devices' Ed25519 keys, whatever the transport. TLS (wss)
 * adds an outer layer that hides the libp2p handshake from on-path observers and passes HTTPS-only
 * proxies and firewalls; it adds no authentication of the peer beyond Noise (a pinned device ID is
 * what proves who answered). The WAN policy decides whether a WAN link over plain ws:// is used.
 */
import { z } from 'zod'
import type { StaticPeer, TransportLabel } from './static-peer.ts'
import { tlsPostureOf } from './tls-pin.ts'

export const WAN_POLICIES = ['warn', 'require-tls'] as const
export const wanPolicySchema = z.enum(WAN_POLICIES)
export type WanPolicy = z.infer<typeof wanPolicySchema>

export const linkPostureSchema = z.object({
  transport: z.string(),
  label: z.string().optional(),
  tls: z.enum(['tls', 'none']),
  keyPinned: z.boolean(),
  encryption: z.literal('noise'),
})
export type LinkPosture = z.infer<typeof linkPostureSchema>

/** Labels whose links cross networks we do not control. */
const WAN_LABELS: ReadonlySet<TransportLabel> = new Set(['wan', 'relay'])

export type StaticPeerPolicyVerdict =
  | { readonly verdict: 'accept' }
  | { readonly verdict: 'warn'; readonly diagnostic: string }
  | { readonly verdict: 'refuse'; readonly diagnostic: string }

/**
 * `require-tls` asks a WAN link for an outer layer whose certificate this node checks itself: a
 * pinned wss:// certificate or WebRTC's DTLS. An unpinned wss:// peer is trusted through whatever CA
 * signed its certificate, which on a WAN is not enough; under `warn` it is reported, not refused.
 */
export function checkStaticPeerPolicy(peer: StaticPeer, policy: WanPolicy): StaticPeerPolicyVerdict {
  const posture = tlsPostureOf(peer)
  if (peer.label === 'local' || posture === 'tls-pinned' || posture === 'dtls') return { verdict: 'accept' }
  const wan = WAN_LABELS.has(peer.label)
  if (posture === 'tls-unpinned') {
    if (!wan) return { verdict: 'accept' }
    const unpinned = `static peer ${peer.deviceId} (${peer.label}) uses wss:// without a certificate pin (${peer.url})`
    return policy === 'require-tls'
      ? {
          verdict: 'refuse',
          diagnostic: `${unpinned}: refused by --wan-policy require-tls; add the server certificate's pin: ${peer.deviceId}=${peer.url}|sha256:…|${peer.label} (\`clawmesh cert\` on that node prints it)`,
        }
      : {
          verdict: 'warn',
          diagnostic: `${unpinned}: its TLS layer is trusted through a CA only; pin it with |sha256:…| (\`clawmesh cert\` on that node prints the fingerprint)`,
        }
  }
  const plain = `static peer ${peer.deviceId} (${peer.label}) uses plain ws:// (${peer.url})`
  if (wan && policy === 'require-tls') {
    return {
      verdict: 'refuse',
      diagnostic: `${plain}: refused by --wan-policy require-tls; use a wss:// URL with a certificate pin`,
    }
  }
  return {
    verdict: 'warn',
    diagnostic: `${plain}: Noise still encrypts and authenticates the link, but the libp2p handshake is visible on the path and HTTPS-only proxies will block it; prefer wss://`,
  }
}

export function transportOf(remoteAddr: string): string {
  if (remoteAddr.includes('/p2p-circuit')) return remoteAddr.includes('/webrtc') ? 'webrtc' : 'relayed'
  if (remoteAddr.includes('/webrtc')) return 'webrtc'
  if (remoteAddr.includes('/wss') || remoteAddr.includes('/tls/ws')) return 'wss'
  if (remoteAddr.includes('/ws')) return 'ws'
  return 'other'
}

export function describeLinkPosture(
  remoteAddr: string,
  staticPeer: StaticPeer | undefined,
  discoveredOnLan: boolean,
): LinkPosture {
  const transport = transportOf(remoteAddr)
  const label = staticPeer?.label ?? (discoveredOnLan ? 'mdns' : undefined)
  return {
    transport,
    ...(label === undefined ? {} : { label }),
    tls: transport === 'wss' ? 'tls' : 'none',
    keyPinned: staticPeer !== undefined,
    encryption: 'noise',
  }
}
