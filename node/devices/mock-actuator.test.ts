import { beforeAll, describe, expect, it } from 'vitest'
import { observationDataSchema } from '../../protocol/context/frame.ts'
import { DEMO_FARM_PATH, loadSiteFile, type SiteModel } from '../site/site-model.ts'
import { MockActuator, MockActuators } from './mock-actuator.ts'

const NOW = Date.UTC(2026, 5, 1, 6)
let site: SiteModel

beforeAll(async () => {
  site = await loadSiteFile(DEMO_FARM_PATH)
})

function valve(): MockActuator {
  return new MockActuator(
    site.actuators.find((actuator) => actuator.capability === 'actuator:valve:zone-1')!,
    NOW,
  )
}

describe('MockActuator', () => {
  it('opens for the requested duration, reports the change, and closes by itself', () => {
    const actuator = valve()
    const opened = actuator.execute('open', { durationSec: 300 }, NOW)
    expect(opened).toMatchObject({ ok: true, result: { open: true, until: NOW + 300_000, changed: true } })
    if (!opened.ok) return
    expect(opened.observations).toEqual([
      { zone: 'zone-1', metric: 'valve-open', value: 1, unit: 'state', sensor: 'valve-zone-1' },
    ])
    for (const data of opened.observations) observationDataSchema.parse(data)
    expect(actuator.tick(NOW + 299_999)).toEqual([])
    expect(actuator.isOpenAt(NOW + 299_999)).toBe(true)
    expect(actuator.tick(NOW + 400_000)).toMatchObject([{ metric: 'valve-open', value: 0 }])
    expect(actuator.state).toMatchObject({ open: false, since: NOW + 300_000 })
    expect(actuator.state.until).toBeUndefined()
  })

  it('closes on request and reports an unchanged close as such', () => {
    const actuator = valve()
    actuator.execute('open', { durationSec: 60 }, NOW)
    expect(actuator.execute('close', {}, NOW + 1_000)).toMatchObject({
      ok: true,
      result: { changed: true },
      state: { open: false },
    })
    const again = actuator.execute('close', {}, NOW + 2_000)
    expect(again).toMatchObject({ ok: true, result: { changed: false }, observations: [] })
  })

  it('refuses arguments outside the manifest bounds, missing durations and undeclared operations', () => {
    const actuator = valve()
    expect(actuator.execute('open', { durationSec: 601 }, NOW)).toMatchObject({
      ok: false,
      code: 'invalid-args',
    })
    expect(actuator.execute('open-short', { durationSec: 300 }, NOW)).toMatchObject({
      ok: false,
      code: 'invalid-args',
    })
    expect(actuator.execute('open', {}, NOW)).toMatchObject({ ok: false, code: 'invalid-args' })
    expect(actuator.execute('open', { durationSec: 10, force: 1 }, NOW)).toMatchObject({
      ok: false,
      code: 'invalid-args',
    })
    expect(actuator.execute('open', { durationSec: 1.5 }, NOW)).toMatchObject({
      ok: false,
      code: 'invalid-args',
    })
    expect(actuator.execute('flood', {}, NOW)).toMatchObject({ ok: false, code: 'unknown-operation' })
    expect(actuator.state.open).toBe(false)
  })

  it('extending an open valve keeps its start time and moves its end', () => {
    const actuator = valve()
    actuator.execute('open', { durationSec: 60 }, NOW)
    const extended = actuator.execute('open', { durationSec: 120 }, NOW + 30_000)
    expect(extended).toMatchObject({
      ok: true,
      result: { changed: false },
      state: { since: NOW, until: NOW + 150_000 },
    })
  })
})

describe('MockActuators', () => {
  it('waters a zone only while its valve is open and the pump runs', () => {
    const actuators = new MockActuators(site.actuators, NOW)
    actuators.get('actuator:valve:zone-2')!.execute('open', { durationSec: 600 }, NOW)
    expect(actuators.wateringZones(NOW + 1_000)).toEqual(new Set())
    actuators.get('actuator:pump:zone-4')!.execute('start', { durationSec: 300 }, NOW)
    expect(actuators.wateringZones(NOW + 1_000)).toEqual(new Set(['zone-2']))
    expect(actuators.pumpRunning(NOW + 1_000)).toBe(true)
    expect(actuators.wateringZones(NOW + 301_000)).toEqual(new Set())
    expect(
      actuators
        .tick(NOW + 700_000)
        .map((change) => change.capability)
        .sort(),
    ).toEqual(['actuator:pump:zone-4', 'actuator:valve:zone-2'])
    expect(actuators.states().every((state) => !state.open)).toBe(true)
  })

  it('reports the present state of every actuator, closed or open, as valid observations', () => {
    const actuators = new MockActuators(site.actuators, NOW)
    actuators.get('actuator:valve:zone-2')!.execute('open', { durationSec: 600 }, NOW)
    const report = actuators.report()
    expect(report.map((entry) => entry.capability).sort()).toEqual(
      site.actuators.map((actuator) => actuator.capability).sort(),
    )
    for (const entry of report) expect(observationDataSchema.safeParse(entry.data).success).toBe(true)
    const valve = (capability: string) => report.find((entry) => entry.capability === capability)?.data.value
    expect(valve('actuator:valve:zone-2')).toBe(1)
    expect(valve('actuator:valve:zone-1')).toBe(0)
  })
})
