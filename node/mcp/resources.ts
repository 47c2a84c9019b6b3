/**
 * MCP resources: what a client may attach as context rather than call for — the world summary, a
 * proposal, a node's latest host findings, the evidence-log tail — and subscriptions to them. The
 * node pushes nothing to an RPC client, so a subscribed resource is re-read every
 * MCP_SUBSCRIPTION_POLL_MS and `notifications/resources/updated` sent when its content changed
 * (a proposal moving from awaiting approval to approved, executed, rejected).
 */
import { type McpServer, ResourceTemplate } from '@modelcontextprotocol/sdk/server/mcp.js'
import { SubscribeRequestSchema, UnsubscribeRequestSchema } from '@modelcontextprotocol/sdk/types.js'
import type { Frame } from '../../protocol/context/frame.ts'
import { ClawMeshError } from '../../protocol/errors.ts'
import {
  MCP_EVIDENCE_DEFAULT_LIMIT,
  MCP_SUBSCRIPTION_POLL_MS,
  MCP_SUBSCRIPTIONS_MAX,
  MCP_WORLD_DEFAULT_LIMIT,
} from './constants.ts'
import { MCP_TOOLS, type ToolContext } from './tools.ts'

/** Host findings frames scanned for one node's latest per workflow. */
const FINDINGS_FRAMES_MAX = 200

interface ResourceDefinition {
  readonly name: string
  readonly title: string
  readonly description: string
  /** A fixed URI, or a template with one `{variable}`. */
  readonly uri: string
  readonly variable?: string
  /** The value of `variable` in a concrete URI, or undefined when the URI is not this resource's. */
  match(uri: string): string | undefined
  read(context: ToolContext, value: string): Promise<unknown>
}

function fixed(uri: string): Pick<ResourceDefinition, 'uri' | 'match'> {
  return { uri, match: (candidate) => (candidate === uri ? '' : undefined) }
}

function template(
  prefix: string,
  variable: string,
  suffix = '',
): Pick<ResourceDefinition, 'uri' | 'match' | 'variable'> {
  return {
    uri: `${prefix}{${variable}}${suffix}`,
    variable,
    match: (candidate) => {
      if (!candidate.startsWith(prefix) || !candidate.endsWith(suffix)) return undefined
      const value = decodeURIComponent(candidate.slice(prefix.length, candidate.length - suffix.length))
      return value === '' || value.includes('/') ? undefined : value
    },
  }
}

const evidenceTool = MCP_TOOLS.find((tool) => tool.name === 'evidence_list')

const MCP_RESOURCES: readonly ResourceDefinition[] = [
  {
    name: 'world-summary',
    title: 'World summary',
    description: "The node's one-paragraph summary of its world model and its newest frames.",
    ...fixed('clawmesh://world/summary'),
    async read(context) {
      return context.mesh.call('mesh.world.query', { summary: true, limit: MCP_WORLD_DEFAULT_LIMIT })
    },
  },
  {
    name: 'proposal',
    title: 'Proposal',
    description: 'One proposal (by id) as the command center holds it; subscribe to see it change state.',
    ...template('clawmesh://proposals/', 'id'),
    async read(context, id) {
      return (await context.mesh.call('proposal.get', { id })).proposal
    },
  },
  {
    name: 'node-findings',
    title: "A node's latest host findings",
    description: 'The newest host_findings frame per workflow published by a node (by name or device ID).',
    ...template('clawmesh://nodes/', 'node', '/findings'),
    async read(context, node) {
      const { frames } = await context.mesh.call('mesh.world.query', {
        kind: 'host_findings',
        limit: FINDINGS_FRAMES_MAX,
      })
      const latest = new Map<string, Frame>()
      for (const frame of frames as Frame[]) {
        if (frame.kind !== 'host_findings') continue
        if (frame.origin !== node && frame.originName !== node) continue
        const seen = latest.get(frame.data.workflow)
        if (seen === undefined || seen.timestamp < frame.timestamp) latest.set(frame.data.workflow, frame)
      }
      return { node, findings: [...latest.values()] }
    },
  },
  {
    name: 'evidence-tail',
    title: 'Evidence log tail',
    description: `The newest ${MCP_EVIDENCE_DEFAULT_LIMIT} entries of the evidence log of this server's state dir, chain verified.`,
    ...fixed('clawmesh://evidence/tail'),
    async read(context) {
      if (evidenceTool === undefined)
        throw new ClawMeshError('UNAVAILABLE', 'no evidence reader in this build')
      return (await evidenceTool.run(context, {})).structured
    },
  },
]

function resolve(uri: string): { resource: ResourceDefinition; value: string } | undefined {
  for (const resource of MCP_RESOURCES) {
    const value = resource.match(uri)
    if (value !== undefined) return { resource, value }
  }
  return undefined
}

async function readText(context: ToolContext, uri: string): Promise<string> {
  const found = resolve(uri)
  if (found === undefined) throw new ClawMeshError('NOT_FOUND', `no ClawMesh resource at ${uri}`)
  return JSON.stringify(await found.resource.read(context, found.value))
}

const contents = async (context: ToolContext, uri: URL) => ({
  contents: [{ uri: uri.href, mimeType: 'application/json', text: await readText(context, uri.href) }],
})

/** Registers the resources and the subscription handlers; returns the poller's stop function. */
export function registerResources(server: McpServer, context: ToolContext): () => void {
  for (const resource of MCP_RESOURCES) {
    const metadata = {
      title: resource.title,
      description: resource.description,
      mimeType: 'application/json',
    }
    if (resource.variable === undefined) {
      server.registerResource(resource.name, resource.uri, metadata, (uri) => contents(context, uri))
    } else {
      server.registerResource(
        resource.name,
        new ResourceTemplate(resource.uri, { list: undefined }),
        metadata,
        (uri) => contents(context, uri),
      )
    }
  }

  const low = server.server
  low.registerCapabilities({ resources: { subscribe: true } })
  /** Subscribed URI → the content last sent (undefined until first read). */
  const subscribed = new Map<string, string | undefined>()
  low.setRequestHandler(SubscribeRequestSchema, async (request) => {
    const { uri } = request.params
    if (resolve(uri) === undefined) throw new ClawMeshError('NOT_FOUND', `no ClawMesh resource at ${uri}`)
    if (!subscribed.has(uri) && subscribed.size >= MCP_SUBSCRIPTIONS_MAX)
      throw new ClawMeshError('RATE_LIMITED', `at most ${MCP_SUBSCRIPTIONS_MAX} subscriptions per session`)
    subscribed.set(uri, await readText(context, uri).catch(() => undefined))
    return {}
  })
  low.setRequestHandler(UnsubscribeRequestSchema, (request) => {
    subscribed.delete(request.params.uri)
    return {}
  })
  let polling = false
  const timer = setInterval(() => {
    if (polling || subscribed.size === 0) return
    polling = true
    void (async () => {
      for (const [uri, last] of subscribed) {
        const now = await readText(context, uri).catch(() => undefined)
        if (now === undefined || now === last || !subscribed.has(uri)) continue
        subscribed.set(uri, now)
        await low.sendResourceUpdated({ uri }).catch(() => undefined)
      }
    })().finally(() => {
      polling = false
    })
  }, MCP_SUBSCRIPTION_POLL_MS)
  timer.unref()
  return () => clearInterval(timer)
}
