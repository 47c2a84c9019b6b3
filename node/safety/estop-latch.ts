/**
 * The actuator's emergency-stop latches and cancelled commands, `<stateDir>/safety/estop-latches.json`
 * (atomic rewrite, node/state/atomic-file.ts). A latch is set before the device is driven safe and
 * stays until an approved `estop.clear` command for that actuator runs, across restarts; a latched
 * actuator refuses every other command (`estop-latched`). A cancelled command hash is refused
 * (`cancelled`) until the proposal's expiry, even after its ledger's `started`. The last clear of each
 * actuator is kept so an order signed before it cannot re-latch (a replay, or a slow relay).
 */
import { join } from 'node:path'
import { z } from 'zod'
import { sha256HexSchema, timestampSchema } from '../../protocol/safety/schemas.ts'
import { readJsonFile, writeJsonAtomic } from '../../runtime/state/atomic-file.ts'
import { SerialQueue } from './durable-append.ts'

export function estopLatchPath(stateDir: string): string {
  return join(stateDir, 'safety', 'estop-latches.json')
}

/** Cancelled commands kept at once: a site cancels a handful a day; past this the oldest-expiring
 * ones go first (the policy refuses an expired command anyway). */
export const CANCELLED_COMMANDS_MAX = 1_024

const latchSchema = z.strictObject({
  capability: z.string(),
  latchedAt: timestampSchema,
  operatorId: z.string(),
  reason: z.string(),
  /** The order's own time: orders issued before the last clear do not re-latch. */
  orderIssuedAt: timestampSchema,
})
export type EstopLatch = z.infer<typeof latchSchema>

const cancelledSchema = z.strictObject({
  hash: sha256HexSchema,
  proposalId: z.string(),
  reason: z.string(),
  until: timestampSchema,
})
export type CancelledCommand = z.infer<typeof cancelledSchema>

const fileSchema = z.strictObject({
  version: z.literal(1),
  latches: z.array(latchSchema),
  clearedAt: z.record(z.string(), timestampSchema),
  cancelled: z.array(cancelledSchema),
})

export class EstopLatches {
  readonly path: string
  readonly #latches = new Map<string, EstopLatch>()
  readonly #clearedAt = new Map<string, number>()
  readonly #cancelled = new Map<string, CancelledCommand>()
  readonly #queue = new SerialQueue()

  private constructor(path: string) {
    this.path = path
  }

  static async open(stateDir: string): Promise<EstopLatches> {
    const store = new EstopLatches(estopLatchPath(stateDir))
    const file = await readJsonFile(store.path, fileSchema, 'emergency-stop latches')
    for (const latch of file?.latches ?? []) store.#latches.set(latch.capability, latch)
    for (const [capability, at] of Object.entries(file?.clearedAt ?? {})) store.#clearedAt.set(capability, at)
    for (const entry of file?.cancelled ?? []) store.#cancelled.set(entry.hash, entry)
    return store
  }

  latch(capability: string): EstopLatch | undefined {
    return this.#latches.get(capability)
  }

  list(): EstopLatch[] {
    return [...this.#latches.values()]
  }

  /** An order issued at or before the actuator's last clear is stale for it. */
  clearedAfter(capability: string, orderIssuedAt: number): boolean {
    const cleared = this.#clearedAt.get(capability)
    return cleared !== undefined && orderIssuedAt <= cleared
  }

  /** Sets the latches (kept as they are where already set) and resolves once they are on disk. */
  set(latches: readonly EstopLatch[]): Promise<void> {
    for (const latch of latches) {
      if (!this.#latches.has(latch.capability)) this.#latches.set(latch.capability, latch)
    }
    return this.#persist()
  }

  /** Clears one latch; `at` must be the clear proposal's creation time (orders after it latch again). */
  clear(capability: string, at: number): Promise<void> {
    this.#latches.delete(capability)
    this.#clearedAt.set(capability, Math.max(at, this.#clearedAt.get(capability) ?? 0))
    return this.#persist()
  }

  cancelled(hash: string): CancelledCommand | undefined {
    return this.#cancelled.get(hash)
  }

  cancel(entry: CancelledCommand, now: number): Promise<void> {
    for (const [hash, kept] of this.#cancelled) if (kept.until < now) this.#cancelled.delete(hash)
    this.#cancelled.set(entry.hash, entry)
    if (this.#cancelled.size > CANCELLED_COMMANDS_MAX) {
      const oldest = [...this.#cancelled.values()].sort((a, b) => a.until - b.until)[0]
      if (oldest !== undefined) this.#cancelled.delete(oldest.hash)
    }
    return this.#persist()
  }

  #persist(): Promise<void> {
    const snapshot = {
      version: 1 as const,
      latches: [...this.#latches.values()],
      clearedAt: Object.fromEntries(this.#clearedAt),
      cancelled: [...this.#cancelled.values()],
    }
    return this.#queue.run(() => writeJsonAtomic(this.path, snapshot))
  }
}
