/** The ClawMesh version, from package.json, announced in identify and status. */
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { PACKAGE_ROOT } from './package-root.ts'

// Read at run time (not a JSON import) so the compiled package reads its own package.json.
export const CLAWMESH_VERSION: string = (
  JSON.parse(readFileSync(join(PACKAGE_ROOT, 'package.json'), 'utf8')) as { version: string }
).version
