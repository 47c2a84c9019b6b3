/**
 * The node a CLI command talks to: `--url`, else the saved default gateway (`mesh/gateways.json`,
 * kept by `clawmesh gateway-connect`), else localhost; and a client connected to it for one command.
 */
import type { Command } from 'commander'
import { z } from 'zod'
import { readJsonFile } from '../../runtime/state/atomic-file.ts'
import { resolveStateDir, statePaths } from '../../runtime/state/state-dir.ts'
import { type CliClient, connectCliClient, DEFAULT_NODE_URL } from './client-node.ts'

const gatewaysFileSchema = z.object({
  version: z.literal(1),
  defaultUrl: z.string().optional(),
  gateways: z.array(
    z.object({
      url: z.string(),
      deviceId: z.string(),
      name: z.string(),
      meshName: z.string(),
      savedAt: z.string(),
    }),
  ),
})
type GatewaysFile = z.infer<typeof gatewaysFileSchema>

export async function loadGateways(program: Command): Promise<{ path: string; file: GatewaysFile }> {
  const path = statePaths(resolveStateDir(program.opts().stateDir)).gateways
  return {
    path,
    file: (await readJsonFile(path, gatewaysFileSchema, 'gateway list')) ?? { version: 1, gateways: [] },
  }
}

/** The URL a command should talk to: explicit flag, else the saved default gateway, else localhost. */
export async function resolveTargetUrl(program: Command, explicit: string | undefined): Promise<string> {
  if (explicit !== undefined) return explicit
  const { file } = await loadGateways(program)
  return file.defaultUrl ?? DEFAULT_NODE_URL
}

export async function withClient<T>(
  program: Command,
  url: string,
  use: (client: CliClient) => Promise<T>,
): Promise<T> {
  const client = await connectCliClient(url, program.opts().stateDir)
  try {
    return await use(client)
  } finally {
    await client.close()
  }
}
