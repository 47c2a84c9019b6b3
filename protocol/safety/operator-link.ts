/**
 * Which link an approval came over, decided once for every place that needs it: the console and the
 * CLI when they sign (what they claim), and the command center when an approval arrives (what it
 * observed). "On site" is never taken from the claim alone: the receiving node classifies the
 * connection it saw, and a claim more local than that is refused (docs/safety.md).
 */
import type { OperatorLink } from './approval.ts'
import type { OperatorChannel } from './operator-certificate.ts'

/** How local each link is, most local first. An approval may claim its observed link or any less
 * local one, never a more local one. `mdns` is discovery, not a place: it ranks with the WAN. */
const LINK_LOCALITY: Readonly<Record<OperatorLink, number>> = {
  local: 0,
  lan: 1,
  vpn: 2,
  relay: 3,
  wan: 4,
  mdns: 4,
}

/** Links that put an approver on site for L3 (four eyes, one of them at the site). */
export const ON_SITE_LINKS: readonly OperatorLink[] = ['local', 'lan']

export function isOnSiteLink(link: OperatorLink): boolean {
  return ON_SITE_LINKS.includes(link)
}

/** True when `claimed` says the operator was closer to the site than `observed` shows. */
export function claimsMoreLocalThan(claimed: OperatorLink, observed: OperatorLink): boolean {
  return LINK_LOCALITY[claimed] < LINK_LOCALITY[observed]
}

/** The less local of two links (what can be believed when a claim and an observation differ). */
export function lessLocalLink(a: OperatorLink, b: OperatorLink): OperatorLink {
  return LINK_LOCALITY[a] >= LINK_LOCALITY[b] ? a : b
}

/** The link an approval counts as: what the receiving node observed, and never more local than the
 * WAN when the approver's certificate names a channel (a key the command center holds for a person
 * on a chat service: the tap came from wherever their phone was, so it never puts them on site). */
export function approvalLinkOf(observed: OperatorLink, channel: OperatorChannel | undefined): OperatorLink {
  return channel === undefined ? observed : lessLocalLink(observed, 'wan')
}

const PRIVATE_IPV4 = /^(10\.|192\.168\.|172\.(1[6-9]|2\d|3[01])\.|169\.254\.)/
const PRIVATE_IPV6 = /^(fd|fc|fe80:)/i

/** Loopback is local, private and link-local addresses are the LAN, anything else the WAN. */
export function classifyHost(host: string): OperatorLink {
  const bare = host.replace(/^\[|\]$/g, '').toLowerCase()
  if (bare === 'localhost' || bare === '::1' || bare.startsWith('127.')) return 'local'
  if (PRIVATE_IPV4.test(bare) || PRIVATE_IPV6.test(bare) || bare.endsWith('.local')) return 'lan'
  return 'wan'
}

/**
 * The link of a libp2p connection as its remote multiaddr shows it: anything through a circuit relay
 * or WebRTC (signalled across the WAN) is `relay`; otherwise the host decides. Used by the receiving
 * node on the connection it observed, and by the console on its own link.
 */
export function classifyOperatorLink(remoteAddr: string): OperatorLink {
  if (remoteAddr.includes('/p2p-circuit') || remoteAddr.includes('/webrtc')) return 'relay'
  const host = /^\/(?:ip4|ip6|dns4|dns6|dns)\/([^/]+)/.exec(remoteAddr)?.[1]
  return host === undefined ? 'wan' : classifyHost(host)
}

/** The link a CLI claims for a node URL: loopback is local, a private address the LAN, a public
 * name or address the WAN — never `lan` by default for an address it cannot place. */
export function classifyNodeUrl(url: string): OperatorLink {
  try {
    return classifyHost(new URL(url).hostname)
  } catch {
    return 'wan'
  }
}
