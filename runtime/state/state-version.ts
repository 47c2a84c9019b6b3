/**
 * The format version of a whole state dir, in `<stateDir>/state-version.json`. A node checks it at
 * start: a dir written by a newer ClawMesh (higher format) is refused with what to do, an older
 * one is migrated step by step (STATE_MIGRATIONS) and stamped with the current format. Individual
 * files also carry `version: 1`; this file says which layout the dir as a whole follows.
 *
 * Format 1 is the layout of statePaths() as of 0.1.0. A dir without state-version.json is either
 * new or from before this file existed (the same layout): both are accepted and stamped 1.
 */
import { join } from 'node:path'
import { z } from 'zod'
import { CLAWMESH_VERSION } from '../version.ts'
import { readJsonFile, writeJsonAtomic } from './atomic-file.ts'

export const STATE_FORMAT_VERSION = 1
const STATE_VERSION_FILE = 'state-version.json'

const stateVersionSchema = z.object({
  version: z.number().int().positive(),
  /** The ClawMesh release that last wrote the dir, for the message a too-old release prints. */
  writtenBy: z.string().max(64),
})

/** Upgrades a dir from format N to N + 1, keyed by N. None yet: format 1 is the first. */
const STATE_MIGRATIONS: Readonly<Record<number, (stateDir: string) => Promise<void>>> = {}

export class StateVersionError extends Error {
  static readonly NAME = 'StateVersionError'
  override readonly name = StateVersionError.NAME
}

export function stateVersionPath(stateDir: string): string {
  return join(stateDir, STATE_VERSION_FILE)
}

interface StateVersionCheck {
  /** Format found (0: no state-version.json). */
  found: number
  /** Migrations run, as "N→N+1". */
  migrated: string[]
}

/** Refuses a newer dir, migrates an older one, stamps the current format. */
export async function checkStateVersion(
  stateDir: string,
  current: { format: number; release: string } = { format: STATE_FORMAT_VERSION, release: CLAWMESH_VERSION },
  migrations: Readonly<Record<number, (stateDir: string) => Promise<void>>> = STATE_MIGRATIONS,
): Promise<StateVersionCheck> {
  const path = stateVersionPath(stateDir)
  const recorded = await readJsonFile(path, stateVersionSchema, 'state version')
  const found = recorded?.version ?? 0
  if (found > current.format)
    throw new StateVersionError(
      `state dir ${stateDir} was written by clawmesh ${recorded?.writtenBy} (state format ${found}); ` +
        `this clawmesh ${current.release} reads state format ${current.format} or older. ` +
        `Install clawmesh ${recorded?.writtenBy} or newer, or start with another --state-dir ` +
        `(never edit ${path} down: the newer files may not read here).`,
    )
  const migrated: string[] = []
  for (let from = Math.max(found, 1); from < current.format; from++) {
    const migrate = migrations[from]
    if (migrate === undefined)
      throw new StateVersionError(`no migration of ${stateDir} from state format ${from}`)
    await migrate(stateDir)
    migrated.push(`${from}→${from + 1}`)
  }
  if (found !== current.format || recorded?.writtenBy !== current.release)
    await writeJsonAtomic(path, { version: current.format, writtenBy: current.release })
  return { found, migrated }
}
