/**
 * Runs the mock field devices the site assigns to this node: sensors publish observation frames on
 * an interval (T1: a single sensor, unverified), actuators keep valve/pump state, report every change
 * as an observation, and are offered as capabilities. Reading a sensor (`read`) and an actuator's
 * state (`state`) are L0 operations; changing an actuator goes through the safety layer, which
 * applies it through the action timers (bounded actions end here, persisted) — and the fail-safe
 * watchdog sends actuators to their safe state when no command center is heard.
 */
import type { Frame, FrameFields } from '../../protocol/context/index.ts'
import type { CapabilityRouter } from '../context/capability-router.ts'
import { actuatorsOfNode, type SiteModel, sensorsOfNode } from '../site/site-model.ts'
import { ActionTimers, type SafeStateReport } from './action-timers.ts'
import { FailSafeWatchdog } from './fail-safe-watchdog.ts'
import { MockActuators, mockActuatorsPath } from './mock-actuator.ts'
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
  /** Where the action timers and the mock valves' positions persist (`<stateDir>/devices/`). */
  stateDir: string
  /** Publishes, logs and counts an actuator's move to its safe state (node/safety/safe-state-records.ts). */
  reportSafeState(report: SafeStateReport): Promise<void>
  /** True while a command center is heard (fail-safe-watchdog.ts). */
  commandCenterHeard(): boolean
  log(line: string): void
}

export class FieldDevices {
  readonly #init: FieldDevicesInit
  readonly #field: MockSensorField | undefined
  readonly #actuators: MockActuators | undefined
  readonly #actions: ActionTimers | undefined
  readonly #watchdog: FailSafeWatchdog | undefined
  readonly #latest = new Map<string, MockReading>()
  #timer: ReturnType<typeof setInterval> | undefined

  constructor(init: FieldDevicesInit) {
    this.#init = init
    const now = Date.now()
    const sensors = init.sensors ? sensorsOfNode(init.site, init.nodeName) : []
    const actuators = init.actuators ? actuatorsOfNode(init.site, init.nodeName) : []
    this.#field =
      sensors.length > 0 ? new MockSensorField(sensors, { seed: init.seed ?? 7, start: now }) : undefined
    this.#actuators =
      actuators.length > 0
        ? new MockActuators(actuators, now, { stateFile: mockActuatorsPath(init.stateDir) })
        : undefined
    const drivers = this.#actuators
    this.#actions =
      drivers === undefined
        ? undefined
        : new ActionTimers({
            stateDir: init.stateDir,
            drivers,
            now: Date.now,
            report: (report) => init.reportSafeState(report),
            log: init.log,
          })
    this.#watchdog =
      drivers === undefined || this.#actions === undefined
        ? undefined
        : new FailSafeWatchdog({
            drivers,
            commandCenterHeard: init.commandCenterHeard,
            driveSafe: (capability, trigger, detail) =>
              this.#actions?.driveSafe(capability, trigger, detail) ?? Promise.resolve(),
            now: Date.now,
          })
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

  /** How the safety layer moves this node's actuators: through their drivers, with bounded actions
   * ended here (action-timers.ts). An emergency stop calls `driveSafe` on it. */
  get actions(): ActionTimers | undefined {
    return this.#actions
  }

  async start(): Promise<void> {
    // Past-due actions end before anything else is reported: the first state the mesh sees is safe.
    await this.#actions?.start()
    this.#watchdog?.start()
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
    this.#watchdog?.stop()
    this.#actions?.stop()
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
    const readings =
      this.#field?.step(now, {
        wateringZones: this.#actuators?.wateringZones() ?? new Set(),
        pumpRunning: this.#actuators?.pumpRunning() ?? false,
      }) ?? []
    for (const reading of readings) this.#latest.set(reading.capability, reading)
    await Promise.allSettled([
      ...readings.map((reading) => this.reportObservation(reading.capability, reading.data, 'T1')),
    ])
  }
}
