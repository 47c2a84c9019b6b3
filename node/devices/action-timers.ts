/**
 * Bounded actions end at the hardware. When a driver applies an operation with an end (`open` for
 * 300 s), the end time is written to `<stateDir>/devices/actions.json` BEFORE the device moves, and a
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
import { join } from 'node:path'
import { z } from 'zod'
import { writeJsonAtomic } from '../../runtime/state/atomic-file.ts'
import type { ActuatorDrivers, ApplyResult, DriveSafeResult } from './device-driver.ts'

/** setTimeout's longest delay (about 24.8 days); a longer wait re-arms when it fires. */
const MAX_TIMER_DELAY_MS = 2 ** 31 - 1

export function actionsFilePath(stateDir: string): string {
  return join(stateDir, 'devices', 'actions.json')
}

const pendingActionSchema = z.strictObject({
  capability: z.string().min(1),
  operation: z.string().min(1),
  startedAt: z.number(),
  until: z.number(),
  proposalId: z.string().optional(),
})
export type PendingAction = z.infer<typeof pendingActionSchema>
const actionsFileSchema = z.strictObject({ version: z.literal(1), actions: z.array(pendingActionSchema) })

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
  #stopped = false

  /** Reads the pending actions now (a small file), so an `apply` before `start` keeps them. */
  constructor(init: ActionTimersInit) {
    this.#init = init
    this.#path = actionsFilePath(init.stateDir)
    for (const action of readPendingActions(this.#path, init.log))
      this.#pending.set(action.capability, action)
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
    await this.#persist()
  }

  /** Clears the timers; the pending actions stay on disk and are handled at the next start. */
  stop(): void {
    this.#stopped = true
    for (const timer of this.#timers.values()) clearTimeout(timer)
    this.#timers.clear()
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
      this.#pending.set(capability, {
        capability,
        operation,
        startedAt: now,
        until,
        ...(proposalId === undefined ? {} : { proposalId }),
      })
      await this.#persist()
    }
    const outcome = driver.apply(operation, args, now)
    if (!outcome.ok) {
      if (until !== undefined) {
        if (previous === undefined) this.#pending.delete(capability)
        else this.#pending.set(capability, previous)
        await this.#persist()
      }
      return outcome
    }
    const action = this.#pending.get(capability)
    if (until !== undefined && action !== undefined) this.#arm(action)
    else if (!outcome.state.open && previous !== undefined) {
      // Closed by an operation: the pending end has nothing left to end.
      this.#disarm(capability)
      await this.#persist()
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
    await this.#persist()
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

  /** Writes are chained so the file always holds the latest pending set, in order. */
  #persist(): Promise<void> {
    const snapshot = { version: 1 as const, actions: [...this.#pending.values()] }
    this.#writes = this.#writes.then(() => writeJsonAtomic(this.#path, snapshot))
    return this.#writes
  }
}

function describeAction(action: PendingAction): string {
  const proposal = action.proposalId === undefined ? '' : ` (proposal ${action.proposalId})`
  return `started ${new Date(action.startedAt).toISOString()} for ${Math.round((action.until - action.startedAt) / 1000)} s${proposal}`
}

/** An unreadable file is reported and read as empty: the mock's positions file then still says
 * which valves are open, and the fail-safe watchdog covers a site that declares one. */
function readPendingActions(path: string, log: (line: string) => void): PendingAction[] {
  let text: string
  try {
    text = readFileSync(path, 'utf8')
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT')
      log(`cannot read ${path}: ${(error as Error).message}`)
    return []
  }
  try {
    const parsed = actionsFileSchema.safeParse(JSON.parse(text))
    if (parsed.success) return parsed.data.actions
    log(`${path} is invalid (${parsed.error.issues[0]?.message ?? 'wrong shape'}); pending action ends lost`)
  } catch (error) {
    log(`${path} is not JSON (${(error as Error).message}); pending action ends lost`)
  }
  return []
}
