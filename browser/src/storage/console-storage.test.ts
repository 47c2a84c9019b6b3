import { describe, expect, it } from 'vitest'
import { emptyMeshState } from '../state/mesh-state.ts'
import type { ConsoleDb, RecordKey } from './console-db.ts'
import { createConsoleStorage, MAX_ACKED_ALERTS, restoreSnapshot } from './console-storage.ts'

function memoryDb() {
  const records = new Map<RecordKey, unknown>()
  const writes: RecordKey[] = []
  const db: ConsoleDb = {
    get: async (key) => records.get(key),
    put: async (key, value) => {
      writes.push(key)
      records.set(key, value)
    },
    delete: async (key) => {
      records.delete(key)
    },
  }
  return { db, records, writes }
}

describe('the console’s stored records', () => {
  it('writes the snapshot only when the state changed since the last write', async () => {
    const { db, writes } = memoryDb()
    const storage = await createConsoleStorage(db)
    await storage.saveSnapshot({ ...emptyMeshState(), freshAt: 10 })
    await storage.saveSnapshot({ ...emptyMeshState(), freshAt: 10 })
    await storage.saveSnapshot({ ...emptyMeshState(), freshAt: 12 })
    expect(writes).toEqual(['snapshot', 'snapshot'])
  })

  it('a snapshot written by an older build gets the fields added since', () => {
    const old = { freshAt: 5, peers: [], events: [], proposals: [], observations: [] }
    expect(restoreSnapshot(old)).toEqual({ ...emptyMeshState(), freshAt: 5 })
    expect(restoreSnapshot('garbage')).toBeUndefined()
    expect(restoreSnapshot([])).toBeUndefined()
  })

  it('a stored certificate or ICE list that does not match its schema is not used', async () => {
    const { db, records } = memoryDb()
    records.set('operator-certificate', { body: { operatorId: 'x' } })
    records.set('ice-servers', [{ urls: 'not-a-list' }])
    const storage = await createConsoleStorage(db)
    expect(await storage.certificate()).toBeUndefined()
    expect(await storage.iceServers()).toBeUndefined()
  })

  it('forgetting the pairing drops the certificate and the ICE servers, and keeps the key', async () => {
    const { db, records } = memoryDb()
    for (const key of ['operator-key', 'operator-certificate', 'ice-servers'] as const) records.set(key, 1)
    await (await createConsoleStorage(db)).forgetPairing()
    expect([...records.keys()]).toEqual(['operator-key'])
  })

  it('keeps acknowledged alerts per operator key, across a reopen, bounded to the newest', async () => {
    const { db, records } = memoryDb()
    const first = await createConsoleStorage(db)
    await first.saveAlertAcks('alice', ['event:1:1', 'proposal:ab'])
    await first.saveAlertAcks('bob', ['threshold:f1'])
    const reopened = await createConsoleStorage(db)
    expect(await reopened.alertAcks('alice')).toEqual(['event:1:1', 'proposal:ab'])
    expect(await reopened.alertAcks('bob')).toEqual(['threshold:f1'])
    expect(await reopened.alertAcks('carol')).toEqual([])
    const many = Array.from({ length: MAX_ACKED_ALERTS + 5 }, (_, index) => `event:${index}:1`)
    await reopened.saveAlertAcks('alice', many)
    expect(await reopened.alertAcks('alice')).toEqual(many.slice(-MAX_ACKED_ALERTS))
    expect(await reopened.alertAcks('bob')).toEqual(['threshold:f1'])
    records.set('alert-acks', { alice: 'not-a-list' })
    expect(await reopened.alertAcks('alice')).toEqual([])
  })
})
