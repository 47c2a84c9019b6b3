import { generateKeyPair } from '@libp2p/crypto/keys'
import { describe, expect, it } from 'vitest'
import { type Frame, type FrameFields, sealBatch } from '../../protocol/context/index.ts'
import type { DeviceBinding, Proposal, SiteBindingsView } from '../../protocol/safety/index.ts'
import { signerFromPrivateKey } from '../../protocol/signing.ts'
import { SafetyFacts } from './safety-facts.ts'

const MESH = { meshName: 'farm', generation: 1 }
const NOW = 1_750_000_000_000

async function sensorFrame(data: Record<string, unknown>) {
  const signer = signerFromPrivateKey(await generateKeyPair('Ed25519'))
  const fields = {
    ...MESH,
    originName: 'field-1',
    kind: 'observation',
    timestamp: NOW - 1_000,
    data,
    trust: { tier: 'T1', sources: ['sensor:soil-moisture:zone-2'] },
  } as unknown as FrameFields
  const { frames } = await sealBatch(signer, [fields])
  return { signer, frame: frames[0] as Frame }
}

function factsFor(servedBy: string, trusted: (id: string) => boolean): SafetyFacts {
  const sensor: DeviceBinding & { kind: 'sensor' } = {
    kind: 'sensor',
    siteId: 'soil-2',
    zone: 'zone-2',
    metric: 'soil-moisture',
    capability: 'sensor:soil-moisture:zone-2',
    deviceId: servedBy,
  }
  const bindings: SiteBindingsView = {
    bySiteId: (id) => (id === 'soil-2' ? sensor : undefined),
    actuatorByCapability: () => undefined,
  }
  return new SafetyFacts({
    site: undefined,
    bindings,
    mesh: MESH,
    world: { get: () => undefined, latestFor: () => undefined },
    isTrustedOrigin: trusted,
    isCommandCenter: () => false,
    isRevoked: () => false,
    now: () => NOW,
  })
}

const citing = (frameId: string) => ({ evidence: [{ frameId }] }) as unknown as Proposal
const reading = { sensor: 'soil-2', zone: 'zone-2', metric: 'soil-moisture', value: 12, unit: '%' }

describe('SafetyFacts.assessEvidence with frames a command carries', () => {
  it('assesses a carried frame the node does not hold once its origin signature verifies', async () => {
    const { signer, frame } = await sensorFrame(reading)
    const [fact] = await factsFor(signer.id, () => true).assessEvidence(citing(frame.frameId), [frame])
    expect(fact).toMatchObject({ frameId: frame.frameId, tier: 'T1', zone: 'zone-2' })
  })

  it('treats a carried frame whose body was changed under its ID as not held', async () => {
    const { signer, frame } = await sensorFrame(reading)
    // The issuer's signature no longer covers carried frames: only the frame's own ID and origin
    // signature bind it, so an altered reading must not be assessed.
    const altered = { ...frame, data: { ...frame.data, value: 2 } }
    const [fact] = await factsFor(signer.id, () => true).assessEvidence(citing(frame.frameId), [altered])
    expect(fact).toMatchObject({ tier: 'T0', basis: 'not held by this node' })
  })

  it('treats a carried frame from an origin the node does not trust as not held', async () => {
    const { signer, frame } = await sensorFrame(reading)
    const [fact] = await factsFor(signer.id, () => false).assessEvidence(citing(frame.frameId), [frame])
    expect(fact).toMatchObject({ tier: 'T0', basis: 'not held by this node' })
  })

  it('ignores carried values that are not frames', async () => {
    const { signer, frame } = await sensorFrame(reading)
    const [fact] = await factsFor(signer.id, () => true).assessEvidence(citing(frame.frameId), [
      null,
      'x',
      { frameId: frame.frameId },
    ])
    expect(fact).toMatchObject({ tier: 'T0' })
  })
})
