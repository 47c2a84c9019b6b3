/**
 * The world model survives restarts: saved every WORLD_SNAPSHOT_INTERVAL_MS while the node runs
 * and once more as the last thing before libp2p stops.
 */
import { WORLD_SNAPSHOT_INTERVAL_MS } from '../context/constants.ts'
import { type LifecyclePart, part } from '../lifecycle.ts'
import type { WorldModel } from './world-model.ts'
import type { WorldSnapshotStore } from './world-snapshot-store.ts'

export interface WorldSnapshotsInit {
  world: WorldModel
  snapshots: WorldSnapshotStore
  log: (line: string) => void
}

const save = (init: WorldSnapshotsInit) =>
  init.snapshots
    .save(init.world)
    .catch((error: Error) => init.log(`world-model snapshot failed: ${error.message}`))

/** Saves on stop: listed early, so it stops late, after everything that writes the world model. */
export function finalWorldSnapshot(init: WorldSnapshotsInit): LifecyclePart {
  return part('world-snapshot-final', { stop: () => save(init) })
}

export function periodicWorldSnapshots(init: WorldSnapshotsInit): LifecyclePart {
  let timer: NodeJS.Timeout | undefined
  return part('world-snapshot-timer', {
    start: () => {
      timer = setInterval(() => void save(init), WORLD_SNAPSHOT_INTERVAL_MS)
      timer.unref()
    },
    stop: () => clearInterval(timer),
  })
}
