import { mkdtemp, readFile, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import {
  checkStateVersion,
  STATE_FORMAT_VERSION,
  StateVersionError,
  stateVersionPath,
} from './state-version.ts'

async function dir(): Promise<string> {
  return mkdtemp(join(tmpdir(), 'clawmesh-state-version-'))
}

describe('checkStateVersion', () => {
  it('stamps a dir without state-version.json (new, or from before it) with the current format', async () => {
    const stateDir = await dir()
    expect(await checkStateVersion(stateDir)).toEqual({ found: 0, migrated: [] })
    const stamped = JSON.parse(await readFile(stateVersionPath(stateDir), 'utf8'))
    expect(stamped.version).toBe(STATE_FORMAT_VERSION)
    expect(typeof stamped.writtenBy).toBe('string')
  })

  it('refuses a dir of a newer format, naming the release that wrote it and what to do', async () => {
    const stateDir = await dir()
    await writeFile(stateVersionPath(stateDir), JSON.stringify({ version: 99, writtenBy: '9.0.0' }))
    const refused = checkStateVersion(stateDir, { format: 1, release: '0.1.0' })
    await expect(refused).rejects.toBeInstanceOf(StateVersionError)
    await expect(refused).rejects.toThrow(
      `state dir ${stateDir} was written by clawmesh 9.0.0 (state format 99); this clawmesh 0.1.0 reads state format 1 or older. Install clawmesh 9.0.0 or newer`,
    )
    // The newer stamp is left as it was.
    expect(JSON.parse(await readFile(stateVersionPath(stateDir), 'utf8')).version).toBe(99)
  })

  it('migrates an older format step by step, then stamps the current one', async () => {
    const stateDir = await dir()
    await writeFile(stateVersionPath(stateDir), JSON.stringify({ version: 1, writtenBy: '0.1.0' }))
    const ran: number[] = []
    const migration = (from: number) => async () => void ran.push(from)
    const result = await checkStateVersion(
      stateDir,
      { format: 3, release: '0.3.0' },
      {
        1: migration(1),
        2: migration(2),
      },
    )
    expect(result).toEqual({ found: 1, migrated: ['1→2', '2→3'] })
    expect(ran).toEqual([1, 2])
    expect(JSON.parse(await readFile(stateVersionPath(stateDir), 'utf8'))).toEqual({
      version: 3,
      writtenBy: '0.3.0',
    })
  })

  it('refuses an older format it has no migration for', async () => {
    const stateDir = await dir()
    await writeFile(stateVersionPath(stateDir), JSON.stringify({ version: 1, writtenBy: '0.1.0' }))
    await expect(checkStateVersion(stateDir, { format: 2, release: '0.2.0' }, {})).rejects.toThrow(
      /no migration .* from state format 1/,
    )
  })
})
