import { existsSync } from 'node:fs'
import { describe, expect, it } from 'vitest'
import {
  CPU_PRESSURE_SAMPLE_MS,
  CPU_PRESSURE_STALE_MS,
  CpuPressure,
  parsePsiSomeTotalUs,
} from './cpu-pressure.ts'

/** A fake clock and PSI counter: `stall(ms)` adds waiting time, `advance(ms)` wall time. */
function fakeMachine(psi: 'reported' | 'absent' = 'reported') {
  let clock = 0
  let totalUs: number | undefined = psi === 'reported' ? 1_000_000 : undefined
  const pressure = new CpuPressure({ readTotalUs: () => totalUs, now: () => clock })
  return {
    pressure,
    advance(ms: number, stalledMs = 0) {
      clock += ms
      if (totalUs !== undefined) totalUs += stalledMs * 1_000
    },
    disappear() {
      totalUs = undefined
    },
  }
}

describe('parsePsiSomeTotalUs', () => {
  it('reads the cumulative "some" stall time of a PSI file', () => {
    const text =
      'some avg10=0.10 avg60=8.29 avg300=18.39 total=7911154605\nfull avg10=0.00 avg60=0.00 avg300=0.00 total=0\n'
    expect(parsePsiSomeTotalUs(text)).toBe(7_911_154_605)
  })

  it('gives undefined for text that is not PSI', () => {
    expect(parsePsiSomeTotalUs('')).toBeUndefined()
    expect(parsePsiSomeTotalUs('full avg10=0.00 total=12')).toBeUndefined()
  })
})

describe('CpuPressure', () => {
  it('is the share of wall time some task waited for a CPU since the last reading', () => {
    const machine = fakeMachine()
    machine.advance(CPU_PRESSURE_SAMPLE_MS, CPU_PRESSURE_SAMPLE_MS * 0.6)
    expect(machine.pressure.share()).toBeCloseTo(0.6)
    machine.advance(CPU_PRESSURE_SAMPLE_MS * 2, CPU_PRESSURE_SAMPLE_MS * 0.2)
    expect(machine.pressure.share()).toBeCloseTo(0.1)
  })

  it('reuses the last share between readings, so asking often costs no file read', () => {
    const machine = fakeMachine()
    machine.advance(CPU_PRESSURE_SAMPLE_MS, CPU_PRESSURE_SAMPLE_MS)
    expect(machine.pressure.share()).toBe(1)
    machine.advance(CPU_PRESSURE_SAMPLE_MS - 1, 0)
    expect(machine.pressure.share()).toBe(1)
    machine.advance(1, 0)
    expect(machine.pressure.share()).toBeCloseTo(0)
  })

  it('keeps the previous share across an idle gap and measures from the end of it', () => {
    const machine = fakeMachine()
    machine.advance(CPU_PRESSURE_SAMPLE_MS, CPU_PRESSURE_SAMPLE_MS * 0.8)
    expect(machine.pressure.share()).toBeCloseTo(0.8)
    // Two quiet seconds: an average over them would say nothing about the load of the moment.
    machine.advance(CPU_PRESSURE_STALE_MS + 2_000, 0)
    expect(machine.pressure.share()).toBeCloseTo(0.8)
    machine.advance(CPU_PRESSURE_SAMPLE_MS, CPU_PRESSURE_SAMPLE_MS * 0.3)
    expect(machine.pressure.share()).toBeCloseTo(0.3)
  })

  it('is undefined where the kernel reports no pressure, or stops reporting it', () => {
    expect(fakeMachine('absent').pressure.share()).toBeUndefined()
    const machine = fakeMachine()
    machine.disappear()
    machine.advance(CPU_PRESSURE_SAMPLE_MS)
    expect(machine.pressure.share()).toBeUndefined()
  })

  it.runIf(existsSync('/proc/pressure/cpu'))('reads this machine’s /proc/pressure/cpu', async () => {
    const pressure = new CpuPressure()
    await new Promise((resolve) => setTimeout(resolve, CPU_PRESSURE_SAMPLE_MS + 20))
    const share = pressure.share()
    expect(share).toBeGreaterThanOrEqual(0)
    expect(share).toBeLessThanOrEqual(1)
  })
})
