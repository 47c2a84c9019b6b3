/**
 * Turns raw signals (event-loop lag, memory, recent refusals) into the ok / degraded / unhealthy
 * verdict of `mesh.health`, always with the reasons so an operator knows what to look at.
 */
import type { MeshHealth } from '../../protocol/rpc/methods.ts'

/** Above this p99 loop lag, pings and frame validation start to miss their deadlines. */
export const LAG_DEGRADED_MS = 200
/** Above this, the node is effectively stalled. */
export const LAG_UNHEALTHY_MS = 2_000
/** A field node (Jetson-class, 8 GiB shared with inference) should stay well under this RSS. */
export const RSS_DEGRADED_BYTES = 1_024 * 1024 * 1024
export const RSS_UNHEALTHY_BYTES = 3 * 1_024 * 1024 * 1024
/** Refusals inside this window mark the node degraded: something is knocking that is not trusted. */
export const RECENT_REFUSAL_WINDOW_MS = 5 * 60_000

export interface HealthSignals {
  eventLoopLagMs: number
  rssBytes: number
  heapUsedBytes: number
  counters: Record<string, number>
  recentRefusals: number
  /** Reported as is (CPU pressure lengthens the publish window; it is not a health verdict). */
  publishing?: MeshHealth['publishing']
}

export function assessHealth(signals: HealthSignals): MeshHealth {
  const reasons: string[] = []
  let status: MeshHealth['status'] = 'ok'
  const worsen = (to: MeshHealth['status'], reason: string) => {
    reasons.push(reason)
    if (to === 'unhealthy' || status === 'ok') status = to
  }
  if (signals.eventLoopLagMs >= LAG_UNHEALTHY_MS)
    worsen('unhealthy', `event loop lag p99 ${signals.eventLoopLagMs.toFixed(0)} ms`)
  else if (signals.eventLoopLagMs >= LAG_DEGRADED_MS)
    worsen('degraded', `event loop lag p99 ${signals.eventLoopLagMs.toFixed(0)} ms`)
  if (signals.rssBytes >= RSS_UNHEALTHY_BYTES)
    worsen('unhealthy', `memory RSS ${(signals.rssBytes / 2 ** 20).toFixed(0)} MiB`)
  else if (signals.rssBytes >= RSS_DEGRADED_BYTES)
    worsen('degraded', `memory RSS ${(signals.rssBytes / 2 ** 20).toFixed(0)} MiB`)
  if (signals.recentRefusals > 0) {
    worsen(
      'degraded',
      `${signals.recentRefusals} connection(s) or request(s) refused in the last ${RECENT_REFUSAL_WINDOW_MS / 60_000} min`,
    )
  }
  return {
    status,
    reasons,
    counters: signals.counters,
    eventLoopLagMs: signals.eventLoopLagMs,
    rssBytes: signals.rssBytes,
    heapUsedBytes: signals.heapUsedBytes,
    ...(signals.publishing === undefined ? {} : { publishing: signals.publishing }),
  }
}
