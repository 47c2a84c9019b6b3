/**
 * `clawmesh mcp --http PORT`: MCP over Streamable HTTP. Before the SDK sees a request it must come
 * from an allowed Origin (or none: a desktop client sends none; a web page always does, so a page
 * on another site cannot drive the server through the person's browser) and carry the bearer token
 * from the credential store. Each refusal is counted and logged to stderr. Stateless: every request
 * gets its own SDK server and transport over the shared node link.
 */
import { createHash, timingSafeEqual } from 'node:crypto'
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import type { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js'
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js'
import { MCP_HTTP_MAX_BODY_BYTES, MCP_HTTP_PATH } from './constants.ts'

export type McpHttpRefusal = 'wrong-path' | 'foreign-origin' | 'missing-token' | 'wrong-token'

export interface McpHttpServerInit {
  readonly host: string
  readonly port: number
  readonly token: string
  /** Origins a browser-based client may call from, besides this server's own loopback origins. */
  readonly allowedOrigins: readonly string[]
  readonly createServer: () => McpServer
  readonly onRefusal?: (refusal: McpHttpRefusal, request: IncomingMessage) => void
}

export interface McpHttpServer {
  readonly url: string
  readonly refusals: ReadonlyMap<McpHttpRefusal, number>
  close(): Promise<void>
}

const digest = (value: string) => createHash('sha256').update(value).digest()

/** Constant-time: the comparison takes as long whatever prefix of the token is right. */
function tokenMatches(presented: string, expected: string): boolean {
  return timingSafeEqual(digest(presented), digest(expected))
}

export async function startMcpHttpServer(init: McpHttpServerInit): Promise<McpHttpServer> {
  const refusals = new Map<McpHttpRefusal, number>()
  const expectedToken = init.token
  let allowedOrigins = new Set<string>(init.allowedOrigins)

  const refuse = (request: IncomingMessage, response: ServerResponse, refusal: McpHttpRefusal) => {
    refusals.set(refusal, (refusals.get(refusal) ?? 0) + 1)
    init.onRefusal?.(refusal, request)
    const status = refusal === 'wrong-path' ? 404 : refusal === 'foreign-origin' ? 403 : 401
    response.writeHead(status, {
      'content-type': 'application/json',
      ...(status === 401 ? { 'www-authenticate': 'Bearer realm="clawmesh-mcp"' } : {}),
    })
    response.end(JSON.stringify({ error: refusal }))
  }

  const handle = async (request: IncomingMessage, response: ServerResponse) => {
    const path = new URL(request.url ?? '/', 'http://localhost').pathname
    if (path !== MCP_HTTP_PATH) return refuse(request, response, 'wrong-path')
    const origin = request.headers.origin
    if (origin !== undefined && !allowedOrigins.has(origin))
      return refuse(request, response, 'foreign-origin')
    const authorization = request.headers.authorization
    const match = /^Bearer (.+)$/.exec(authorization ?? '')
    if (match === null) return refuse(request, response, 'missing-token')
    if (!tokenMatches(match[1] as string, expectedToken)) return refuse(request, response, 'wrong-token')
    const server = init.createServer()
    const transport = new StreamableHTTPServerTransport({
      sessionIdGenerator: undefined,
      enableJsonResponse: true,
      maxRequestBodySize: MCP_HTTP_MAX_BODY_BYTES,
    })
    response.on('close', () => {
      void transport.close()
      void server.close()
    })
    await server.connect(transport)
    await transport.handleRequest(request, response)
  }

  const http: Server = createServer((request, response) => {
    handle(request, response).catch((error: unknown) => {
      console.error(`clawmesh mcp: request failed: ${(error as Error).message}`)
      if (!response.headersSent) response.writeHead(500).end()
    })
  })
  await new Promise<void>((resolve, reject) => {
    http.once('error', reject)
    http.listen(init.port, init.host, () => resolve())
  })
  const { port } = http.address() as AddressInfo
  const shownHost = init.host.includes(':') ? `[${init.host}]` : init.host
  // The server's own pages (a local inspector) may call it; nothing else by default.
  allowedOrigins = new Set([
    ...allowedOrigins,
    `http://${shownHost}:${port}`,
    `http://localhost:${port}`,
    `http://127.0.0.1:${port}`,
  ])
  return {
    url: `http://${shownHost}:${port}${MCP_HTTP_PATH}`,
    refusals,
    close: () =>
      new Promise<void>((resolve) => {
        http.closeAllConnections()
        http.close(() => resolve())
      }),
  }
}
