import { describe, expect, it } from 'vitest'
import { SiteBindings } from './site-bindings.ts'
import { parseSiteFile } from './site-model.ts'

const SELF = '12D3KooWSe1fSe1fSe1fSe1fSe1fSe1fSe1fSe1fSe1fSe1fSe1f'
const FIELD = '12D3KooWFie1dFie1dFie1dFie1dFie1dFie1dFie1dFie1dFie1'
const TWIN = '12D3KooWTwinTwinTwinTwinTwinTwinTwinTwinTwinTwinTwin1'

const site = parseSiteFile(
  {
    site: { id: 'farm', name: 'Farm' },
    zones: [{ id: 'zone-1', name: 'Orchard' }],
    sensors: [
      {
        id: 'soil-1',
        zone: 'zone-1',
        metric: 'soil-moisture',
        unit: '%',
        node: 'field-1',
        capability: 'sensor:soil-moisture:zone-1',
      },
    ],
    actuators: [
      {
        id: 'valve-1',
        zone: 'zone-1',
        kind: 'valve',
        node: 'field-1',
        capability: 'actuator:valve:zone-1',
        operations: [{ name: 'close', level: 'L1', safeState: true }],
      },
    ],
  },
  'test',
)

function trustWith(entries: Array<[string, string]>) {
  let version = 0
  const names = new Map(entries)
  return {
    get version() {
      return version
    },
    deviceNamed: (name: string) => {
      const matches = [...names].filter(([, candidate]) => candidate === name)
      return matches.length === 1 ? matches[0]?.[0] : undefined
    },
    rename(id: string, name: string) {
      names.set(id, name)
      version++
    },
  }
}

describe('site bindings come from this node’s trust store', () => {
  it('binds a site node name to the one device trusted under it', () => {
    const bindings = new SiteBindings({
      site,
      trust: trustWith([[FIELD, 'field-1']]),
      self: { deviceId: SELF, name: 'cc' },
    })
    expect(bindings.deviceFor('actuator:valve:zone-1')).toBe(FIELD)
    expect(bindings.bySiteId('soil-1')).toMatchObject({ kind: 'sensor', deviceId: FIELD, zone: 'zone-1' })
    expect(bindings.unresolvedNodes()).toEqual([])
  })

  it('binds nothing when two devices share the name, and follows trust changes', () => {
    const trust = trustWith([
      [FIELD, 'field-1'],
      [TWIN, 'field-1'],
    ])
    const bindings = new SiteBindings({ site, trust, self: { deviceId: SELF, name: 'cc' } })
    expect(bindings.deviceFor('actuator:valve:zone-1')).toBeUndefined()
    expect(bindings.unresolvedNodes()).toEqual(['field-1'])
    trust.rename(TWIN, 'spare')
    expect(bindings.deviceFor('actuator:valve:zone-1')).toBe(FIELD)
  })

  it('binds a node’s own devices to itself by its own name', () => {
    const bindings = new SiteBindings({
      site,
      trust: trustWith([]),
      self: { deviceId: SELF, name: 'field-1' },
    })
    expect(bindings.deviceFor('sensor:soil-moisture:zone-1')).toBe(SELF)
  })
})
