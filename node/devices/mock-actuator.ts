/**
 * Simulated valves and pumps: the mock implementation of the device-driver contract
 * (device-driver.ts). A mock actuator keeps its state (open or closed, since when, until when) and
 * executes the operations its site manifest declares, checking the arguments against the declared
 * bounds itself. Like a latching valve, it stays where it was put when the node process dies: given
 * a state file, its position survives a crash and restart. It does not close by itself; the node's
 * action timers end bounded actions. Every change yields observation data for a frame.
 */
import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { z } from 'zod'
import type { SiteActuator, SiteOperation } from '../site/site-model.ts'
import type {
  ActuatorDriver,
  ActuatorDrivers,
  ActuatorState,
  ApplyResult,
  DriveSafeResult,
} from './device-driver.ts'
import type { ObservationData } from './mock-sensor.ts'

export type { ActuatorState, ApplyResult as ExecuteResult } from './device-driver.ts'

/** Operation names that open a valve or start a pump, and those that close or stop. */
const OPENING_OPERATIONS = new Set(['open', 'open-short', 'start'])
const CLOSING_OPERATIONS = new Set(['close', 'stop'])

export function mockActuatorsPath(stateDir: string): string {
  return join(stateDir, 'devices', 'mock-actuators.json')
}

/** Where a mock valve stood when the process last wrote it: what a latching valve keeps. */
const mockPositionsSchema = z.record(
  z.string(),
  z.object({ open: z.boolean(), since: z.number(), until: z.number().optional() }),
)

export class MockActuator implements ActuatorDriver {
  readonly actuator: SiteActuator
  private current: ActuatorState
  readonly #onChange: () => void

  constructor(
    actuator: SiteActuator,
    now: number,
    restored?: { open: boolean; since: number; until?: number | undefined },
    onChange: () => void = () => {},
  ) {
    this.actuator = actuator
    this.#onChange = onChange
    this.current = {
      id: actuator.id,
      capability: actuator.capability,
      kind: actuator.kind,
      zone: actuator.zone,
      open: restored?.open ?? false,
      since: restored?.since ?? now,
      ...(restored?.open === true && restored.until !== undefined ? { until: restored.until } : {}),
    }
  }

  get state(): ActuatorState {
    return this.current
  }

  /** True while open: a mock valve does not close by itself (the node's action timer closes it). */
  isOpen(): boolean {
    return this.current.open
  }

  endOf(operationName: string, args: Record<string, unknown>, now: number): number | undefined {
    if (!OPENING_OPERATIONS.has(operationName)) return undefined
    const durationSec = args['durationSec']
    return typeof durationSec === 'number' && Number.isFinite(durationSec)
      ? now + durationSec * 1_000
      : undefined
  }

  apply(operationName: string, args: Record<string, unknown>, now: number): ApplyResult {
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
      const safe = this.driveSafe(`operation ${operationName}`, now)
      return {
        ok: true,
        result: { operation: operationName, open: false, changed: safe.changed },
        state: safe.state,
        observations: safe.observations,
      }
    }
    const until = this.endOf(operationName, args, now)
    const changed = !this.current.open
    this.current = {
      ...this.closedState(this.current.since),
      open: true,
      since: changed ? now : this.current.since,
      ...(until === undefined ? {} : { until }),
    }
    this.#onChange()
    return {
      ok: true,
      result: { operation: operationName, open: true, ...(until === undefined ? {} : { until }), changed },
      state: this.current,
      observations: [this.observation()],
    }
  }

  driveSafe(_reason: string, now: number = Date.now()): DriveSafeResult {
    const changed = this.current.open
    if (changed) {
      this.current = this.closedState(now)
      this.#onChange()
    }
    return { changed, state: this.current, observations: changed ? [this.observation()] : [] }
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

/** All actuators of one node, with the inputs the sensor simulation needs. With a `stateFile`, their
 * positions are written on every change (synchronously, temporary file then rename: a mock valve
 * moves rarely) and read back at start, as a latching valve keeps its position without power. */
export class MockActuators implements ActuatorDrivers {
  private readonly byCapability = new Map<string, MockActuator>()
  readonly #stateFile: string | undefined
  #directoryMade = false

  constructor(actuators: readonly SiteActuator[], now: number, options: { stateFile?: string } = {}) {
    this.#stateFile = options.stateFile
    const restored = this.#stateFile === undefined ? {} : readPositions(this.#stateFile)
    for (const actuator of actuators)
      this.byCapability.set(
        actuator.capability,
        new MockActuator(actuator, now, restored[actuator.id], () => this.#persist()),
      )
  }

  get(capability: string): MockActuator | undefined {
    return this.byCapability.get(capability)
  }

  all(): MockActuator[] {
    return [...this.byCapability.values()]
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

  /** Zones being irrigated: a valve is open and, if the site has pumps, one of them runs. */
  wateringZones(): Set<string> {
    const actuators = [...this.byCapability.values()]
    const pumps = actuators.filter((actuator) => actuator.actuator.kind === 'pump')
    const pressure = pumps.length === 0 || pumps.some((pump) => pump.isOpen())
    const zones = new Set<string>()
    if (!pressure) return zones
    for (const actuator of actuators) {
      if (actuator.actuator.kind === 'valve' && actuator.isOpen()) zones.add(actuator.actuator.zone)
    }
    return zones
  }

  pumpRunning(): boolean {
    return [...this.byCapability.values()].some(
      (actuator) => actuator.actuator.kind === 'pump' && actuator.isOpen(),
    )
  }

  #persist(): void {
    if (this.#stateFile === undefined) return
    const positions = Object.fromEntries(
      [...this.byCapability.values()].map((actuator) => {
        const { open, since, until } = actuator.state
        return [actuator.actuator.id, until === undefined ? { open, since } : { open, since, until }]
      }),
    )
    if (!this.#directoryMade) mkdirSync(dirname(this.#stateFile), { recursive: true, mode: 0o700 })
    this.#directoryMade = true
    const temporary = `${this.#stateFile}.tmp`
    writeFileSync(temporary, `${JSON.stringify(positions)}\n`, { mode: 0o600 })
    renameSync(temporary, this.#stateFile)
  }
}

/** A missing or unreadable positions file reads as "all closed": the mock's power-on state. */
function readPositions(path: string): z.infer<typeof mockPositionsSchema> {
  try {
    const parsed = mockPositionsSchema.safeParse(JSON.parse(readFileSync(path, 'utf8')))
    return parsed.success ? parsed.data : {}
  } catch {
    return {}
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
