/**
 * The device-driver contract: what a node needs from the code that moves one valve or pump. The mock
 * (mock-actuator.ts) implements it; a GPIO or Modbus driver implements the same interface and passes
 * the same contract suite (device-driver.contract.ts).
 *
 * A driver applies the operations its site manifest declares — checking the arguments against the
 * declared bounds itself, because the node that touches the hardware is the last line of defence —
 * and goes to its safe state on demand. It does NOT end bounded actions by itself: the node's
 * ActionTimers (action-timers.ts) owns every end time, persisted, so an action ends on time after a
 * partition or a crash and restart of either side. A driver only says when an action must end
 * (`endOf`). Every change yields observation data so the mesh sees the new state as a frame.
 */
import type { SiteActuator } from '../site/site-model.ts'
import type { ObservationData } from './mock-sensor.ts'

export interface ActuatorState {
  readonly id: string
  readonly capability: string
  readonly kind: SiteActuator['kind']
  readonly zone: string
  readonly open: boolean
  /** When the current state began (ms). */
  readonly since: number
  /** When the node's action timer ends the current action (ms); undefined while closed. */
  readonly until?: number
}

export type ActuatorErrorCode = 'unknown-operation' | 'invalid-args'

export type ApplyResult =
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

/** What driving to the safe state did. */
export interface DriveSafeResult {
  /** False when the actuator was already in its safe state. */
  readonly changed: boolean
  readonly state: ActuatorState
  readonly observations: readonly ObservationData[]
}

export interface ActuatorDriver {
  readonly actuator: SiteActuator
  readonly state: ActuatorState
  /** When an operation applied at `now` must be ended by the node's timer; undefined when it is not
   * a bounded action (closing, or an operation without a duration). Does not touch the device. */
  endOf(operation: string, args: Record<string, unknown>, now: number): number | undefined
  /** Moves the device, after checking the operation and its arguments against the manifest. */
  apply(operation: string, args: Record<string, unknown>, now: number): ApplyResult
  /** Moves the device to its safe state (valve closed, pump stopped) whatever it was doing. Never
   * refuses; `reason` is kept for the driver's own log. */
  driveSafe(reason: string, now?: number): DriveSafeResult
}

/** The drivers of one node, by capability. */
export interface ActuatorDrivers {
  get(capability: string): ActuatorDriver | undefined
  all(): readonly ActuatorDriver[]
}
