/**
 * Decides which threshold crossings become planner alerts: one alert when a sensor leaves its band,
 * none while it stays out, and the next only after it came back by a hysteresis margin and the
 * cooldown has passed. Keyed per sensor (origin, zone, metric), so two sensors alert independently.
 * Pure over the time it is given, so tests drive it with a fake clock.
 */
import type { Frame } from '../../protocol/context/frame.ts'
import {
  PLANNER_ALERT_COOLDOWN_MS,
  PLANNER_ALERT_HYSTERESIS_FRACTION,
  PLANNER_ALERT_MAX_KEYS,
} from './constants.ts'

type ObservationFrame = Extract<Frame, { kind: 'observation' }>

export interface ThresholdCrossing {
  readonly key: string
  readonly frame: ObservationFrame
  readonly bound: 'low' | 'high'
  readonly limit: number
}

export type AlertDecision =
  | { readonly decision: 'alert'; readonly crossing: ThresholdCrossing }
  | { readonly decision: 'quiet'; readonly reason: 'in-band' | 'still-out' | 'cooldown' | 'recovered' }

export interface AlertGateInit {
  readonly hysteresisFraction?: number
  readonly cooldownMs?: number
  readonly maxKeys?: number
}

interface KeyState {
  out: boolean
  lastAlertAt: number
}

export class AlertGate {
  readonly #hysteresis: number
  readonly #cooldownMs: number
  readonly #maxKeys: number
  readonly #states = new Map<string, KeyState>()

  constructor(init: AlertGateInit = {}) {
    this.#hysteresis = init.hysteresisFraction ?? PLANNER_ALERT_HYSTERESIS_FRACTION
    this.#cooldownMs = init.cooldownMs ?? PLANNER_ALERT_COOLDOWN_MS
    this.#maxKeys = init.maxKeys ?? PLANNER_ALERT_MAX_KEYS
  }

  /** Feeds one frame; non-observations and observations without thresholds are always quiet. */
  observe(frame: Frame, now: number): AlertDecision {
    if (frame.kind !== 'observation') return { decision: 'quiet', reason: 'in-band' }
    const threshold = frame.data.threshold
    if (threshold === undefined) return { decision: 'quiet', reason: 'in-band' }
    const key = sensorKey(frame)
    const state = this.#states.get(key)
    const { value } = frame.data
    const crossed =
      threshold.low !== undefined && value < threshold.low
        ? { bound: 'low' as const, limit: threshold.low }
        : threshold.high !== undefined && value > threshold.high
          ? { bound: 'high' as const, limit: threshold.high }
          : undefined
    if (crossed === undefined) {
      if (state?.out === true && this.#recovered(value, threshold)) {
        state.out = false
        return { decision: 'quiet', reason: 'recovered' }
      }
      return { decision: 'quiet', reason: state?.out === true ? 'still-out' : 'in-band' }
    }
    if (state?.out === true) return { decision: 'quiet', reason: 'still-out' }
    if (state !== undefined && now - state.lastAlertAt < this.#cooldownMs) {
      state.out = true
      return { decision: 'quiet', reason: 'cooldown' }
    }
    this.#remember(key, { out: true, lastAlertAt: now })
    return { decision: 'alert', crossing: { key, frame, ...crossed } }
  }

  #recovered(value: number, threshold: { low?: number; high?: number }): boolean {
    const { low, high } = threshold
    const band =
      low !== undefined && high !== undefined ? high - low : Math.max(1, Math.abs(low ?? high ?? 0))
    const margin = band * this.#hysteresis
    return (low === undefined || value >= low + margin) && (high === undefined || value <= high - margin)
  }

  #remember(key: string, state: KeyState): void {
    this.#states.delete(key)
    if (this.#states.size >= this.#maxKeys) {
      const oldest = this.#states.keys().next()
      if (oldest.done !== true) this.#states.delete(oldest.value)
    }
    this.#states.set(key, state)
  }
}

export function sensorKey(frame: ObservationFrame): string {
  return `${frame.origin}|${frame.data.zone ?? ''}|${frame.data.sensor ?? frame.data.metric}`
}
