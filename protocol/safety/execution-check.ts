/**
 * The re-check an actuator makes at execution, after the policy allowed the command and just before
 * it moves the device. Approval takes time (a person reads, walks, decides): the world the proposal
 * described may have changed since. So the actuator asks, on its own view at this moment:
 * - is the evidence the proposal rests on still fresh (`stale-evidence`)? The same relevance rule as
 *   the policy's, measured against now instead of the proposal's creation;
 * - does every guard the manifest declares hold on its own latest reading of that sensor
 *   (`guard-failed`)? A guard without a fresh reading fails: no reading is no permission.
 * Operations that move the actuator to its safe state are never re-checked: stopping is never blocked.
 */
import { type EvidenceFact, type EvidenceRequirement, isRelevantEvidence } from './evidence.ts'

export const GUARD_COMPARISONS = ['<', '<=', '>', '>='] as const
export type GuardComparison = (typeof GUARD_COMPARISONS)[number]

/** "Only while `sensor` reads `op` `value`", e.g. open the valve only while the pond level > 40. */
export interface ExecutionGuard {
  /** Site ID of the sensor whose reading decides. */
  readonly sensor: string
  readonly op: GuardComparison
  readonly value: number
}

/** The actuator's own latest measured reading of a guard's sensor (undefined: it has none). */
export interface GuardReading {
  readonly value: number
  readonly timestamp: number
}

export interface ExecutionCheckInput {
  /** The operation's evidence requirement and guards, from the actuator's own manifest. */
  readonly requirement: EvidenceRequirement | undefined
  readonly guards: readonly ExecutionGuard[]
  /** Moves to the safe state: skips the re-check. */
  readonly safeState: boolean
  /** The actuator's assessment of each cited frame. */
  readonly evidence: readonly EvidenceFact[]
  readonly readings: (sensor: string) => GuardReading | undefined
  readonly now: number
}

export type ExecutionCheckVerdict =
  | { readonly outcome: 'accept' }
  | { readonly outcome: 'reject'; readonly code: 'stale-evidence' | 'guard-failed'; readonly detail: string }

export function checkAtExecution(input: ExecutionCheckInput): ExecutionCheckVerdict {
  if (input.safeState) return { outcome: 'accept' }
  const requirement = input.requirement
  if (
    requirement !== undefined &&
    !input.evidence.some((fact) => isRelevantEvidence(fact, requirement, input.now))
  ) {
    const newest = Math.max(
      ...input.evidence
        .filter((fact) => fact.timestamp !== undefined)
        .map((fact) => fact.timestamp as number),
    )
    const age = Number.isFinite(newest) ? `${Math.round((input.now - newest) / 1000)} s old` : 'undated'
    return {
      outcome: 'reject',
      code: 'stale-evidence',
      detail: `the newest cited evidence is ${age} at execution; the manifest allows ${Math.round(requirement.maxAgeMs / 1000)} s`,
    }
  }
  for (const guard of input.guards) {
    const reading = input.readings(guard.sensor)
    const maxAgeMs = requirement?.maxAgeMs
    if (reading === undefined || (maxAgeMs !== undefined && input.now - reading.timestamp > maxAgeMs)) {
      return {
        outcome: 'reject',
        code: 'guard-failed',
        detail: `guard ${describeGuard(guard)}: no fresh reading of ${guard.sensor} at the actuator`,
      }
    }
    if (!compare(reading.value, guard.op, guard.value)) {
      return {
        outcome: 'reject',
        code: 'guard-failed',
        detail: `guard ${describeGuard(guard)} does not hold: ${guard.sensor} reads ${reading.value}`,
      }
    }
  }
  return { outcome: 'accept' }
}

export function describeGuard(guard: ExecutionGuard): string {
  return `${guard.sensor} ${guard.op} ${guard.value}`
}

function compare(reading: number, op: GuardComparison, value: number): boolean {
  switch (op) {
    case '<':
      return reading < value
    case '<=':
      return reading <= value
    case '>':
      return reading > value
    case '>=':
      return reading >= value
  }
}
