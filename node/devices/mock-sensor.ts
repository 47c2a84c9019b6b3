/**
 * Simulated field sensors for demos and tests: plausible, slowly varying, deterministic for a seed.
 * Temperature follows a daily cycle plus a mean-reverting random walk; soil moisture dries with
 * heat and rises while its zone is irrigated; a pond level falls while the pump runs. Readings
 * cross the site's thresholds now and then (a dry afternoon, a hot greenhouse), which is what the
 * planner and the alarms are for. No timers: the runtime calls `step(now)` on its own schedule.
 */
import type { z } from 'zod'
import type { observationDataSchema } from '../../protocol/context/frame.ts'
import type { SiteSensor } from '../site/site-model.ts'
import { SeededRandom } from './seeded-random.ts'

export type ObservationData = z.infer<typeof observationDataSchema>

export interface MockReading {
  /** The sensor's capability, for the frame's trust sources. */
  readonly capability: string
  readonly data: ObservationData
}

export interface MockSensorInputs {
  /** Zones whose irrigation valve is open (see MockActuators.wateringZones). */
  readonly wateringZones?: ReadonlySet<string>
  /** True while the pond pump runs. */
  readonly pumpRunning?: boolean
}

export interface MockSensorFieldInit {
  readonly seed?: number
  /** Simulation start time (ms); the first step integrates from here. */
  readonly start: number
}

/** Longest stretch integrated in one go; longer gaps (a suspended laptop) are split so the
 * daily cycle and drying stay smooth. */
const MAX_SUBSTEP_MS = 60_000
/** Longest gap simulated at all; beyond it the field simply resumes. */
const MAX_CATCH_UP_MS = 24 * 60 * 60_000
const HOUR_MS = 60 * 60_000

interface SensorState {
  readonly sensor: SiteSensor
  readonly random: SeededRandom
  /** Slow random component (temperature offset, generic metrics' offset, a pond's usual level). */
  drift: number
  value: number
  /** Rain that has fallen but not yet soaked in (soil moisture only). */
  pendingWater: number
}

export class MockSensorField {
  private readonly states: SensorState[]
  private last: number

  constructor(sensors: readonly SiteSensor[], init: MockSensorFieldInit) {
    const random = new SeededRandom(init.seed ?? 1)
    this.last = init.start
    this.states = sensors.map((sensor) => {
      const stream = random.fork(sensor.id)
      const value = initialValue(sensor, stream, init.start)
      // For a pond, `drift` holds the level the spring refills towards.
      return {
        sensor,
        random: stream,
        drift: sensor.metric === 'water-level' ? value : 0,
        value,
        pendingWater: 0,
      }
    })
  }

  /** Advances the simulation to `now` and returns one reading per sensor. */
  step(now: number, inputs: MockSensorInputs = {}): MockReading[] {
    let elapsed = Math.min(Math.max(0, now - this.last), MAX_CATCH_UP_MS)
    let time = now - elapsed
    while (elapsed > 0) {
      const dt = Math.min(elapsed, MAX_SUBSTEP_MS)
      time += dt
      elapsed -= dt
      for (const state of this.states) this.advance(state, time, dt, inputs)
    }
    this.last = Math.max(this.last, now)
    return this.states.map((state) => reading(state))
  }

  /** Current value of one sensor, without advancing time. */
  valueOf(sensorId: string): number | undefined {
    return this.states.find((state) => state.sensor.id === sensorId)?.value
  }

  private advance(state: SensorState, time: number, dt: number, inputs: MockSensorInputs): void {
    const hours = dt / HOUR_MS
    const { sensor, random } = state
    switch (sensor.metric) {
      case 'temperature': {
        // Ornstein–Uhlenbeck drift (weather fronts) on top of the daily cycle.
        state.drift += -0.2 * state.drift * hours + 0.6 * Math.sqrt(hours) * random.normal()
        state.value = dailyTemperature(sensor, time) + state.drift
        break
      }
      case 'soil-moisture': {
        const temperature = this.zoneTemperature(sensor.zone, time)
        // ~5–10 %/day in summer: a zone left alone crosses its low threshold within a day or two.
        const drying = (0.15 + 0.035 * Math.max(0, temperature - 12)) * hours
        const watering = inputs.wateringZones?.has(sensor.zone) === true ? 25 * hours : 0
        // A passing shower now and then (about one every four days per zone).
        // The soil takes the water up over an hour or two, not at once.
        if (random.next() < 0.01 * hours) state.pendingWater += 4 + 6 * random.next()
        const rain = Math.min(state.pendingWater, 5 * hours)
        state.pendingWater -= rain
        const noise = 0.1 * Math.sqrt(hours) * random.normal()
        state.value = clamp(state.value - drying + watering + rain + noise, 3, 65)
        break
      }
      case 'water-level': {
        const pumping = inputs.pumpRunning === true ? 12 * hours : 0
        // A spring refills the pond towards its usual level.
        const inflow = 0.05 * (state.drift - state.value) * hours
        state.value = clamp(state.value - pumping + inflow + 0.1 * Math.sqrt(hours) * random.normal(), 0, 200)
        break
      }
      default: {
        const { low, high } = sensor.thresholds
        const centre = low !== undefined && high !== undefined ? (low + high) / 2 : (low ?? high ?? 50)
        const spread = low !== undefined && high !== undefined ? (high - low) / 4 : Math.abs(centre) / 10 + 1
        state.drift += -0.5 * state.drift * hours + spread * 0.3 * Math.sqrt(hours) * random.normal()
        state.value = centre + state.drift
      }
    }
  }

  private zoneTemperature(zone: string, time: number): number {
    const sensor = this.states.find(
      (state) => state.sensor.zone === zone && state.sensor.metric === 'temperature',
    )
    return sensor === undefined ? 18 + 6 * dailyShape(time) : sensor.value
  }
}

/** -1 at 03:00, +1 at 15:00 (UTC; the demo does not model time zones). */
function dailyShape(time: number): number {
  const hourOfDay = (time % (24 * HOUR_MS)) / HOUR_MS
  return Math.sin(((hourOfDay - 9) / 24) * 2 * Math.PI)
}

function dailyTemperature(sensor: SiteSensor, time: number): number {
  // A greenhouse runs warmer and swings harder; zones of kind "greenhouse" are not visible here,
  // so the sensor's own thresholds set the scale: the mean sits at ~45% of the band.
  const { low, high } = sensor.thresholds
  const mean = low !== undefined && high !== undefined ? low + 0.45 * (high - low) : 18
  const amplitude = low !== undefined && high !== undefined ? 0.3 * (high - low) : 7
  return mean + amplitude * dailyShape(time)
}

function initialValue(sensor: SiteSensor, random: SeededRandom, start: number): number {
  const { low, high } = sensor.thresholds
  switch (sensor.metric) {
    case 'temperature':
      return dailyTemperature(sensor, start)
    case 'soil-moisture':
      // Start in the upper part of the comfortable band so the first threshold crossing comes
      // after a few simulated hours of drying, not immediately.
      return low !== undefined && high !== undefined ? low + (0.55 + 0.3 * random.next()) * (high - low) : 35
    case 'water-level':
      return (low ?? 40) + 30 + 10 * random.next()
    default:
      return low !== undefined && high !== undefined ? (low + high) / 2 : (low ?? high ?? 50)
  }
}

function reading(state: SensorState): MockReading {
  const { sensor } = state
  const value = Math.round(state.value * 10) / 10
  const { low, high } = sensor.thresholds
  const alarm = (low !== undefined && value < low) || (high !== undefined && value > high)
  const threshold = low === undefined && high === undefined ? undefined : { low, high }
  return {
    capability: sensor.capability,
    data: {
      zone: sensor.zone,
      metric: sensor.metric,
      value,
      unit: sensor.unit,
      sensor: sensor.id,
      ...(threshold === undefined ? {} : { threshold: stripUndefined(threshold) }),
      alarm,
    },
  }
}

function stripUndefined(threshold: { low?: number | undefined; high?: number | undefined }): {
  low?: number
  high?: number
} {
  return {
    ...(threshold.low === undefined ? {} : { low: threshold.low }),
    ...(threshold.high === undefined ? {} : { high: threshold.high }),
  }
}

function clamp(value: number, min: number, max: number): number {
  return Math.min(max, Math.max(min, value))
}
