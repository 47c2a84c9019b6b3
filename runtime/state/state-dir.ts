/**
 * Where a ClawMesh process keeps its state. `$CLAWMESH_STATE_DIR` wins; otherwise `~/.clawmesh`.
 * Every path under it is named here so the layout is documented in one place.
 */
import { homedir } from 'node:os'
import { join, resolve } from 'node:path'

export function resolveStateDir(explicit?: string, env: NodeJS.ProcessEnv = process.env): string {
  if (explicit !== undefined && explicit !== '') return resolve(explicit)
  const fromEnv = env['CLAWMESH_STATE_DIR']
  if (fromEnv !== undefined && fromEnv !== '') return resolve(fromEnv)
  return join(homedir(), '.clawmesh')
}

export function statePaths(stateDir: string) {
  return {
    stateDir,
    deviceIdentity: join(stateDir, 'identity', 'device.json'),
    cliIdentity: join(stateDir, 'identity', 'cli.json'),
    /** `clawmesh mcp`'s own key and its ai-operator certificate (never the person's CLI key). */
    mcpIdentity: join(stateDir, 'identity', 'mcp.json'),
    mcpCertificate: join(stateDir, 'identity', 'mcp-operator-certificate.json'),
    trustedPeers: join(stateDir, 'mesh', 'trusted-peers.json'),
    gateways: join(stateDir, 'mesh', 'gateways.json'),
    /** The mesh this state dir's CLI announces (node/cli/cli-mesh.ts). */
    cliMesh: join(stateDir, 'mesh', 'mesh-name.json'),
    worldSnapshot: join(stateDir, 'world-model-snapshot.json'),
    evidenceDir: join(stateDir, 'evidence'),
    credentials: join(stateDir, 'credentials.json'),
  } as const
}
export type StatePaths = ReturnType<typeof statePaths>
