/**
 * Node URLs as people type them (`ws://10.0.0.5:18789`, `https://cc.farm.lan/mesh`) turned into the
 * libp2p multiaddrs that dial them. One implementation for the CLI, the nodes and the console.
 */
import { ClawMeshError } from './errors.ts'

const DEFAULT_PORTS: Record<string, number> = { 'ws:': 80, 'wss:': 443 }

export interface ParsedNodeUrl {
  readonly secure: boolean
  readonly host: string
  readonly port: number
  readonly path: string
  readonly multiaddr: string
}

/** Accepts ws, wss, http and https URLs (http→ws, https→wss); keeps a non-root path. */
export function parseNodeUrl(input: string, defaultPort?: number): ParsedNodeUrl {
  let url: URL
  try {
    url = new URL(input.includes('://') ? input : `ws://${input}`)
  } catch {
    throw new ClawMeshError(
      'INVALID_PARAMS',
      `"${input}" is not a URL; expected ws://HOST:PORT or wss://HOST:PORT`,
    )
  }
  const protocol = url.protocol === 'http:' ? 'ws:' : url.protocol === 'https:' ? 'wss:' : url.protocol
  if (protocol !== 'ws:' && protocol !== 'wss:') {
    throw new ClawMeshError(
      'INVALID_PARAMS',
      `unsupported URL scheme ${url.protocol} in "${input}"; use ws, wss, http or https`,
    )
  }
  const secure = protocol === 'wss:'
  const port = url.port === '' ? (defaultPort ?? (DEFAULT_PORTS[protocol] as number)) : Number(url.port)
  const host = url.hostname.startsWith('[') ? url.hostname.slice(1, -1) : url.hostname
  const hostPart = /^\d{1,3}(\.\d{1,3}){3}$/.test(host)
    ? `/ip4/${host}`
    : host.includes(':')
      ? `/ip6/${host}`
      : `/dns/${host}`
  const path = url.pathname === '/' ? '' : url.pathname
  const transport = secure ? '/tls/ws' : '/ws'
  const pathPart = path === '' ? '' : `/http-path/${encodeURIComponent(path.slice(1))}`
  return { secure, host, port, path, multiaddr: `${hostPart}/tcp/${port}${transport}${pathPart}` }
}
