/**
 * The console's IndexedDB: the operator key (never leaves the browser), the operator certificate,
 * the last console-config, the ICE servers given after pairing, the last known mesh state (so the
 * console opens offline and shows what it last saw, marked stale) and the acknowledged alerts.
 */
import { type DBSchema, type IDBPDatabase, openDB } from 'idb'

const DB_NAME = 'clawmesh-console'
const DB_VERSION = 1

/** Records are keyed by what they are; one operator per browser profile. `ice-servers`: the STUN/TURN
 * servers with credentials the command center gave this paired console (`console.iceServers`).
 * `alert-acks`: the alerts each operator key acknowledged (docs/console.md, "Alerts"). */
export type RecordKey =
  | 'operator-key'
  | 'operator-certificate'
  | 'console-config'
  | 'snapshot'
  | 'ice-servers'
  | 'alert-acks'

interface ConsoleSchema extends DBSchema {
  records: { key: RecordKey; value: unknown }
}

export interface ConsoleDb {
  get(key: RecordKey): Promise<unknown>
  put(key: RecordKey, value: unknown): Promise<void>
  delete(key: RecordKey): Promise<void>
}

export async function openConsoleDb(): Promise<ConsoleDb> {
  const db: IDBPDatabase<ConsoleSchema> = await openDB<ConsoleSchema>(DB_NAME, DB_VERSION, {
    upgrade(database) {
      database.createObjectStore('records')
    },
  })
  return {
    get: (key) => db.get('records', key),
    put: async (key, value) => {
      await db.put('records', value, key)
    },
    delete: (key) => db.delete('records', key),
  }
}
