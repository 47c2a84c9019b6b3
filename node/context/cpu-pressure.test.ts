import { existsSync } from 'node:fs'
import { describe, expect, it } from 'vitest'
import {
  CPU_PRESSURE_SAMPLE_MS,
  CPU_PRESSURE_SMOOTHING,
  CPU_PRESSURE_STALE_MS,
  CpuPressure,
  parsePsiSomeTotalUs,
} from './cpu-pressure.ts'

/** A fake clock and PSI counter: `advance(ms, stalledMs)` moves wall time and adds waiting time. */
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
  /** `count` readings in a row, each interval with the given share of stalled time. */
  function sustain(
    machine: ReturnType<typeof fakeMachine>,
    share: number,
    count: number,
  ): number | undefined {
    let last: number | undefined
    for (let reading = 0; reading < count; reading++) {
      machine.advance(CPU_PRESSURE_SAMPLE_MS, CPU_PRESSURE_SAMPLE_MS * share)
      last = machine.pressure.share()
    }
    return last
  }

  it('follows the share of wall time some task waited for a CPU when it lasts', () => {
    const machine = fakeMachine()
    expect(sustain(machine, 0.6, 1)).toBeCloseTo(0.6 * CPU_PRESSURE_SMOOTHING)
    expect(sustain(machine, 0.6, 15)).toBeCloseTo(0.6, 2)
    expect(sustain(machine, 0.1, 20)).toBeCloseTo(0.1, 2)
  })

  it('moves only part of the way for one busy reading', () => {
    const machine = fakeMachine()
    sustain(machine, 0.15, 20)
    const spiked = sustain(machine, 0.5, 1) as number
    expect(spiked).toBeCloseTo(0.15 + CPU_PRESSURE_SMOOTHING * (0.5 - 0.15), 2)
    expect(spiked).toBeLessThan(0.5)
  })

  it('reuses the last share between readings, so asking often costs no file read', () => {
    let reads = 0
    let clock = 0
    const pressure = new CpuPressure({
      readTotalUs: () => {
        reads++
        return clock * 1_000
      },
      now: () => clock,
    })
    clock += CPU_PRESSURE_SAMPLE_MS
    const first = pressure.share()
    clock += CPU_PRESSURE_SAMPLE_MS - 1
    expect(pressure.share()).toBe(first)
    expect(reads).toBe(2)
    clock += 1
    expect(pressure.share()).toBeGreaterThan(first as number)
    expect(reads).toBe(3)
  })

  it('keeps the share across an idle gap and measures from the end of it', () => {
    const machine = fakeMachine()
    const busy = sustain(machine, 0.8, 20) as number
    // Two quiet seconds: an average over them would say nothing about the load of the moment.
    machine.advance(CPU_PRESSURE_STALE_MS + 2_000, 0)
    expect(machine.pressure.share()).toBe(busy)
    expect(sustain(machine, 0.8, 1)).toBeCloseTo(busy)
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
