import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
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
  it('opens for the requested duration, says when it must end, and does not close by itself', () => {
    const actuator = valve()
    const opened = actuator.apply('open', { durationSec: 300 }, NOW)
    expect(opened).toMatchObject({ ok: true, result: { open: true, until: NOW + 300_000, changed: true } })
    if (!opened.ok) return
    expect(opened.observations).toEqual([
      { zone: 'zone-1', metric: 'valve-open', value: 1, unit: 'state', sensor: 'valve-zone-1' },
    ])
    for (const data of opened.observations) observationDataSchema.parse(data)
    expect(actuator.endOf('open', { durationSec: 300 }, NOW)).toBe(NOW + 300_000)
    expect(actuator.endOf('close', {}, NOW)).toBeUndefined()
    // Ending it is the node's action timer's job (action-timers.ts), through driveSafe.
    expect(actuator.isOpen()).toBe(true)
    const closed = actuator.driveSafe('action-ended', NOW + 300_000)
    expect(closed).toMatchObject({ changed: true, observations: [{ metric: 'valve-open', value: 0 }] })
    expect(actuator.state).toMatchObject({ open: false, since: NOW + 300_000 })
    expect(actuator.state.until).toBeUndefined()
    expect(actuator.driveSafe('again', NOW + 300_001)).toMatchObject({ changed: false, observations: [] })
  })

  it('closes on request and reports an unchanged close as such', () => {
    const actuator = valve()
    actuator.apply('open', { durationSec: 60 }, NOW)
    expect(actuator.apply('close', {}, NOW + 1_000)).toMatchObject({
      ok: true,
      result: { changed: true },
      state: { open: false },
    })
    const again = actuator.apply('close', {}, NOW + 2_000)
    expect(again).toMatchObject({ ok: true, result: { changed: false }, observations: [] })
  })

  it('refuses arguments outside the manifest bounds, missing durations and undeclared operations', () => {
    const actuator = valve()
    expect(actuator.apply('open', { durationSec: 601 }, NOW)).toMatchObject({
      ok: false,
      code: 'invalid-args',
    })
    expect(actuator.apply('open-short', { durationSec: 300 }, NOW)).toMatchObject({
      ok: false,
      code: 'invalid-args',
    })
    expect(actuator.apply('open', {}, NOW)).toMatchObject({ ok: false, code: 'invalid-args' })
    expect(actuator.apply('open', { durationSec: 10, force: 1 }, NOW)).toMatchObject({
      ok: false,
      code: 'invalid-args',
    })
    expect(actuator.apply('open', { durationSec: 1.5 }, NOW)).toMatchObject({
      ok: false,
      code: 'invalid-args',
    })
    expect(actuator.apply('flood', {}, NOW)).toMatchObject({ ok: false, code: 'unknown-operation' })
    expect(actuator.state.open).toBe(false)
  })

  it('extending an open valve keeps its start time and moves its end', () => {
    const actuator = valve()
    actuator.apply('open', { durationSec: 60 }, NOW)
    const extended = actuator.apply('open', { durationSec: 120 }, NOW + 30_000)
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
    actuators.get('actuator:valve:zone-2')!.apply('open', { durationSec: 600 }, NOW)
    expect(actuators.wateringZones()).toEqual(new Set())
    actuators.get('actuator:pump:zone-4')!.apply('start', { durationSec: 300 }, NOW)
    expect(actuators.wateringZones()).toEqual(new Set(['zone-2']))
    expect(actuators.pumpRunning()).toBe(true)
    actuators.get('actuator:pump:zone-4')!.driveSafe('test', NOW + 300_000)
    expect(actuators.wateringZones()).toEqual(new Set())
  })

  it('reports the present state of every actuator, closed or open, as valid observations', () => {
    const actuators = new MockActuators(site.actuators, NOW)
    actuators.get('actuator:valve:zone-2')!.apply('open', { durationSec: 600 }, NOW)
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

describe('MockActuators with a state file', () => {
  it('keeps a valve position across a restart, as a latching valve does without power', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'clawmesh-mock-'))
    try {
      const stateFile = join(dir, 'devices', 'mock-actuators.json')
      const before = new MockActuators(site.actuators, NOW, { stateFile })
      before.get('actuator:valve:zone-3')!.apply('open', { durationSec: 60 }, NOW)
      const after = new MockActuators(site.actuators, NOW + 5_000, { stateFile })
      expect(after.get('actuator:valve:zone-3')!.state).toMatchObject({
        open: true,
        since: NOW,
        until: NOW + 60_000,
      })
      expect(after.get('actuator:valve:zone-1')!.state.open).toBe(false)
    } finally {
      await rm(dir, { recursive: true, force: true })
    }
  })
})
