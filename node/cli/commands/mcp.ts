/**
 * `clawmesh mcp`: the MCP server for AI operators (docs/mcp.md), over stdio by default or
 * Streamable HTTP with `--http PORT`. `mcp pair` joins a command center with the server's own key
 * (an ai-operator certificate); `mcp show` prints that key and certificate; `mcp import` stores a
 * certificate issued with `clawmesh operator issue KEY --roles ai-operator`.
 */
import { randomBytes } from 'node:crypto'
import { readFile } from 'node:fs/promises'
import { StdioServerTransport } from '@modelcontextprotocol/sdk/server/stdio.js'
import type { Command } from 'commander'
import { operatorCertificateSchema } from '../../../protocol/safety/index.ts'
import { CliUsageError } from '../../../runtime/cli/errors.ts'
import { printJson } from '../../../runtime/cli/output.ts'
import { writeJsonAtomic } from '../../../runtime/state/atomic-file.ts'
import { resolveStateDir, statePaths } from '../../../runtime/state/state-dir.ts'
import { CredentialStore } from '../../credentials/credential-store.ts'
import {
  MCP_BEARER_CREDENTIAL,
  MCP_BEARER_TOKEN_BYTES,
  MCP_BEARER_TOKEN_MIN_CHARS,
  MCP_DEFAULT_HTTP_HOST,
} from '../../mcp/constants.ts'
import { startMcpHttpServer } from '../../mcp/http-server.ts'
import { assertUsableMcpIdentity, loadMcpIdentity, mcpCertificateProblem } from '../../mcp/mcp-identity.ts'
import { createClawMeshMcpServer } from '../../mcp/mcp-server.ts'
import { createMeshConnection } from '../../mcp/mesh-connection.ts'
import { joinCommandCenter } from '../pair-join.ts'
import { resolveTargetUrl } from '../target-node.ts'

const collect = (value: string, previous: string[]) => [...previous, value]

interface McpOptions {
  url?: string
  http?: string
  host?: string
  allowOrigin: string[]
}

/** The HTTP bearer token: the stored one, else a new random one stored for next time. */
async function bearerToken(stateDir: string): Promise<{ token: string; created: boolean; path: string }> {
  const store = await CredentialStore.open(statePaths(stateDir).credentials)
  const stored = store.get(MCP_BEARER_CREDENTIAL)
  if (stored !== undefined) {
    if (stored.length < MCP_BEARER_TOKEN_MIN_CHARS)
      throw new CliUsageError(
        `${MCP_BEARER_CREDENTIAL} is shorter than ${MCP_BEARER_TOKEN_MIN_CHARS} characters: delete it (clawmesh credential delete ${MCP_BEARER_CREDENTIAL}) and a strong one is made at the next start`,
      )
    return { token: stored, created: false, path: store.path }
  }
  const token = randomBytes(MCP_BEARER_TOKEN_BYTES).toString('base64url')
  await store.set(MCP_BEARER_CREDENTIAL, token)
  return { token, created: true, path: store.path }
}

export function registerMcpCommands(program: Command): void {
  const mcp = program
    .command('mcp')
    .enablePositionalOptions()
    .description(
      'serve the mesh to AI operators (Claude, Codex, a local model) over MCP: read and propose, never approve',
    )
    .option('--url <url>', 'node to talk to (default: the saved gateway, else ws://127.0.0.1:18789)')
    .option('--http <port>', 'serve Streamable HTTP on this port instead of stdio (bearer token required)')
    .option('--host <host>', `address for --http (default ${MCP_DEFAULT_HTTP_HOST}: this machine only)`)
    .option('--allow-origin <origin>', 'browser origin allowed to call --http (repeatable)', collect, [])
    .action((options: McpOptions) => serveMcp(program, options))

  mcp
    .command('pair')
    .description(
      "join a command center with the MCP server's own key (pair window opened with --roles ai-operator)",
    )
    .requiredOption('--url <url>', 'command center URL (ws://HOST:PORT)')
    .requiredOption(
      '--code <code>',
      'the one-time code from `clawmesh pair --operator NAME --roles ai-operator`',
    )
    .action(async (options: { url: string; code: string }) => {
      const stateDir = resolveStateDir(program.opts().stateDir)
      const identity = await loadMcpIdentity(stateDir)
      const answer = await joinCommandCenter({
        stateDir,
        url: options.url,
        code: options.code,
        operator: true,
        operatorFiles: { key: identity.keyPath, certificate: identity.certificatePath },
      })
      const problem = mcpCertificateProblem(await loadMcpIdentity(stateDir))
      if (problem !== undefined)
        throw new CliUsageError(
          `${problem}. Open the pairing window with --roles ai-operator and pair again.`,
        )
      console.log(
        `paired the MCP key ${identity.deviceId} with ${answer.commandCenterName} (${answer.commandCenterId}) as an ai-operator: it reads and proposes, a person approves`,
      )
    })

  mcp
    .command('show')
    .description("the MCP server's key and certificate")
    .option('--json', 'print JSON')
    .action(async (options: { json?: boolean }) => {
      const identity = await loadMcpIdentity(resolveStateDir(program.opts().stateDir))
      const problem = mcpCertificateProblem(identity)
      if (options.json)
        return printJson({
          operatorId: identity.deviceId,
          certificate: identity.certificate ?? null,
          ...(problem === undefined ? {} : { problem }),
        })
      console.log(`mcp key       ${identity.deviceId}`)
      const certificate = identity.certificate
      console.log(
        certificate === undefined
          ? 'certificate   none (pair it: docs/mcp.md)'
          : `certificate   ${certificate.body.displayName}, ${certificate.body.roles.join(', ')}, issued by ${certificate.body.issuerId}, expires ${new Date(certificate.body.expiresAt).toISOString()}`,
      )
      if (problem !== undefined) console.log(`problem       ${problem}`)
    })

  mcp
    .command('import <file>')
    .description(
      'store an ai-operator certificate issued for the MCP key (`clawmesh operator issue KEY --roles ai-operator`)',
    )
    .action(async (file: string) => {
      const stateDir = resolveStateDir(program.opts().stateDir)
      const parsed = operatorCertificateSchema.safeParse(JSON.parse(await readFile(file, 'utf8')))
      if (!parsed.success) throw new CliUsageError(`${file} is not an operator certificate`)
      const identity = await loadMcpIdentity(stateDir)
      const problem = mcpCertificateProblem({ ...identity, certificate: parsed.data })
      if (problem !== undefined) throw new CliUsageError(problem.replace(identity.certificatePath, file))
      await writeJsonAtomic(identity.certificatePath, parsed.data)
      console.log(`imported the ai-operator certificate for ${parsed.data.body.displayName}`)
    })
}

/** Serves MCP over stdio, or Streamable HTTP with --http, until the client or a signal ends it. */
async function serveMcp(program: Command, options: McpOptions): Promise<void> {
  const stateDir = resolveStateDir(program.opts().stateDir)
  const identity = await loadMcpIdentity(stateDir)
  assertUsableMcpIdentity(identity)
  if (options.http === undefined && (options.host !== undefined || options.allowOrigin.length > 0))
    throw new CliUsageError('--host and --allow-origin go with --http')
  // stdout is the MCP channel under stdio: anything else printed there would corrupt it.
  console.log = console.error
  if (identity.certificate === undefined)
    console.error(
      `clawmesh mcp: key ${identity.deviceId} has no ai-operator certificate: it can read, not propose. Pair it: \`clawmesh pair --operator NAME --roles ai-operator\` on the command center, then \`clawmesh mcp pair --url URL --code CODE\` here.`,
    )
  const url = await resolveTargetUrl(program, options.url)
  const mesh = createMeshConnection({ url, stateDir, identityPath: identity.keyPath })
  const context = { mesh, stateDir, url }
  const shutdown = async () => {
    await mesh.close()
    process.exit(0)
  }
  process.once('SIGINT', () => void shutdown())
  process.once('SIGTERM', () => void shutdown())
  if (options.http === undefined) {
    const server = createClawMeshMcpServer(context)
    const transport = new StdioServerTransport()
    // The client closing stdin ends the session; the node link goes with it.
    process.stdin.once('end', () => void shutdown())
    await server.connect(transport)
    return
  }
  const port = Number(options.http)
  if (!Number.isInteger(port) || port < 0 || port > 65_535)
    throw new CliUsageError(`--http needs a port number, got "${options.http}"`)
  const token = await bearerToken(stateDir)
  const http = await startMcpHttpServer({
    host: options.host ?? MCP_DEFAULT_HTTP_HOST,
    port,
    token: token.token,
    allowedOrigins: options.allowOrigin,
    createServer: () => createClawMeshMcpServer(context),
    onRefusal: (refusal, request) =>
      console.error(
        `clawmesh mcp: refused ${request.method} ${request.url} from ${request.socket.remoteAddress}: ${refusal}`,
      ),
  })
  if (token.created)
    console.error(
      `clawmesh mcp: created a bearer token in ${token.path}; show it with \`clawmesh credential get ${MCP_BEARER_CREDENTIAL} --reveal\``,
    )
  console.error(`clawmesh mcp: listening on ${http.url}`)
}
