/**
 * Simulated valves and pumps. A mock actuator keeps its state (open or closed, since when, until
 * when), executes the operations its site manifest declares — checking the arguments against the
 * declared bounds itself, because the node that touches the hardware is the last line of defence —
 * and closes on its own when the requested duration ends. No timers: the runtime calls `tick(now)`.
 * Every change yields observation data so the mesh sees the new state as a frame.
 */
import type { SiteActuator, SiteOperation } from '../site/site-model.ts'
import type { ObservationData } from './mock-sensor.ts'

export interface ActuatorState {
  readonly id: string
  readonly capability: string
  readonly kind: SiteActuator['kind']
  readonly zone: string
  readonly open: boolean
  /** When the current state began (ms). */
  readonly since: number
  /** When an open actuator closes by itself (ms); undefined while closed. */
  readonly until?: number
}

export type ActuatorErrorCode = 'unknown-operation' | 'invalid-args'

export type ExecuteResult =
  | {
      readonly ok: true
      readonly result: {
        readonly operation: string
        readonly open: boolean
        readonly until?: number
        readonly changed: boolean
      }
      readonly state: ActuatorState
      readonly observations: readonly ObservationData[]
    }
  | {
      readonly ok: false
      readonly code: ActuatorErrorCode
      readonly message: string
      readonly state: ActuatorState
    }

/** Operation names that open a valve or start a pump, and those that close or stop. */
const OPENING_OPERATIONS = new Set(['open', 'open-short', 'start'])
const CLOSING_OPERATIONS = new Set(['close', 'stop'])

export class MockActuator {
  readonly actuator: SiteActuator
  private current: ActuatorState

  constructor(actuator: SiteActuator, now: number) {
    this.actuator = actuator
    this.current = {
      id: actuator.id,
      capability: actuator.capability,
      kind: actuator.kind,
      zone: actuator.zone,
      open: false,
      since: now,
    }
  }

  get state(): ActuatorState {
    return this.current
  }

  /** True while open at `now` (an expired open counts as closed even before `tick`). */
  isOpenAt(now: number): boolean {
    return this.current.open && (this.current.until === undefined || now < this.current.until)
  }

  execute(operationName: string, args: Record<string, unknown>, now: number): ExecuteResult {
    const expired = this.tick(now)
    const operation = this.actuator.operations.find((candidate) => candidate.name === operationName)
    if (
      operation === undefined ||
      (!OPENING_OPERATIONS.has(operationName) && !CLOSING_OPERATIONS.has(operationName))
    ) {
      return {
        ok: false,
        code: 'unknown-operation',
        message: `${this.actuator.id} offers ${this.actuator.operations.map((op) => op.name).join(', ')}, not "${operationName}"`,
        state: this.current,
      }
    }
    const argsProblem = checkArgs(operation, args)
    if (argsProblem !== undefined)
      return { ok: false, code: 'invalid-args', message: argsProblem, state: this.current }

    if (CLOSING_OPERATIONS.has(operationName)) {
      const changed = this.current.open
      if (changed) this.current = { ...this.closedState(now) }
      return {
        ok: true,
        result: { operation: operationName, open: false, changed },
        state: this.current,
        observations: [...expired, ...(changed ? [this.observation()] : [])],
      }
    }
    const durationSec = typeof args['durationSec'] === 'number' ? args['durationSec'] : undefined
    const until = durationSec === undefined ? undefined : now + durationSec * 1_000
    const changed = !this.current.open
    this.current = { ...this.current, open: true, since: changed ? now : this.current.since, until }
    return {
      ok: true,
      result: { operation: operationName, open: true, until, changed },
      state: this.current,
      observations: [...expired, this.observation()],
    }
  }

  /** Drives the actuator to its safe state (closed, stopped) whatever it was doing: an emergency stop
   * needs no operation, arguments or manifest. `reason` is for the driver's own log. */
  driveSafe(
    _reason: string,
    now: number = Date.now(),
  ): { changed: boolean; observations: ObservationData[] } {
    const expired = this.tick(now)
    const changed = this.current.open
    if (changed) this.current = this.closedState(now)
    return { changed, observations: [...expired, ...(changed ? [this.observation()] : [])] }
  }

  /** Closes the actuator if its duration has ended; returns the observation of that change. */
  tick(now: number): ObservationData[] {
    const until = this.current.until
    if (!this.current.open || until === undefined || now < until) return []
    this.current = this.closedState(until)
    return [this.observation()]
  }

  private closedState(at: number): ActuatorState {
    const { until: _until, ...rest } = this.current
    return { ...rest, open: false, since: at }
  }

  /** The present state as observation data. */
  report(): ObservationData {
    return this.observation()
  }

  private observation(): ObservationData {
    return {
      zone: this.actuator.zone,
      metric: `${this.actuator.kind}-open`,
      value: this.current.open ? 1 : 0,
      unit: 'state',
      sensor: this.actuator.id,
    }
  }
}

/** All actuators of one node, with the inputs the sensor simulation needs. */
export class MockActuators {
  private readonly byCapability = new Map<string, MockActuator>()

  constructor(actuators: readonly SiteActuator[], now: number) {
    for (const actuator of actuators)
      this.byCapability.set(actuator.capability, new MockActuator(actuator, now))
  }

  get(capability: string): MockActuator | undefined {
    return this.byCapability.get(capability)
  }

  states(): ActuatorState[] {
    return [...this.byCapability.values()].map((actuator) => actuator.state)
  }

  /** The present state of every actuator as observation data: reported once at start, so the mesh
   * knows each valve and pump before its first change. */
  report(): { capability: string; data: ObservationData }[] {
    return [...this.byCapability.values()].map((actuator) => ({
      capability: actuator.actuator.capability,
      data: actuator.report(),
    }))
  }

  tick(now: number): { capability: string; data: ObservationData }[] {
    return [...this.byCapability.values()].flatMap((actuator) =>
      actuator.tick(now).map((data) => ({ capability: actuator.actuator.capability, data })),
    )
  }

  /** Zones being irrigated: a valve is open and, if the site has pumps, one of them runs. */
  wateringZones(now: number): Set<string> {
    const actuators = [...this.byCapability.values()]
    const pumps = actuators.filter((actuator) => actuator.actuator.kind === 'pump')
    const pressure = pumps.length === 0 || pumps.some((pump) => pump.isOpenAt(now))
    const zones = new Set<string>()
    if (!pressure) return zones
    for (const actuator of actuators) {
      if (actuator.actuator.kind === 'valve' && actuator.isOpenAt(now)) zones.add(actuator.actuator.zone)
    }
    return zones
  }

  pumpRunning(now: number): boolean {
    return [...this.byCapability.values()].some(
      (actuator) => actuator.actuator.kind === 'pump' && actuator.isOpenAt(now),
    )
  }
}

function checkArgs(operation: SiteOperation, args: Record<string, unknown>): string | undefined {
  for (const name of Object.keys(args)) {
    if (!(name in operation.args)) return `"${operation.name}" takes no argument "${name}"`
  }
  for (const [name, spec] of Object.entries(operation.args)) {
    const value = args[name]
    if (value === undefined) {
      // A bounded duration is what makes an opening safe; refuse to open "forever".
      return `"${operation.name}" needs argument "${name}"${spec.max === undefined ? '' : ` (at most ${spec.max})`}`
    }
    if (typeof value !== 'number' || !Number.isFinite(value)) return `argument "${name}" must be a number`
    if (spec.type === 'integer' && !Number.isInteger(value))
      return `argument "${name}" must be a whole number`
    if (spec.min !== undefined && value < spec.min)
      return `argument "${name}" must be at least ${spec.min}, got ${value}`
    if (spec.max !== undefined && value > spec.max)
      return `argument "${name}" must be at most ${spec.max}, got ${value}`
  }
  return undefined
}
