/**
 * Where a plain-HTTP request to the console port is sent: HTTPS on this same port, at the host the
 * request named — but only when that host is one of the node's own names (a name or address the
 * server certificate covers, or the host it listens on). The Host header is written by whoever
 * sends the request; echoing it unchecked would make the command center an open redirect and let
 * a forged header steer a tablet to another server.
 */
import { X509Certificate } from 'node:crypto'
import { isIP } from 'node:net'

export type HttpsRedirectVerdict =
  | { readonly outcome: 'accept'; readonly location: string }
  | { readonly outcome: 'reject'; readonly reason: 'host-missing' | 'host-unknown' }

export interface OwnNames {
  /** True when `host` (lowercase, IPv6 without brackets) is one of this node's names. */
  has(host: string): boolean
}

/** The names the server certificate covers (SAN DNS names, wildcards included, and IP addresses),
 * plus the listen host when it is a specific one. */
export function ownNamesOf(certPem: string, listenHost: string): OwnNames {
  const certificate = new X509Certificate(certPem)
  const listen = listenHost.toLowerCase()
  const anyAddress = listen === '0.0.0.0' || listen === '::' || listen === ''
  return {
    has: (host) =>
      (!anyAddress && host === listen) ||
      (isIP(host) === 0
        ? certificate.checkHost(host, { subject: 'never' }) !== undefined
        : certificate.checkIP(host) !== undefined),
  }
}

export function httpsRedirectFor(
  hostHeader: string | undefined,
  requestUrl: string | undefined,
  own: OwnNames,
  port: number,
): HttpsRedirectVerdict {
  if (hostHeader === undefined || hostHeader === '') return { outcome: 'reject', reason: 'host-missing' }
  const host = hostnameOf(hostHeader)
  if (host === undefined || !own.has(host)) return { outcome: 'reject', reason: 'host-unknown' }
  // Only an origin-form path is carried over: an absolute-form request target (`GET http://x/`)
  // must not leak into the Location's authority.
  const path = requestUrl?.startsWith('/') === true ? requestUrl : '/'
  const authority = host.includes(':') ? `[${host}]` : host
  return { outcome: 'accept', location: `https://${authority}:${port}${path}` }
}

/** `host:port`, `[v6]:port` or a bare host → the lowercase host without brackets. */
function hostnameOf(hostHeader: string): string | undefined {
  try {
    const url = new URL(`http://${hostHeader}/`)
    if (
      url.username !== '' ||
      url.password !== '' ||
      url.pathname !== '/' ||
      url.search !== '' ||
      url.hash !== ''
    )
      return undefined
    const host = url.hostname.toLowerCase()
    return host.startsWith('[') ? host.slice(1, -1) : host
  } catch {
    return undefined
  }
}
