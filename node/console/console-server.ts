/**
 * The command center's HTTPS server for operator consoles: the built console (browser/dist), its
 * configuration (`GET /console-config.json`) and the local CA (`GET /ca.crt`) so a tablet can
 * install it. It runs on its own port next to the libp2p WebSocket port (which speaks WSS with the
 * same certificate); see docs/console-serving.md for why they are two ports.
 *
 * Plain HTTP on the same port answers only `GET /ca.crt` (a tablet that does not trust the CA yet
 * can fetch it without a certificate warning; the user checks its fingerprint) and redirects
 * everything else to HTTPS — at one of the node's own names only (https-redirect.ts).
 */
import { createReadStream } from 'node:fs'
import { readFile, realpath, stat } from 'node:fs/promises'
import { createServer as createHttpServer, type IncomingMessage, type ServerResponse } from 'node:http'
import { createServer, type Server } from 'node:https'
import { type AddressInfo, createServer as createNetServer, type Socket } from 'node:net'
import { join, resolve } from 'node:path'
import { promisify } from 'node:util'
import { brotliCompress, gzip, constants as zlibConstants } from 'node:zlib'
import { CONSOLE_CONFIG_PATH } from '../../protocol/console-config.ts'
import type { Counters } from '../../runtime/counters.ts'
import { PACKAGE_ROOT } from '../../runtime/package-root.ts'
import type { EventRing } from '../mesh/event-ring.ts'
import { buildConsoleConfig, type ConsoleConfigSource } from './console-config.ts'
import {
  CLOSE_GRACE_MS,
  COMPRESSED_CACHE_MAX_BYTES,
  MAX_COMPRESS_BYTES,
  MIN_COMPRESS_BYTES,
} from './constants.ts'
import { httpsRedirectFor, ownNamesOf } from './https-redirect.ts'
import { missingConsolePage } from './missing-console-page.ts'
import {
  cacheControlFor,
  isCompressible,
  mimeTypeOf,
  pickEncoding,
  resolveUnderRoot,
  wantsSpaFallback,
} from './static-files.ts'

const gzipAsync = promisify(gzip)
const brotliAsync = promisify(brotliCompress)

/** Where `npm run build:console` puts the console, relative to this checkout. */
export const DEFAULT_CONSOLE_DIR = resolve(PACKAGE_ROOT, 'browser/dist')
export const CA_CERT_PATH = '/ca.crt'

export interface ConsoleServerInit {
  host: string
  port: number
  certPem: string
  keyPem: string
  /** The local CA that issued `certPem`, offered at `GET /ca.crt`. */
  caPem?: string
  consoleDir: string
  source: ConsoleConfigSource
  counters: Counters
  events: EventRing
  log: (line: string) => void
}

export interface ConsoleServer {
  readonly port: number
  /** The console URL for a host name or address (default: the listen host, or localhost). */
  url(host?: string): string
  close(): Promise<void>
}

export async function startConsoleServer(init: ConsoleServerInit): Promise<ConsoleServer> {
  const consoleDir = resolve(init.consoleDir)
  const compressed = new CompressedCache(COMPRESSED_CACHE_MAX_BYTES)
  const refuse = (response: ServerResponse, status: number, counter: string, message: string) => {
    init.counters.increment(`console.refused.${counter}`)
    send(response, status, 'text/plain; charset=utf-8', `${message}\n`, 'no-store')
  }

  const handle = async (request: IncomingMessage, response: ServerResponse): Promise<void> => {
    response.setHeader('X-Content-Type-Options', 'nosniff')
    response.setHeader('X-Frame-Options', 'DENY')
    response.setHeader('Referrer-Policy', 'no-referrer')
    if (request.method !== 'GET' && request.method !== 'HEAD') {
      response.setHeader('Allow', 'GET, HEAD')
      return refuse(response, 405, 'method', 'only GET and HEAD are served here')
    }
    const rawPath = (request.url ?? '/').split('?')[0] ?? '/'
    if (rawPath === CONSOLE_CONFIG_PATH) {
      const config = buildConsoleConfig(init.source, request.headers.host)
      return send(response, 200, 'application/json; charset=utf-8', JSON.stringify(config), 'no-store')
    }
    if (rawPath === CA_CERT_PATH) {
      if (init.caPem === undefined)
        return send(
          response,
          404,
          'text/plain; charset=utf-8',
          'this command center uses a certificate you brought: there is no local CA to install\n',
          'no-store',
        )
      response.setHeader('Content-Disposition', 'attachment; filename="clawmesh-local-ca.crt"')
      return send(response, 200, 'application/x-x509-ca-cert', init.caPem, 'no-cache')
    }
    const root = await realpath(consoleDir).catch(() => undefined)
    const hasIndex = root !== undefined && (await stat(join(root, 'index.html')).catch(() => undefined))
    if (root === undefined || !hasIndex) {
      return send(
        response,
        503,
        'text/html; charset=utf-8',
        missingConsolePage(consoleDir, init.caPem !== undefined),
        'no-store',
      )
    }
    let resolved = await resolveUnderRoot(root, rawPath)
    if (resolved.kind === 'refused') {
      init.events.push({
        level: 'warn',
        type: `console.refused.${resolved.reason}`,
        message: `console request for ${rawPath.slice(0, 200)} refused (${resolved.reason}) from ${request.socket.remoteAddress}`,
      })
      return refuse(
        response,
        resolved.reason === 'traversal' ? 403 : 400,
        resolved.reason,
        `request path refused (${resolved.reason})`,
      )
    }
    if (resolved.kind === 'missing') {
      if (!wantsSpaFallback(resolved.relativePath, request.headers.accept))
        return send(response, 404, 'text/plain; charset=utf-8', 'not found\n', 'no-cache')
      resolved = await resolveUnderRoot(root, '/index.html')
      if (resolved.kind !== 'file')
        return send(response, 404, 'text/plain; charset=utf-8', 'not found\n', 'no-cache')
    }
    const file = resolved
    const etag = `"${file.size.toString(16)}-${Math.floor(file.mtimeMs).toString(16)}"`
    response.setHeader('Content-Type', mimeTypeOf(file.path))
    response.setHeader('Cache-Control', cacheControlFor(file.relativePath))
    response.setHeader('ETag', etag)
    response.setHeader('Vary', 'Accept-Encoding')
    if (request.headers['if-none-match'] === etag) {
      response.writeHead(304)
      response.end()
      return
    }
    const encoding =
      isCompressible(file.path) && file.size >= MIN_COMPRESS_BYTES && file.size <= MAX_COMPRESS_BYTES
        ? pickEncoding(request.headers['accept-encoding'])
        : undefined
    if (encoding !== undefined) {
      const body = await compressed.get(file.path, file.mtimeMs, encoding)
      response.setHeader('Content-Encoding', encoding)
      response.setHeader('Content-Length', body.length)
      response.writeHead(200)
      response.end(request.method === 'HEAD' ? undefined : body)
      return
    }
    response.setHeader('Content-Length', file.size)
    response.writeHead(200)
    if (request.method === 'HEAD') {
      response.end()
      return
    }
    createReadStream(file.path)
      .on('error', () => response.destroy())
      .pipe(response)
  }

  const server: Server = createServer({ cert: init.certPem, key: init.keyPem }, (request, response) => {
    handle(request, response).catch((error: Error) => {
      init.counters.increment('console.errors')
      init.log(`console request ${request.url} failed: ${error.message}`)
      if (!response.headersSent)
        send(response, 500, 'text/plain; charset=utf-8', 'internal error\n', 'no-store')
      else response.destroy()
    })
  })
  // A browser that does not (yet) trust the CA aborts the handshake: count it, it is the usual
  // first-day problem on a new tablet.
  server.on('tlsClientError', () => init.counters.increment('console.tls.handshake.failed'))
  const ownNames = ownNamesOf(init.certPem, init.host)
  const plain = createHttpServer((request, response) => {
    const path = (request.url ?? '/').split('?')[0]
    if (path === CA_CERT_PATH && init.caPem !== undefined && request.method === 'GET') {
      response.setHeader('Content-Disposition', 'attachment; filename="clawmesh-local-ca.crt"')
      return send(response, 200, 'application/x-x509-ca-cert', init.caPem, 'no-cache')
    }
    const redirect = httpsRedirectFor(request.headers.host, request.url, ownNames, port)
    if (redirect.outcome === 'reject') {
      init.events.push({
        level: 'warn',
        type: `console.refused.${redirect.reason}`,
        message: `plain-HTTP request for host ${(request.headers.host ?? '').slice(0, 200)} refused (${redirect.reason}) from ${request.socket.remoteAddress}`,
      })
      // 421 Misdirected Request: this server does not answer for that host.
      return refuse(
        response,
        421,
        redirect.reason,
        `this server does not answer for that host (${redirect.reason})`,
      )
    }
    response.writeHead(308, { Location: redirect.location, 'Cache-Control': 'no-store' })
    response.end()
  })
  // The first byte tells TLS (a handshake record, 0x16) from plain HTTP (an ASCII method name).
  const sockets = new Set<Socket>()
  const front = createNetServer({ pauseOnConnect: true }, (socket) => {
    sockets.add(socket)
    socket.once('close', () => sockets.delete(socket))
    socket.once('error', () => socket.destroy())
    const dispatch = (first: Buffer) => {
      socket.unshift(first)
      ;(first[0] === 0x16 ? server : plain).emit('connection', socket)
    }
    const first = socket.read(1) as Buffer | null
    if (first !== null) return dispatch(first)
    socket.once('readable', () => {
      const late = socket.read(1) as Buffer | null
      if (late === null) socket.destroy()
      else dispatch(late)
    })
  })
  await new Promise<void>((resolveListen, reject) => {
    front.once('error', reject)
    front.listen({ host: init.host, port: init.port }, () => {
      front.off('error', reject)
      resolveListen()
    })
  })
  const port = (front.address() as AddressInfo).port
  init.log(`console served on https://${displayHost(init.host)}:${port} from ${consoleDir}`)
  return {
    port,
    url: (host = displayHost(init.host)) => `https://${host.includes(':') ? `[${host}]` : host}:${port}/`,
    close: async () => {
      const closed = new Promise<void>((resolveClose) => front.close(() => resolveClose()))
      server.closeIdleConnections()
      plain.closeIdleConnections()
      const forced = setTimeout(() => {
        for (const socket of sockets) socket.destroy()
      }, CLOSE_GRACE_MS)
      await closed
      clearTimeout(forced)
    },
  }
}

function displayHost(host: string): string {
  return host === '0.0.0.0' || host === '::' ? 'localhost' : host
}

function send(
  response: ServerResponse,
  status: number,
  contentType: string,
  body: string,
  cacheControl: string,
): void {
  const bytes = Buffer.from(body)
  response.writeHead(status, {
    'Content-Type': contentType,
    'Content-Length': bytes.length,
    'Cache-Control': cacheControl,
  })
  response.end(response.req.method === 'HEAD' ? undefined : bytes)
}

/** Compressed copies of console files, keyed by path, mtime and encoding; a prebuilt `.br`/`.gz`
 * beside the file is used as is. Oldest entries go first when the byte budget is exceeded. */
class CompressedCache {
  readonly #entries = new Map<string, Buffer>()
  #bytes = 0
  readonly maxBytes: number
  constructor(maxBytes: number) {
    this.maxBytes = maxBytes
  }

  async get(path: string, mtimeMs: number, encoding: 'br' | 'gzip'): Promise<Buffer> {
    const key = `${encoding}:${mtimeMs}:${path}`
    const cached = this.#entries.get(key)
    if (cached !== undefined) return cached
    const prebuilt = await readFile(`${path}.${encoding === 'br' ? 'br' : 'gz'}`).catch(() => undefined)
    const source = prebuilt === undefined ? await readFile(path) : undefined
    const body =
      prebuilt ??
      (encoding === 'br'
        ? await brotliAsync(source as Buffer, {
            params: { [zlibConstants.BROTLI_PARAM_QUALITY]: 9 },
          })
        : await gzipAsync(source as Buffer, { level: 9 }))
    this.#entries.set(key, body)
    this.#bytes += body.length
    for (const [oldKey, oldBody] of this.#entries) {
      if (this.#bytes <= this.maxBytes) break
      this.#entries.delete(oldKey)
      this.#bytes -= oldBody.length
    }
    return body
  }
}
