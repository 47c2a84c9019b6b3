/**
 * Node configuration: the same schema serves `clawmesh start` flags and `clawmesh-node --config
 * node.json`, so a flag and its file key cannot drift. Unknown keys in the file are refused.
 */
import { readFile } from 'node:fs/promises'
import { z } from 'zod'
import { iceServersConfigSchema } from '../protocol/ice-servers.ts'
import { DISPLAY_NAME_MAX_LENGTH } from '../protocol/limits.ts'
import { wanPolicySchema } from '../protocol/link-posture.ts'
import { DEFAULT_MESH_NAME, meshNameSchema } from '../protocol/mesh.ts'
import { capabilitySchema, nodeRoleSchema } from '../protocol/roles.ts'
import { DEFAULT_HTTPS_PORT } from './console/constants.ts'
import { hostOpsSettingsSchema } from './host-ops/settings.ts'
import { piBaseUrlSchema, piModelSpecSchema, piTimeoutMsSchema } from './planner/pi/pi-config.ts'
import { telegramSettingsSchema } from './telegram/settings.ts'
import { DEFAULT_WS_PORT } from './ws-port.ts'

/** Default WebSocket port of a node (node/ws-port.ts), with the rest of the configuration. */
export { DEFAULT_WS_PORT }

export const nodeConfigSchema = z
  .object({
    name: z.string().min(1).max(DISPLAY_NAME_MAX_LENGTH),
    role: nodeRoleSchema.default('node'),
    meshName: meshNameSchema.default(DEFAULT_MESH_NAME),
    port: z.number().int().min(0).max(65_535).default(DEFAULT_WS_PORT),
    host: z.string().min(1).default('0.0.0.0'),
    listen: z.array(z.string().min(1)).default([]),
    capabilities: z.array(capabilitySchema).default([]),
    /** `<deviceId>=<url>[|<tlsFingerprint>][|<label>]`, see protocol/static-peer.ts */
    peers: z.array(z.string().min(1)).default([]),
    /** mDNS LAN discovery of trusted peers of the same mesh */
    discovery: z.boolean().default(true),
    /** `warn`: log a diagnostic for insecure WAN static peers; `require-tls`: refuse them */
    wanPolicy: wanPolicySchema.default('warn'),
    /** Signaling relays (multiaddrs ending in /p2p/<relayId>) to hold a reservation on, so peers
     * behind NAT can reach this node via /p2p-circuit and upgrade to direct WebRTC. */
    relays: z.array(z.string().min(1)).default([]),
    /** Device IDs of command centers whose operator certificates and commands this node accepts.
     * A node with role planner or standby-planner is a command center for itself. */
    commandCenters: z.array(z.string().min(1)).default([]),
    /** STUN/TURN servers for WebRTC (none by default: no public STUN server is contacted): a URL, or
     * `{urls, username, credential}` for TURN. A command center hands them to its consoles too. */
    iceServers: iceServersConfigSchema.default([]),
    /** Site model file (zones, sensors, actuators and which node serves each) */
    site: z.string().optional(),
    mockSensor: z.boolean().default(false),
    mockActuator: z.boolean().default(false),
    stateDir: z.string().optional(),
    /** Planner model `provider/model` (pi-ai); unset: the built-in rule-based planner answers. */
    piModel: piModelSpecSchema.optional(),
    /** OpenAI-compatible server for `local/NAME` (llama.cpp, Ollama, vLLM), or a provider proxy. */
    piBaseUrl: piBaseUrlSchema.optional(),
    /** Budget for one planner answer (all model turns and tool calls). */
    piTimeoutMs: piTimeoutMsSchema.optional(),
    /** `auto`: WSS and the HTTPS console when `clawmesh cert` made TLS material; `on`: make it if
     * missing; `off`: plain WS only (docs/console-serving.md). */
    tls: z.enum(['auto', 'on', 'off']).default('auto'),
    /** HTTPS port of the console (command centers with TLS only); 0 picks a free port. */
    httpsPort: z.number().int().min(0).max(65_535).default(DEFAULT_HTTPS_PORT),
    /** Built console to serve (default: browser/dist of this checkout). Also makes a node that is
     * not a command center serve it. */
    consoleDir: z.string().optional(),
    /** Host operations for this node's own machine (docs/host-operations.md). */
    hostOps: hostOpsSettingsSchema.prefault({}),
    /** The Telegram bot of a command center (docs/telegram.md). */
    telegram: telegramSettingsSchema.prefault({}),
  })
  .strict()
export type NodeConfig = z.output<typeof nodeConfigSchema>
export type NodeConfigInput = z.input<typeof nodeConfigSchema>

export class NodeConfigError extends Error {
  static readonly NAME = 'NodeConfigError'
  override readonly name = NodeConfigError.NAME
}

export function parseNodeConfig(input: unknown, source: string): NodeConfig {
  const parsed = nodeConfigSchema.safeParse(input)
  if (parsed.success) return parsed.data
  const issues = parsed.error.issues
    .map((issue) => `${issue.path.join('.') || '(root)'}: ${issue.message}`)
    .join('; ')
  throw new NodeConfigError(`invalid node configuration in ${source}: ${issues}`)
}

export async function loadNodeConfigFile(path: string): Promise<NodeConfig> {
  let text: string
  try {
    text = await readFile(path, 'utf8')
  } catch (error) {
    throw new NodeConfigError(`cannot read node configuration ${path}: ${(error as Error).message}`)
  }
  let json: unknown
  try {
    json = JSON.parse(text)
  } catch (error) {
    throw new NodeConfigError(`node configuration ${path} is not valid JSON: ${(error as Error).message}`)
  }
  return parseNodeConfig(json, path)
}
