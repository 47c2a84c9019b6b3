/**
 * Event-loop lag, sampled by Node's histogram. A node whose loop lags cannot answer pings or
 * validate frames in time, so lag feeds `mesh.health`.
 */
import { type IntervalHistogram, monitorEventLoopDelay } from 'node:perf_hooks'

const SAMPLE_RESOLUTION_MS = 20

export class EventLoopLagMonitor {
  readonly #histogram: IntervalHistogram = monitorEventLoopDelay({ resolution: SAMPLE_RESOLUTION_MS })

  start(): void {
    this.#histogram.enable()
  }

  stop(): void {
    this.#histogram.disable()
  }

  /** p99 lag in ms since the last reset, then resets so the figure reflects recent behaviour. */
  sampleP99Ms(): number {
    const p99 = this.#histogram.percentile(99) / 1e6
    this.#histogram.reset()
    return Number.isFinite(p99) ? Math.max(0, p99 - SAMPLE_RESOLUTION_MS) : 0
  }
}
