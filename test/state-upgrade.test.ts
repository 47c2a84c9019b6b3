/**
 * Upgrades: a node started on a state dir of an older ClawMesh (here the 0.1.0 layout, written
 * before state-version.json existed) reads it and stamps the dir; a dir stamped by a newer ClawMesh
 * is refused at start with the exact message saying what to do, before anything in it is touched.
 */
import { readFile, writeFile } from 'node:fs/promises'
import { afterEach, describe, expect, it } from 'vitest'
import { statePaths } from '../runtime/state/state-dir.ts'
import { STATE_FORMAT_VERSION, stateVersionPath } from '../runtime/state/state-version.ts'
import { CLAWMESH_VERSION } from '../runtime/version.ts'
import { cliJson, makeStateDir, runCli, startNode, stopAll, trustEachOther } from './helpers/processes.ts'

afterEach(stopAll)

describe('state dir versions at start', () => {
  it('starts on an older state dir (no state-version.json) with its identity and trust, and stamps it', async () => {
    const [dirA, dirB] = [await makeStateDir('old-a'), await makeStateDir('old-b')]
    // 0.1.0-era state: identity + trust files (version 1 each), no state-version.json.
    const [idA, idB] = await trustEachOther([dirA, dirB])
    const trustBefore = await readFile(statePaths(dirA).trustedPeers, 'utf8')
    const a = await startNode(dirA, ['--name', 'a'])
    expect(a.deviceId).toBe(idA)
    const stamp = JSON.parse(await readFile(stateVersionPath(dirA), 'utf8'))
    expect(stamp).toEqual({ version: STATE_FORMAT_VERSION, writtenBy: CLAWMESH_VERSION })
    expect(await readFile(statePaths(dirA).trustedPeers, 'utf8')).toBe(trustBefore)
    const status = await cliJson<{ version: string; deviceId: string }>(['status', '--url', a.url], dirA)
    expect(status.version).toBe(CLAWMESH_VERSION)
    expect(idB).not.toBe(idA)
  })

  it('refuses a state dir written by a newer ClawMesh, saying which and what to do', async () => {
    const dir = await makeStateDir('newer')
    await writeFile(
      stateVersionPath(dir),
      JSON.stringify({ version: STATE_FORMAT_VERSION + 1, writtenBy: '9.9.9' }),
    )
    const result = await runCli(
      ['start', '--name', 'n', '--no-discovery', '--host', '127.0.0.1', '--port', '0'],
      dir,
    )
    expect(result.code).not.toBe(0)
    expect(result.stderr).toContain(
      `error: state dir ${dir} was written by clawmesh 9.9.9 (state format ${STATE_FORMAT_VERSION + 1}); ` +
        `this clawmesh ${CLAWMESH_VERSION} reads state format ${STATE_FORMAT_VERSION} or older. ` +
        'Install clawmesh 9.9.9 or newer, or start with another --state-dir',
    )
  })

  it('clawmesh --version prints the package version', async () => {
    const result = await runCli(['--version'], await makeStateDir('version'))
    expect(result.stdout.trim()).toBe(CLAWMESH_VERSION)
  })
})
