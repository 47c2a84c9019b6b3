import { beforeAll, describe, expect, it } from 'vitest'
import { observationDataSchema } from '../../protocol/context/frame.ts'
import { DEMO_FARM_PATH, loadSiteFile, type SiteModel } from '../site/site-model.ts'
import { MockSensorField } from './mock-sensor.ts'

const START = Date.UTC(2026, 5, 1)
const HOUR = 60 * 60_000
let site: SiteModel

beforeAll(async () => {
  site = await loadSiteFile(DEMO_FARM_PATH)
})

function run(seed: number, hours: number, watering?: Set<string>) {
  const field = new MockSensorField(site.sensors, { seed, start: START })
  const history = []
  for (let h = 1; h <= hours; h++) history.push(field.step(START + h * HOUR, { wateringZones: watering }))
  return history
}

describe('MockSensorField', () => {
  it('returns one schema-valid observation per sensor, carrying its capability and thresholds', () => {
    const readings = run(1, 1)[0]!
    expect(readings.map((reading) => reading.capability)).toEqual(
      site.sensors.map((sensor) => sensor.capability),
    )
    for (const reading of readings) expect(observationDataSchema.parse(reading.data)).toEqual(reading.data)
    expect(readings[0]!.data).toMatchObject({
      zone: 'zone-1',
      metric: 'soil-moisture',
      unit: '%',
      threshold: { low: 22 },
    })
  })

  it('is deterministic for a seed and differs between seeds', () => {
    expect(run(42, 24)).toEqual(run(42, 24))
    expect(run(42, 24)).not.toEqual(run(43, 24))
  })

  it('varies slowly: no reading jumps more than a few units in ten minutes', () => {
    const field = new MockSensorField(site.sensors, { seed: 3, start: START })
    let previous = field.step(START)
    for (let minute = 10; minute <= 48 * 60; minute += 10) {
      const next = field.step(START + minute * 60_000)
      for (const [i, reading] of next.entries()) {
        expect(Math.abs(reading.data.value - previous[i]!.data.value)).toBeLessThan(3)
      }
      previous = next
    }
  })

  it('follows a daily temperature cycle: afternoons are warmer than nights', () => {
    const history = run(5, 48)
    const temperature = (hour: number) =>
      history[hour - 1]!.find((r) => r.data.sensor === 'temp-zone-1')!.data.value
    expect(temperature(15)).toBeGreaterThan(temperature(3) + 5)
    expect(temperature(39)).toBeGreaterThan(temperature(27) + 5)
  })

  it('dries soil until a low-threshold alarm, and irrigation raises moisture instead', () => {
    const dry = run(7, 96)
      .flat()
      .filter((reading) => reading.data.metric === 'soil-moisture')
    expect(dry.some((reading) => reading.data.alarm === true)).toBe(true)
    const start = run(7, 1)[0]!.find((r) => r.data.sensor === 'soil-zone-2')!.data.value
    const watered = run(7, 2, new Set(['zone-2']))[1]!.find((r) => r.data.sensor === 'soil-zone-2')!.data
      .value
    expect(watered).toBeGreaterThan(start + 20)
  })

  it('does not run backwards or explode on a clock jump', () => {
    const field = new MockSensorField(site.sensors, { seed: 9, start: START })
    const before = field.step(START + HOUR)
    expect(field.step(START)).toEqual(before)
    const afterWeek = field.step(START + 7 * 24 * HOUR)
    for (const reading of afterWeek) expect(Number.isFinite(reading.data.value)).toBe(true)
  })
})
