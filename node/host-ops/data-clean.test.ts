/** data-clean-apply's own checks, on files in a temp directory: it deletes only what still matches
 * the approved manifest and lies inside repairPaths, and nothing at all when the manifest is not the
 * one approved. */
import { mkdir, mkdtemp, rm, stat, symlink, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import {
  type DataCleanEntry,
  type DataCleanManifest,
  dataCleanManifestHash,
} from '../../protocol/host-ops/repairs.ts'
import { writeJsonAtomic } from '../../runtime/state/atomic-file.ts'
import { applyDataClean, manifestDir, sha256File } from './data-clean.ts'

const exists = (path: string) =>
  stat(path).then(
    () => true,
    () => false,
  )

async function entryOf(path: string): Promise<DataCleanEntry> {
  const info = await stat(path)
  return { path, size: info.size, mtimeMs: info.mtimeMs, sha256: await sha256File(path), category: 'cache' }
}

async function setup() {
  const base = await mkdtemp(join(tmpdir(), 'clawmesh-data-clean-'))
  const stateDir = join(base, 'state')
  const data = join(base, 'data')
  const elsewhere = join(base, 'elsewhere')
  await mkdir(join(data, 'cache'), { recursive: true })
  await mkdir(elsewhere, { recursive: true })
  await mkdir(manifestDir(stateDir), { recursive: true })
  return { base, stateDir, data, elsewhere }
}

async function store(stateDir: string, root: string, entries: DataCleanEntry[]) {
  const manifest: DataCleanManifest = {
    version: 1,
    id: 'dc-test-0001',
    node: 'n',
    root,
    createdAt: Date.now(),
    entries,
  }
  await writeJsonAtomic(join(manifestDir(stateDir), `${manifest.id}.json`), manifest)
  return { manifestId: manifest.id, manifestHash: dataCleanManifestHash(manifest), manifest }
}

describe('data-clean-apply', () => {
  it('deletes unchanged files and keeps a changed one, a swapped-in symlink and a vanished one', async () => {
    const { stateDir, data, elsewhere } = await setup()
    const paths = ['a', 'b', 'c', 'd'].map((name) => join(data, 'cache', `${name}.bin`))
    for (const path of paths) await writeFile(path, `content of ${path}`)
    const entries = await Promise.all(paths.map(entryOf))
    const { manifestId, manifestHash } = await store(stateDir, data, entries)
    await writeFile(paths[1] as string, 'grown: a different size')
    await writeFile(join(elsewhere, 'precious'), 'must survive')
    await rm(paths[2] as string)
    await symlink(join(elsewhere, 'precious'), paths[2] as string)
    await rm(paths[3] as string)

    const outcome = await applyDataClean(stateDir, [data], { manifestId, manifestHash })
    expect(outcome).toMatchObject({
      ok: true,
      result: {
        deleted: 1,
        keptCount: 3,
        keptReasons: { 'size-changed': 1, 'not-a-regular-file': 1, missing: 1 },
      },
    })
    expect(await exists(paths[0] as string)).toBe(false)
    expect(await exists(paths[1] as string)).toBe(true)
    expect(await exists(join(elsewhere, 'precious'))).toBe(true)
  })

  it('deletes nothing outside repairPaths, even when the manifest lists it', async () => {
    const { stateDir, data, elsewhere } = await setup()
    const outside = join(elsewhere, 'x.bin')
    await writeFile(outside, 'outside')
    const { manifestId, manifestHash } = await store(stateDir, elsewhere, [await entryOf(outside)])
    const outcome = await applyDataClean(stateDir, [data], { manifestId, manifestHash })
    expect(outcome).toMatchObject({
      ok: true,
      result: { deleted: 0, keptReasons: { 'outside-repair-paths': 1 } },
    })
    expect(await exists(outside)).toBe(true)
  })

  it('refuses a manifest that is not the approved one, deleting nothing', async () => {
    const { stateDir, data } = await setup()
    const path = join(data, 'cache', 'a.bin')
    await writeFile(path, 'a')
    const { manifestId, manifest } = await store(stateDir, data, [await entryOf(path)])
    const approved = dataCleanManifestHash({ ...manifest, entries: [] })
    expect(await applyDataClean(stateDir, [data], { manifestId, manifestHash: approved })).toMatchObject({
      ok: false,
      code: 'manifest-mismatch',
    })
    expect(
      await applyDataClean(stateDir, [data], { manifestId: 'dc-unknown-00', manifestHash: approved }),
    ).toMatchObject({
      ok: false,
      code: 'manifest-not-found',
    })
    expect(await exists(path)).toBe(true)
  })
})
