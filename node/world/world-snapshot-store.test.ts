import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { testObservation } from '../../test/helpers/frames.ts'
import { WorldModel } from './world-model.ts'
import { WorldSnapshotStore } from './world-snapshot-store.ts'

const T = 1_750_000_000_000
let stateDir: string

beforeEach(async () => {
  stateDir = await mkdtemp(join(tmpdir(), 'clawmesh-world-'))
})
afterEach(async () => {
  await rm(stateDir, { recursive: true, force: true })
})

function model(): WorldModel {
  const world = new WorldModel()
  for (let i = 0; i < 5; i++) world.ingest(testObservation('zone-1', 'soil-moisture', 30 + i, T + i))
  return world
}

describe('WorldSnapshotStore', () => {
  it('saves atomically to world-model-snapshot.json and restores the same frames', async () => {
    const store = new WorldSnapshotStore({ stateDir })
    await store.save(model(), T)
    expect(await readdir(stateDir)).toEqual(['world-model-snapshot.json'])
    const loaded = await store.load(T + 60_000)
    expect(loaded).toMatchObject({ loaded: true, restored: 5, skipped: 0 })
    if (loaded.loaded) expect(loaded.model.latest()).toEqual(model().latest())
  })

  it('does not restore a snapshot older than the max age', async () => {
    const store = new WorldSnapshotStore({ stateDir, maxAgeMs: 60_000 })
    await store.save(model(), T)
    expect(await store.load(T + 120_000)).toMatchObject({ loaded: false, reason: 'too-old' })
  })

  it('reports a missing or corrupt snapshot instead of throwing', async () => {
    const store = new WorldSnapshotStore({ stateDir })
    expect(await store.load(T)).toMatchObject({ loaded: false, reason: 'missing' })
    await writeFile(store.path, '{"version":1,')
    expect(await store.load(T)).toMatchObject({ loaded: false, reason: 'unreadable' })
  })

  it('skips and counts invalid entries but keeps the valid ones', async () => {
    const store = new WorldSnapshotStore({ stateDir })
    await store.save(model(), T)
    const snapshot = JSON.parse(await readFile(store.path, 'utf8'))
    snapshot.frames[1].data.value = 'wet'
    snapshot.frames.push({ kind: 'observation' }, 42)
    await writeFile(store.path, JSON.stringify(snapshot))
    expect(await store.load(T)).toMatchObject({ loaded: true, restored: 4, skipped: 3 })
  })
})
