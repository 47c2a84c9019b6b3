import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import {
  capabilitiesOfNode,
  DEMO_FARM_PATH,
  findOperation,
  loadSiteFile,
  parseSiteFile,
  SiteFileError,
} from './site-model.ts'

let dir: string
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'clawmesh-site-'))
})
afterEach(async () => {
  await rm(dir, { recursive: true, force: true })
})

async function demoJson(): Promise<Record<string, unknown>> {
  return JSON.parse(await readFile(DEMO_FARM_PATH, 'utf8'))
}

describe('site model', () => {
  it('validates the demo farm: zones, sensors and valves per zone and a pump, all on field-1', async () => {
    const site = await loadSiteFile(DEMO_FARM_PATH)
    expect(site.zones.length).toBeGreaterThanOrEqual(3)
    for (const zone of site.zones) {
      expect(
        site.sensors.some((sensor) => sensor.zone === zone.id && sensor.metric === 'soil-moisture'),
      ).toBe(true)
    }
    expect(site.actuators.some((actuator) => actuator.kind === 'pump')).toBe(true)
    expect(new Set([...site.sensors, ...site.actuators].map((device) => device.node))).toEqual(
      new Set(['field-1']),
    )
    expect(capabilitiesOfNode(site, 'field-1')).toContain('actuator:valve:zone-1')
    const open = findOperation(site, 'actuator:valve:zone-1', 'open')
    expect(open?.operation).toMatchObject({ level: 'L2', args: { durationSec: { max: 600 } } })
  })

  it('names the file and the failing fields of an invalid site file', async () => {
    const broken = await demoJson()
    ;(broken['sensors'] as Record<string, unknown>[])[0]!['zone'] = 'zone-99'
    ;(broken['actuators'] as Record<string, unknown>[])[1]!['capability'] = 'Valve 2'
    const path = join(dir, 'site.json')
    await writeFile(path, JSON.stringify(broken))
    const error = await loadSiteFile(path).catch((caught: unknown) => caught)
    expect(error).toBeInstanceOf(SiteFileError)
    const siteError = error as SiteFileError
    expect(siteError.name).toBe(SiteFileError.NAME)
    expect(siteError.message).toContain(path)
    expect(siteError.issues.some((issue) => issue.startsWith('sensors.0.zone:'))).toBe(true)
    expect(siteError.issues.some((issue) => issue.startsWith('actuators.1.capability:'))).toBe(true)
  })

  it('refuses an L1 operation without declared bounds', async () => {
    const broken = await demoJson()
    const actuator = (broken['actuators'] as { operations: Record<string, unknown>[] }[])[0]!
    actuator.operations.push({ name: 'flood', level: 'L1', args: { durationSec: { min: 1 } } })
    expect(() => parseSiteFile(broken, 'inline')).toThrow(
      expect.objectContaining({
        issues: [expect.stringMatching(/^actuators\.0\.operations\.3\.args\.durationSec\.max:/)],
      }),
    )
  })

  it('refuses duplicate device IDs and capabilities', async () => {
    const broken = await demoJson()
    const sensors = broken['sensors'] as unknown[]
    sensors.push(sensors[0])
    const error = (() => {
      try {
        parseSiteFile(broken, 'inline')
      } catch (caught) {
        return caught as SiteFileError
      }
    })()
    expect(error?.issues.join('\n')).toMatch(/duplicate device ID/)
    expect(error?.issues.join('\n')).toMatch(/served by two devices/)
  })

  it('reports a missing file and bad JSON with the path', async () => {
    const missing = join(dir, 'nope.json')
    await expect(loadSiteFile(missing)).rejects.toThrow(missing)
    const bad = join(dir, 'bad.json')
    await writeFile(bad, '{"site":')
    await expect(loadSiteFile(bad)).rejects.toMatchObject({ name: SiteFileError.NAME, path: bad })
  })
})
