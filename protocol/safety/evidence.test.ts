import { beforeAll, describe, expect, it } from 'vitest'
import { NOW, newSigner } from '../../test/helpers/safety-fixtures.ts'
import { createFrame, type Frame, type FrameFields } from '../context/index.ts'
import { DEFAULT_MESH_NAME, PROTOCOL_GENERATION } from '../mesh.ts'
import type { Signer } from '../signing.ts'
import {
  assessEvidenceFrame,
  type DeviceBinding,
  isRelevantEvidence,
  type SiteBindingsView,
} from './evidence.ts'

let field: Signer
let rogue: Signer

beforeAll(async () => {
  field = await newSigner()
  rogue = await newSigner()
})

function bindings(): SiteBindingsView {
  const soil: DeviceBinding & { kind: 'sensor' } = {
    kind: 'sensor',
    siteId: 'soil-zone-1',
    zone: 'zone-1',
    metric: 'soil-moisture',
    capability: 'sensor:soil-moisture:zone-1',
    deviceId: field.id,
  }
  const valve: DeviceBinding & { kind: 'actuator' } = {
    kind: 'actuator',
    siteId: 'valve-zone-1',
    zone: 'zone-1',
    capability: 'actuator:valve:zone-1',
    deviceId: field.id,
  }
  return {
    bySiteId: (id) => (id === soil.siteId ? soil : id === valve.siteId ? valve : undefined),
    actuatorByCapability: (capability) => (capability === valve.capability ? valve : undefined),
  }
}

const frame = (signer: Signer, fields: Omit<FrameFields, 'generation' | 'meshName' | 'originName'>) =>
  createFrame(signer, {
    ...fields,
    generation: PROTOCOL_GENERATION,
    meshName: DEFAULT_MESH_NAME,
    originName: 'x',
    timestamp: NOW,
  } as FrameFields) as Promise<Frame>

const soilReading = (signer: Signer, tier: 'T0' | 'T1' | 'T3' = 'T1') =>
  frame(signer, {
    kind: 'observation',
    data: { metric: 'soil-moisture', sensor: 'soil-zone-1', unit: '%', value: 3, zone: 'zone-1' },
    trust: { tier, sources: ['x'] },
  })

describe('evidence tiers are the receiver’s', () => {
  it('a reading from the bound device is T1 whatever tier it claims', async () => {
    expect(assessEvidenceFrame(await soilReading(field, 'T3'), bindings())).toMatchObject({
      tier: 'T1',
      zone: 'zone-1',
      metric: 'soil-moisture',
    })
  })

  it('the same reading from another trusted device is T0, even labelled T3', async () => {
    expect(assessEvidenceFrame(await soilReading(rogue, 'T3'), bindings()).tier).toBe('T0')
  })

  it('a capability_update labelled T3 is never evidence', async () => {
    const update = await frame(field, {
      kind: 'capability_update',
      data: { capabilities: [], role: 'planner' },
      trust: { tier: 'T3', sources: ['node-config'] },
    })
    expect(assessEvidenceFrame(update, bindings()).tier).toBe('T0')
  })

  it('an execution frame is T3 only from the actuator’s bound device', async () => {
    const execution = (signer: Signer) =>
      frame(signer, {
        kind: 'execution',
        data: { capability: 'actuator:valve:zone-1', status: 'completed' },
        trust: { tier: 'T3', sources: ['x'] },
      })
    expect(assessEvidenceFrame(await execution(field), bindings()).tier).toBe('T3')
    expect(assessEvidenceFrame(await execution(rogue), bindings()).tier).toBe('T0')
  })

  it('relevance needs the zone, a named metric and freshness at proposal time', async () => {
    const fact = assessEvidenceFrame(await soilReading(field), bindings())
    const requirement = { zone: 'zone-1', metrics: ['soil-moisture'], maxAgeMs: 60_000 }
    expect(isRelevantEvidence(fact, requirement, NOW + 59_000)).toBe(true)
    expect(isRelevantEvidence(fact, requirement, NOW + 61_000)).toBe(false)
    expect(isRelevantEvidence(fact, { ...requirement, zone: 'zone-2' }, NOW)).toBe(false)
    expect(isRelevantEvidence(fact, { ...requirement, metrics: ['water-level'] }, NOW)).toBe(false)
  })
})
