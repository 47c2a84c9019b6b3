/**
 * Runs the mock field devices the site assigns to this node: sensors publish observation frames on
 * an interval (T1: a single sensor, unverified), actuators keep valve/pump state, report every change
 * as an observation, and are offered as capabilities. Reading a sensor (`read`) and an actuator's
 * state (`state`) are L0 operations; changing an actuator goes through the safety layer.
 */
import type { Frame, FrameFields } from '../../protocol/context/index.ts'
import type { CapabilityRouter } from '../context/capability-router.ts'
import { actuatorsOfNode, type SiteModel, sensorsOfNode } from '../site/site-model.ts'
import { MockActuators } from './mock-actuator.ts'
import { type MockReading, MockSensorField } from './mock-sensor.ts'

/** Sensor reporting interval: slow-moving field values; every 2 s keeps the console's charts alive. */
export const MOCK_SENSOR_INTERVAL_MS = 2_000

export interface FieldDevicesInit {
  site: SiteModel
  nodeName: string
  sensors: boolean
  actuators: boolean
  router: CapabilityRouter
  publish(fields: FrameFields): Promise<Frame>
  meshName: string
  generation: number
  displayName: string
  seed?: number
}

export class FieldDevices {
  readonly #init: FieldDevicesInit
  readonly #field: MockSensorField | undefined
  readonly #actuators: MockActuators | undefined
  readonly #latest = new Map<string, MockReading>()
  #timer: ReturnType<typeof setInterval> | undefined

  constructor(init: FieldDevicesInit) {
    this.#init = init
    const now = Date.now()
    const sensors = init.sensors ? sensorsOfNode(init.site, init.nodeName) : []
    const actuators = init.actuators ? actuatorsOfNode(init.site, init.nodeName) : []
    this.#field =
      sensors.length > 0 ? new MockSensorField(sensors, { seed: init.seed ?? 7, start: now }) : undefined
    this.#actuators = actuators.length > 0 ? new MockActuators(actuators, now) : undefined
    for (const sensor of sensors) {
      init.router.provide(sensor.capability, (operation) => {
        if (operation !== 'read') throw new Error(`sensor ${sensor.id} supports only "read"`)
        const reading = this.#latest.get(sensor.capability)
        return reading === undefined ? { sensor: sensor.id, pending: true } : { ...reading.data }
      })
    }
    for (const actuator of actuators) {
      init.router.provide(actuator.capability, (operation) => {
        if (operation !== 'state')
          throw new Error(`actuator ${actuator.id}: only "state" is available without approval`)
        return { ...(this.#actuators?.get(actuator.capability)?.state ?? {}) }
      })
    }
  }

  get capabilities(): string[] {
    return [
      ...(this.#field === undefined
        ? []
        : sensorsOfNode(this.#init.site, this.#init.nodeName).map((sensor) => sensor.capability)),
      ...(this.#actuators === undefined ? [] : this.#actuators.states().map((state) => state.capability)),
    ]
  }

  get actuators(): MockActuators | undefined {
    return this.#actuators
  }

  start(): void {
    // Actuators report only changes; their state at start is reported once so nobody waits for one.
    for (const state of this.#actuators?.report() ?? []) {
      void this.reportObservation(state.capability, state.data, 'T3').catch(() => undefined)
    }
    void this.#step()
    this.#timer = setInterval(() => void this.#step(), MOCK_SENSOR_INTERVAL_MS)
    this.#timer.unref()
  }

  stop(): void {
    clearInterval(this.#timer)
  }

  /** Publishes an actuator change (or any observation of this node) as a frame. */
  async reportObservation(capability: string, data: MockReading['data'], tier: 'T1' | 'T3'): Promise<Frame> {
    return this.#init.publish(this.#observationFields(capability, data, tier))
  }

  #observationFields(capability: string, data: MockReading['data'], tier: 'T1' | 'T3'): FrameFields {
    return {
      generation: this.#init.generation,
      meshName: this.#init.meshName,
      kind: 'observation',
      originName: this.#init.displayName,
      data,
      trust: { tier, sources: [capability] },
    } as FrameFields
  }

  async #step(): Promise<void> {
    const now = Date.now()
    const changes = this.#actuators?.tick(now) ?? []
    const readings =
      this.#field?.step(now, {
        wateringZones: this.#actuators?.wateringZones(now) ?? new Set(),
        pumpRunning: this.#actuators?.pumpRunning(now) ?? false,
      }) ?? []
    for (const reading of readings) this.#latest.set(reading.capability, reading)
    await Promise.allSettled([
      ...changes.map((change) => this.reportObservation(change.capability, change.data, 'T3')),
      ...readings.map((reading) => this.reportObservation(reading.capability, reading.data, 'T1')),
    ])
  }
}
