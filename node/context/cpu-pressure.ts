/**
 * CPU pressure of the machine a node runs on, from Linux pressure stall information
 * (`/proc/pressure/cpu`): the share of wall time in which at least one runnable task waited for a
 * CPU. It is the signal that a node is short of CPU, which event-loop lag and the node's own CPU
 * time miss (a process waiting in the run queue burns no CPU and sees no lag until it runs).
 *
 * Sampled lazily: `share()` reads the file only when its last reading is older than the sampling
 * interval, so the probe adds no timer and no wake-up of its own (on a busy node a reading costs a
 * few µs, a few times a second). Where the kernel does not report PSI (not Linux, or built without
 * it) the share is `undefined` and callers keep their unloaded behaviour.
 */
import { readFileSync } from 'node:fs'

/** Readings closer together than this reuse the last share: long enough to average over tens of
 * gossip messages, short enough that a publisher that just got busy adapts within a few batches. */
export const CPU_PRESSURE_SAMPLE_MS = 100

/** Weight of a new reading in the smoothed share (exponential moving average): one busy 100 ms
 * (three processes waking together on a 3-node chain reach 0.3–0.5 for a reading) moves the share
 * by a third of the jump, while pressure that lasts (ten processes on two cores: 0.6–1.0 reading
 * after reading) is followed within about half a second. */
export const CPU_PRESSURE_SMOOTHING = 0.3

/** A reading this long after the previous one is not about now (the caller was idle): it starts a
 * new interval and the previous share stands until that interval is measured. */
export const CPU_PRESSURE_STALE_MS = 4 * CPU_PRESSURE_SAMPLE_MS

const PSI_CPU_PATH = '/proc/pressure/cpu'

/** The cumulative "some" stall time in µs from a PSI file's text, or undefined when absent. */
export function parsePsiSomeTotalUs(text: string): number | undefined {
  const match = /^some .*\btotal=(\d+)/m.exec(text)
  return match === null ? undefined : Number(match[1])
}

function readPsiSomeTotalUs(): number | undefined {
  try {
    return parsePsiSomeTotalUs(readFileSync(PSI_CPU_PATH, 'utf8'))
  } catch {
    return undefined
  }
}

export interface CpuPressureInit {
  /** Cumulative stall time in µs (tests inject one); undefined = not available. */
  readonly readTotalUs?: () => number | undefined
  /** Monotonic clock in ms (tests inject one). */
  readonly now?: () => number
}

export class CpuPressure {
  readonly #read: () => number | undefined
  readonly #now: () => number
  #available: boolean
  #lastAt: number
  #lastTotalUs: number
  #share = 0

  constructor(init: CpuPressureInit = {}) {
    this.#read = init.readTotalUs ?? readPsiSomeTotalUs
    this.#now = init.now ?? (() => performance.now())
    const total = this.#read()
    this.#available = total !== undefined
    this.#lastTotalUs = total ?? 0
    this.#lastAt = this.#now()
  }

  /** Share (0–1) of recent time in which a task waited for a CPU, smoothed over readings (see
   * `CPU_PRESSURE_SMOOTHING`); unchanged when the last reading is recent, or when it is stale (see
   * `CPU_PRESSURE_STALE_MS`); undefined when the kernel does not report it. */
  share(): number | undefined {
    if (!this.#available) return undefined
    const now = this.#now()
    const elapsedMs = now - this.#lastAt
    if (elapsedMs < CPU_PRESSURE_SAMPLE_MS) return this.#share
    const total = this.#read()
    if (total === undefined) {
      this.#available = false
      return undefined
    }
    if (elapsedMs < CPU_PRESSURE_STALE_MS) {
      const reading = Math.min(1, Math.max(0, (total - this.#lastTotalUs) / 1_000 / elapsedMs))
      this.#share += CPU_PRESSURE_SMOOTHING * (reading - this.#share)
    }
    this.#lastTotalUs = total
    this.#lastAt = now
    return this.#share
  }
}
