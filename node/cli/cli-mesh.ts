/**
 * Which mesh this state dir's CLI speaks for (`mesh/mesh-name.json`). A node serves RPC only to
 * callers announcing its own mesh name (protocol/mesh.ts checkServedPeerMesh), so the CLI must
 * announce the right one: the node started from this state dir records its mesh here, and
 * `clawmesh pair join` records the mesh of the command center it joined. Without a record the CLI
 * announces the default mesh name.
 */
import { z } from 'zod'
import { DEFAULT_MESH_NAME, meshNameSchema } from '../../protocol/mesh.ts'
import { readJsonFile, writeJsonAtomic } from '../../runtime/state/atomic-file.ts'
import { statePaths } from '../../runtime/state/state-dir.ts'

const cliMeshFileSchema = z.object({ version: z.literal(1), meshName: meshNameSchema })

export async function cliMeshName(stateDir: string): Promise<string> {
  const recorded = await readJsonFile(statePaths(stateDir).cliMesh, cliMeshFileSchema, 'CLI mesh name')
  return recorded?.meshName ?? DEFAULT_MESH_NAME
}

export async function recordCliMeshName(stateDir: string, meshName: string): Promise<void> {
  await writeJsonAtomic(statePaths(stateDir).cliMesh, { version: 1, meshName })
}
