/**
 * Bounded actions end at the hardware. When a driver applies an operation with an end (`open` for
 * 300 s), the end time is appended to `<stateDir>/devices/actions.jsonl` and fsynced BEFORE the
 * device moves (one write and one fdatasync on a file kept open: an atomic rewrite of a JSON file
 * cost ~1 ms per approval, nine file-system calls with two fsyncs), and a
 * timer on this node drives the actuator to its safe state at that time — whether or not any command
 * center is still reachable. The file survives a crash: at start, an action already past its end is
 * ended at once, the others are re-armed. This is part of the device-driver contract
 * (device-driver.ts): a driver never has to end an action itself, and a mock that forgot to would
 * still close on time.
 *
 * Every move to the safe state made here (an action's end, the fail-safe watchdog, an emergency stop)
 * goes through `driveSafe`, which clears the actuator's pending action and reports it.
 */
import { readFileSync } from 'node:fs'
import { type FileHandle, open, rm } from 'node:fs/promises'
import { join } from 'node:path'
import { z } from 'zod'
import { writeFileAtomic } from '../../runtime/state/atomic-file.ts'
import type { ActuatorDrivers, ApplyResult, DriveSafeResult } from './device-driver.ts'

/** setTimeout's longest delay (about 24.8 days); a longer wait re-arms when it fires. */
const MAX_TIMER_DELAY_MS = 2 ** 31 - 1

/** The journal of pending action ends: one JSON record per line, `{"set": action}` or
 * `{"clear": capability}`; replayed in order at start, then rewritten compacted. */
export function actionsJournalPath(stateDir: string): string {
  return join(stateDir, 'devices', 'actions.jsonl')
}

/** The snapshot file of the first version (one JSON document); read once and folded into the journal. */
function legacyActionsFilePath(stateDir: string): string {
  return join(stateDir, 'devices', 'actions.json')
}

/** Records appended before the journal is rewritten with only the pending actions. */
export const ACTIONS_JOURNAL_COMPACT_AFTER = 1_000

const pendingActionSchema = z.strictObject({
  capability: z.string().min(1),
  operation: z.string().min(1),
  startedAt: z.number(),
  until: z.number(),
  proposalId: z.string().optional(),
})
export type PendingAction = z.infer<typeof pendingActionSchema>
const legacyActionsFileSchema = z.strictObject({
  version: z.literal(1),
  actions: z.array(pendingActionSchema),
})
const journalRecordSchema = z.union([
  z.strictObject({ set: pendingActionSchema }),
  z.strictObject({ clear: z.string().min(1) }),
])
type JournalRecord = z.infer<typeof journalRecordSchema>

/** Why an actuator went to its safe state on this node's own initiative. */
export type SafeStateTrigger = 'action-ended' | 'action-overdue-at-start' | 'fail-safe' | 'emergency-stop'

export interface SafeStateReport {
  readonly capability: string
  readonly trigger: SafeStateTrigger
  readonly detail: string
  readonly outcome: DriveSafeResult
  /** The bounded action this ended, if one was pending. */
  readonly action?: PendingAction
}

export interface ActionTimersInit {
  stateDir: string
  drivers: ActuatorDrivers
  now(): number
  /** Publishes, logs and counts a move to the safe state (node/safety/safe-state-records.ts). */
  report(report: SafeStateReport): Promise<void>
  log(line: string): void
}

export class ActionTimers {
  readonly #init: ActionTimersInit
  readonly #path: string
  readonly #pending = new Map<string, PendingAction>()
  readonly #timers = new Map<string, ReturnType<typeof setTimeout>>()
  #writes: Promise<void> = Promise.resolve()
  #journal: FileHandle | undefined
  #recordsSinceCompaction = 0
  #stopped = false

  /** Reads the pending actions now (a small file), so an `apply` before `start` keeps them. */
  constructor(init: ActionTimersInit) {
    this.#init = init
    this.#path = actionsJournalPath(init.stateDir)
    const onDisk = readPendingActions(init.stateDir, init.log)
    for (const action of onDisk.actions) this.#pending.set(action.capability, action)
    this.#recordsSinceCompaction = onDisk.records
  }

  /** The actions pending now, by capability. */
  pending(): PendingAction[] {
    return [...this.#pending.values()]
  }

  has(capability: string): boolean {
    return this.#init.drivers.get(capability) !== undefined
  }

  /** Ends every action already past its end (a crash or a long stop outlived it) and re-arms the rest. */
  async start(): Promise<void> {
    this.#stopped = false
    const now = this.#init.now()
    for (const action of [...this.#pending.values()]) {
      if (this.#init.drivers.get(action.capability) === undefined) {
        this.#pending.delete(action.capability)
        continue
      }
      if (action.until <= now) {
        await this.driveSafe(
          action.capability,
          'action-overdue-at-start',
          `${action.operation} ${describeAction(action)} should have ended ${Math.round((now - action.until) / 1000)} s before this start`,
        )
      } else {
        this.#init.log(
          `re-armed the end of ${action.operation} on ${action.capability} in ${Math.round((action.until - now) / 1000)} s`,
        )
        this.#arm(action)
      }
    }
    await this.#compact()
  }

  /** Clears the timers; the pending actions stay on disk and are handled at the next start. */
  stop(): void {
    this.#stopped = true
    for (const timer of this.#timers.values()) clearTimeout(timer)
    this.#timers.clear()
    void this.#chain(() => this.#closeJournal()).catch(() => undefined)
  }

  /** Applies an operation through the driver: its end (if bounded) is durable before the device
   * moves. Throws when this node has no driver for the capability (ask `has` first). */
  async apply(
    capability: string,
    operation: string,
    args: Record<string, unknown>,
    proposalId?: string,
  ): Promise<ApplyResult> {
    const driver = this.#init.drivers.get(capability)
    if (driver === undefined) throw new Error(`this node has no driver for ${capability}`)
    const now = this.#init.now()
    const until = driver.endOf(operation, args, now)
    const previous = this.#pending.get(capability)
    if (until !== undefined) {
      const action: PendingAction = {
        capability,
        operation,
        startedAt: now,
        until,
        ...(proposalId === undefined ? {} : { proposalId }),
      }
      this.#pending.set(capability, action)
      await this.#record({ set: action })
    }
    const outcome = driver.apply(operation, args, now)
    if (!outcome.ok) {
      if (until !== undefined) {
        if (previous === undefined) this.#pending.delete(capability)
        else this.#pending.set(capability, previous)
        await this.#record(previous === undefined ? { clear: capability } : { set: previous })
      }
      return outcome
    }
    const action = this.#pending.get(capability)
    if (until !== undefined && action !== undefined) this.#arm(action)
    else if (!outcome.state.open && previous !== undefined) {
      // Closed by an operation: the pending end has nothing left to end.
      this.#disarm(capability)
      await this.#record({ clear: capability })
    }
    return outcome
  }

  /** Moves an actuator to its safe state now, clears its pending action, and reports it. */
  async driveSafe(
    capability: string,
    trigger: SafeStateTrigger,
    detail: string,
  ): Promise<DriveSafeResult | undefined> {
    const driver = this.#init.drivers.get(capability)
    if (driver === undefined) return undefined
    const outcome = driver.driveSafe(`${trigger}: ${detail}`, this.#init.now())
    const action = this.#pending.get(capability)
    this.#disarm(capability)
    await this.#record({ clear: capability })
    await this.#init
      .report({ capability, trigger, detail, outcome, ...(action === undefined ? {} : { action }) })
      .catch((error: Error) =>
        this.#init.log(`could not report ${trigger} of ${capability}: ${error.message}`),
      )
    return outcome
  }

  #arm(action: PendingAction): void {
    clearTimeout(this.#timers.get(action.capability))
    if (this.#stopped) return
    const delay = Math.min(MAX_TIMER_DELAY_MS, Math.max(0, action.until - this.#init.now()))
    const timer = setTimeout(() => void this.#fire(action.capability), delay)
    timer.unref()
    this.#timers.set(action.capability, timer)
  }

  #disarm(capability: string): void {
    clearTimeout(this.#timers.get(capability))
    this.#timers.delete(capability)
    this.#pending.delete(capability)
  }

  async #fire(capability: string): Promise<void> {
    this.#timers.delete(capability)
    const action = this.#pending.get(capability)
    if (action === undefined || this.#stopped) return
    if (this.#init.now() < action.until) {
      this.#arm(action)
      return
    }
    await this.driveSafe(
      capability,
      'action-ended',
      `${action.operation} ${describeAction(action)} reached its end`,
    )
  }

  /** Appends one record and fsyncs it; writes are chained, so records land in call order. A long
   * journal is rewritten with only the pending actions. */
  #record(record: JournalRecord): Promise<void> {
    return this.#chain(async () => {
      if (this.#recordsSinceCompaction >= ACTIONS_JOURNAL_COMPACT_AFTER) {
        await this.#rewrite()
        return
      }
      const journal = await this.#openJournal()
      await journal.write(`${JSON.stringify(record)}\n`)
      await journal.datasync()
      this.#recordsSinceCompaction++
    })
  }

  /** Runs a write after the previous one settled; a failed write (a full disk) fails its caller and
   * does not stop the next. */
  #chain(write: () => Promise<void>): Promise<void> {
    const next = this.#writes.catch(() => undefined).then(write)
    this.#writes = next
    return next
  }

  /** Rewrites the journal with only the pending actions (atomic rename), and drops the first
   * version's snapshot file once its actions are in the journal. */
  #compact(): Promise<void> {
    return this.#chain(() => this.#rewrite())
  }

  async #rewrite(): Promise<void> {
    await this.#closeJournal()
    const lines = [...this.#pending.values()].map((action) => `${JSON.stringify({ set: action })}\n`)
    await writeFileAtomic(this.#path, lines.join(''))
    await rm(legacyActionsFilePath(this.#init.stateDir), { force: true })
    this.#recordsSinceCompaction = lines.length
  }

  async #openJournal(): Promise<FileHandle> {
    if (this.#journal !== undefined) return this.#journal
    // The journal exists from the first compaction (start), so its directory entry is durable.
    if (this.#recordsSinceCompaction === 0) await this.#rewrite()
    this.#journal = await open(this.#path, 'a', 0o600)
    return this.#journal
  }

  async #closeJournal(): Promise<void> {
    const journal = this.#journal
    this.#journal = undefined
    await journal?.close()
  }
}

function describeAction(action: PendingAction): string {
  const proposal = action.proposalId === undefined ? '' : ` (proposal ${action.proposalId})`
  return `started ${new Date(action.startedAt).toISOString()} for ${Math.round((action.until - action.startedAt) / 1000)} s${proposal}`
}

/** The pending action ends on disk (the first version's snapshot, then the journal replayed in
 * order): what a node starting now re-arms. `records` counts the journal's complete records. */
export function readPendingActions(
  stateDir: string,
  log: (line: string) => void = () => {},
): { actions: PendingAction[]; records: number } {
  const pending = new Map<string, PendingAction>()
  for (const action of readLegacyActions(legacyActionsFilePath(stateDir), log))
    pending.set(action.capability, action)
  const replayed = replayJournal(actionsJournalPath(stateDir), log)
  for (const record of replayed) {
    if ('set' in record) pending.set(record.set.capability, record.set)
    else pending.delete(record.clear)
  }
  return { actions: [...pending.values()], records: replayed.length }
}

/** An unreadable file is reported and read as empty: the mock's positions file then still says
 * which valves are open, and the fail-safe watchdog covers a site that declares one. */
function readLegacyActions(path: string, log: (line: string) => void): PendingAction[] {
  const text = readIfPresent(path, log)
  if (text === undefined) return []
  try {
    const parsed = legacyActionsFileSchema.safeParse(JSON.parse(text))
    if (parsed.success) return parsed.data.actions
    log(`${path} is invalid (${parsed.error.issues[0]?.message ?? 'wrong shape'}); pending action ends lost`)
  } catch (error) {
    log(`${path} is not JSON (${(error as Error).message}); pending action ends lost`)
  }
  return []
}

/** The journal's complete records in order. A last line without its newline is an append a crash
 * cut short: its fsync never returned, so the device never moved for it, and it is dropped. A bad
 * line elsewhere is reported and skipped. */
function replayJournal(path: string, log: (line: string) => void): JournalRecord[] {
  const text = readIfPresent(path, log)
  if (text === undefined) return []
  const lines = text.split('\n')
  const torn = lines.pop()
  if (torn !== undefined && torn !== '') log(`${path}: dropped a record cut short by a crash`)
  const records: JournalRecord[] = []
  for (const [index, line] of lines.entries()) {
    try {
      const parsed = journalRecordSchema.safeParse(JSON.parse(line))
      if (parsed.success) records.push(parsed.data)
      else log(`${path} line ${index + 1} is invalid (${parsed.error.issues[0]?.message}); skipped`)
    } catch (error) {
      log(`${path} line ${index + 1} is not JSON (${(error as Error).message}); skipped`)
    }
  }
  return records
}

function readIfPresent(path: string, log: (line: string) => void): string | undefined {
  try {
    return readFileSync(path, 'utf8')
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT')
      log(`cannot read ${path}: ${(error as Error).message}`)
    return undefined
  }
}
