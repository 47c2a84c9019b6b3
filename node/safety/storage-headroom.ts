/**
 * Free space on the state dir's file system, as the actuator checks it before it moves a device. An
 * execution writes the ledger's `started` and `finished` records, the execution evidence entry, the
 * proposal journal and head files: a few KiB. On a full disk one of them would fail after the
 * device moved, leaving an execution the records do not tell (docs/reliability.md, "Full disk").
 */
import { statfs } from 'node:fs/promises'

/** Below this much free space on the state dir's file system, the actuator refuses to start an
 * execution (UNAVAILABLE, `storage-full`) and the command center retries until the proposal expires.
 * 256 KiB is about a hundred executions' records: enough that the records of one never run out
 * midway, small enough never to refuse on a healthy SD card. */
export const ACTUATION_MIN_FREE_BYTES = 256 * 1024

/** Bytes an unprivileged process may still write on the file system holding `path`. */
export async function freeBytes(path: string): Promise<number> {
  const stats = await statfs(path)
  return stats.bavail * stats.bsize
}
