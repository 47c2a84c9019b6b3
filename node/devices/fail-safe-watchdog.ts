/**
 * The fail-safe watchdog. An actuator whose site entry declares `failSafeAfterSec` goes to its safe
 * state by itself once this node has heard from no command center for that long, and says so (the
 * report of ActionTimers.driveSafe: an execution frame, an evidence entry, a counter). "Heard" means a
 * command center this node accepts commands from is a live member of the mesh (its hello accepted,
 * its connection up) — or this node is a command center itself. It trips once per silence; hearing a
 * command center again re-arms it.
 */
import type { SafeStateTrigger } from './action-timers.ts'
import type { ActuatorDrivers } from './device-driver.ts'

/** How often the watchdog looks: a second is well inside any useful `failSafeAfterSec`. */
export const FAIL_SAFE_CHECK_INTERVAL_MS = 1_000

export interface FailSafeWatchdogInit {
  drivers: ActuatorDrivers
  /** True while a command center is heard right now. */
  commandCenterHeard(): boolean
  driveSafe(capability: string, trigger: SafeStateTrigger, detail: string): Promise<unknown>
  now(): number
  checkIntervalMs?: number
}

export class FailSafeWatchdog {
  readonly #init: FailSafeWatchdogInit
  #lastHeard = 0
  readonly #tripped = new Set<string>()
  #timer: ReturnType<typeof setInterval> | undefined

  constructor(init: FailSafeWatchdogInit) {
    this.#init = init
  }

  /** True when some actuator of this node declares a fail-safe. */
  get armed(): boolean {
    return this.#init.drivers.all().some((driver) => driver.actuator.failSafeAfterSec !== undefined)
  }

  start(): void {
    // A node that starts without a command center counts its silence from its own start.
    this.#lastHeard = this.#init.now()
    if (!this.armed) return
    this.#timer = setInterval(
      () => void this.check(),
      this.#init.checkIntervalMs ?? FAIL_SAFE_CHECK_INTERVAL_MS,
    )
    this.#timer.unref()
  }

  stop(): void {
    clearInterval(this.#timer)
    this.#timer = undefined
  }

  /** One look; exposed for tests with injected time. */
  async check(): Promise<void> {
    const now = this.#init.now()
    if (this.#init.commandCenterHeard()) {
      this.#lastHeard = now
      this.#tripped.clear()
      return
    }
    const silentMs = now - this.#lastHeard
    for (const driver of this.#init.drivers.all()) {
      const limitSec = driver.actuator.failSafeAfterSec
      const capability = driver.actuator.capability
      if (limitSec === undefined || silentMs < limitSec * 1000 || this.#tripped.has(capability)) continue
      this.#tripped.add(capability)
      await this.#init.driveSafe(
        capability,
        'fail-safe',
        `no command center heard for ${Math.round(silentMs / 1000)} s (fail-safe after ${limitSec} s)`,
      )
    }
  }
}
