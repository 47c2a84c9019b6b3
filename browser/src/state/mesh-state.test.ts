import { describe, expect, it } from 'vitest'
import type { ConsoleSite } from '../../../protocol/console-config.ts'
import type { Frame } from '../../../protocol/context/frame.ts'
import { deriveTwin, observationOf, siteBindings } from './mesh-state.ts'

const FIELD = '12D3KooWFieldFieldFieldFieldFieldFieldFieldFieldField1'
const ROGUE = '12D3KooWRogueRogueRogueRogueRogueRogueRogueRogueRogue1'

const site: ConsoleSite = {
  id: 'farm',
  name: 'Farm',
  zones: [
    {
      id: 'zone-3',
      name: 'Greenhouse',
      sensors: [],
      actuators: [{ id: 'valve-zone-3', kind: 'valve', deviceId: FIELD }],
    },
  ],
}

function valveState(origin: string, open: boolean, timestamp: number): Frame {
  return {
    kind: 'observation',
    frameId: `${origin}-${timestamp}`,
    origin,
    originName: 'field-1',
    generation: 1,
    meshName: 'clawmesh',
    timestamp,
    signature: 'sig',
    trust: { tier: 'T3', sources: ['actuator:valve:zone-3'] },
    data: {
      metric: 'valve-open',
      sensor: 'valve-zone-3',
      unit: 'state',
      value: open ? 1 : 0,
      zone: 'zone-3',
    },
  }
}

describe('the Twin takes a device’s state only from the node the site binds it to', () => {
  it('a newer “closed” from another trusted device does not hide an open valve (issue 14, observation 7)', () => {
    const bindings = siteBindings(site)
    const points = [valveState(FIELD, true, 1_000), valveState(ROGUE, false, 2_000)].flatMap((frame) => {
      const point = observationOf(frame, bindings)
      return point === undefined ? [] : [point]
    })
    expect(points.map((point) => point.origin)).toEqual([FIELD])
    expect(deriveTwin(points)[0]?.actuators[0]).toMatchObject({ source: 'valve-zone-3', open: true })
  })
})
