/**
 * The contract suite every ActuatorDriver passes (device-driver.ts). A real driver's test file calls
 * `describeActuatorDriverContract` with a factory over its hardware (or its bench double); the mock
 * runs it in device-driver.test.ts. It checks what the node relies on: arguments checked by the
 * driver itself, a bounded action's end reported and not acted on by the driver, `driveSafe` always
 * reaching the safe state, and every change reported as observation data.
 */
import { describe, expect, it } from 'vitest'
import { observationDataSchema } from '../../protocol/context/frame.ts'
import type { ActuatorDriver } from './device-driver.ts'

export interface DriverUnderTest {
  driver: ActuatorDriver
  /** An opening operation with its bounded duration argument, e.g. `open` with `durationSec`. */
  opening: { operation: string; durationArg: string; maxDurationSec: number }
}

export function describeActuatorDriverContract(name: string, make: (now: number) => DriverUnderTest): void {
  const NOW = Date.UTC(2026, 5, 1, 6)
  describe(`ActuatorDriver contract: ${name}`, () => {
    it('reports the end of a bounded action without ending it itself', () => {
      const { driver, opening } = make(NOW)
      const args = { [opening.durationArg]: 30 }
      expect(driver.endOf(opening.operation, args, NOW)).toBe(NOW + 30_000)
      const applied = driver.apply(opening.operation, args, NOW)
      expect(applied).toMatchObject({ ok: true, state: { open: true } })
      if (applied.ok) for (const data of applied.observations) observationDataSchema.parse(data)
      // Long past its end, it is still open until the node's timer says otherwise.
      expect(driver.state.open).toBe(true)
    })

    it('refuses arguments beyond the manifest without moving', () => {
      const { driver, opening } = make(NOW)
      const refused = driver.apply(
        opening.operation,
        { [opening.durationArg]: opening.maxDurationSec + 1 },
        NOW,
      )
      expect(refused).toMatchObject({ ok: false, code: 'invalid-args' })
      expect(driver.state.open).toBe(false)
    })

    it('driveSafe reaches the safe state from any state, and says whether it moved', () => {
      const { driver, opening } = make(NOW)
      expect(driver.driveSafe('test', NOW)).toMatchObject({ changed: false, state: { open: false } })
      driver.apply(opening.operation, { [opening.durationArg]: 30 }, NOW)
      const safe = driver.driveSafe('test', NOW + 1_000)
      expect(safe).toMatchObject({ changed: true, state: { open: false } })
      for (const data of safe.observations) observationDataSchema.parse(data)
    })
  })
}
