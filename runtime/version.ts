/** The ClawMesh version, from package.json, announced in identify and status. */
import packageJson from '../package.json' with { type: 'json' }

export const CLAWMESH_VERSION: string = packageJson.version
