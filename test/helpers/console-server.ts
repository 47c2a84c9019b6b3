/**
 * A loopback static server for the built console and its `/console-config.json`, standing in for
 * the command center's HTTPS server in browser tests. http://127.0.0.1 is a secure context, so
 * WebCrypto and the service worker behave as they do over HTTPS.
 */
import { readFile } from 'node:fs/promises'
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { extname, join, normalize } from 'node:path'
import { CONSOLE_CONFIG_PATH, type ConsoleConfig } from '../../protocol/console-config.ts'
import { CONSOLE_DIST } from './console-build.ts'

const CONTENT_TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json',
  '.webmanifest': 'application/manifest+json',
  '.png': 'image/png',
}

export interface ConsoleServer {
  readonly url: string
  readonly port: number
  close(): Promise<void>
}

/** Serves browser/dist at `/`; `config()` is read per request so a test can change it. */
export async function startConsoleServer(config: () => ConsoleConfig, port = 0): Promise<ConsoleServer> {
  const server: Server = createServer((request, response) => {
    void (async () => {
      const path = new URL(request.url ?? '/', 'http://127.0.0.1').pathname
      if (path === CONSOLE_CONFIG_PATH) {
        response.writeHead(200, { 'content-type': 'application/json', 'cache-control': 'no-store' })
        response.end(JSON.stringify(config()))
        return
      }
      const relative = normalize(path === '/' ? '/index.html' : path).replace(/^(\.\.[/\\])+/, '')
      try {
        const body = await readFile(join(CONSOLE_DIST, relative))
        response.writeHead(200, {
          'content-type': CONTENT_TYPES[extname(relative)] ?? 'application/octet-stream',
          'cache-control': relative === '/sw.js' ? 'no-cache' : 'max-age=0',
        })
        response.end(body)
      } catch {
        response.writeHead(404).end('not found')
      }
    })()
  })
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve))
  const bound = (server.address() as AddressInfo).port
  return {
    url: `http://127.0.0.1:${bound}/`,
    port: bound,
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections()
        server.close(() => resolve())
      }),
  }
}

/** The config a command center at `url` (ws://127.0.0.1:PORT) with `deviceId` would serve. */
export function loopbackConsoleConfig(
  deviceId: string,
  port: number,
  name = 'command-center',
): ConsoleConfig {
  return {
    version: 1,
    meshName: 'clawmesh',
    generation: 1,
    commandCenter: { deviceId, name, addrs: [`/ip4/127.0.0.1/tcp/${port}/ws/p2p/${deviceId}`] },
    relays: [],
    iceServers: [],
    fieldNodes: [],
  }
}
