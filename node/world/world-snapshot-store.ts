/**
 * Persists the world model across restarts as `<stateDir>/world-model-snapshot.json`. Writes are
 * atomic (temp file in the same directory, fsync, rename). Frames were verified when first
 * ingested, so signatures are not re-checked on load; every frame's shape is validated and
 * invalid entries are skipped and counted, so one damaged entry does not cost the whole state.
 */
import { readFile } from 'node:fs/promises'
import { z } from 'zod'
import { buildFrameSchema } from '../../protocol/context/frame.ts'
import { writeFileAtomic } from '../../runtime/state/atomic-file.ts'
import { statePaths } from '../../runtime/state/state-dir.ts'
import { WORLD_SNAPSHOT_MAX_AGE_MS } from './constants.ts'
import { WorldModel, type WorldModelInit } from './world-model.ts'

/** Shape check only: the full device-ID check (key decoding) already ran at ingest. */
const storedFrameSchema = buildFrameSchema(z.string().regex(/^12D3KooW[1-9A-HJ-NP-Za-km-z]{44}$/))

const snapshotEnvelopeSchema = z.object({
  version: z.literal(1),
  takenAt: z.number().int().min(0),
  frames: z.array(z.unknown()),
})

export type WorldSnapshotLoad =
  | {
      readonly loaded: true
      readonly model: WorldModel
      readonly restored: number
      readonly skipped: number
      readonly takenAt: number
    }
  | { readonly loaded: false; readonly reason: 'missing' | 'too-old' | 'unreadable'; readonly detail: string }

export interface WorldSnapshotStoreInit extends WorldModelInit {
  readonly stateDir: string
  readonly maxAgeMs?: number
}

export class WorldSnapshotStore {
  readonly path: string
  private readonly maxAgeMs: number
  private readonly modelInit: WorldModelInit

  constructor(init: WorldSnapshotStoreInit) {
    this.path = statePaths(init.stateDir).worldSnapshot
    this.maxAgeMs = init.maxAgeMs ?? WORLD_SNAPSHOT_MAX_AGE_MS
    this.modelInit = init.historyLimit === undefined ? {} : { historyLimit: init.historyLimit }
  }

  async save(model: WorldModel, now: number = Date.now()): Promise<void> {
    await writeFileAtomic(this.path, JSON.stringify(model.snapshot(now)))
  }

  /** Loads the snapshot when it exists, parses and is younger than the max age. Never throws for
   * a bad file: the node starts with an empty model and the reason says why. */
  async load(now: number = Date.now()): Promise<WorldSnapshotLoad> {
    let text: string
    try {
      text = await readFile(this.path, 'utf8')
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') {
        return { loaded: false, reason: 'missing', detail: `no world snapshot at ${this.path}` }
      }
      return {
        loaded: false,
        reason: 'unreadable',
        detail: `cannot read ${this.path}: ${(error as Error).message}`,
      }
    }
    let envelope: z.infer<typeof snapshotEnvelopeSchema>
    try {
      const parsed = snapshotEnvelopeSchema.safeParse(JSON.parse(text))
      if (!parsed.success) {
        return {
          loaded: false,
          reason: 'unreadable',
          detail: `${this.path} is not a world snapshot; starting empty`,
        }
      }
      envelope = parsed.data
    } catch (error) {
      return {
        loaded: false,
        reason: 'unreadable',
        detail: `${this.path} is not valid JSON (${(error as Error).message})`,
      }
    }
    const ageMs = now - envelope.takenAt
    if (ageMs > this.maxAgeMs) {
      return {
        loaded: false,
        reason: 'too-old',
        detail: `world snapshot is ${Math.round(ageMs / 60_000)} min old (limit ${Math.round(this.maxAgeMs / 60_000)} min); starting empty and re-syncing from peers`,
      }
    }
    const model = new WorldModel(this.modelInit)
    let restored = 0
    let skipped = 0
    for (const candidate of envelope.frames) {
      const parsed = storedFrameSchema.safeParse(candidate)
      if (parsed.success && model.ingest(parsed.data)) restored++
      else skipped++
    }
    return { loaded: true, model, restored, skipped, takenAt: envelope.takenAt }
  }
}
