import { generateKeyPair } from '@libp2p/crypto/keys'
import { beforeAll, describe, expect, it } from 'vitest'
import { canonicalBytes } from '../canonical.ts'
import { FRAME_MAX_BYTES } from '../limits.ts'
import { signEvidenceCheckpoint } from '../safety/evidence-checkpoint.ts'
import { type Signer, signerFromPrivateKey, signValue } from '../signing.ts'
import {
  computeFrameId,
  createFrame,
  type Frame,
  type FrameFields,
  frameSigningValue,
  InvalidFrameError,
  verifyFrame,
} from './frame.ts'

const NOW = 1_750_000_000_000
let origin: Signer
let stranger: Signer

beforeAll(async () => {
  origin = signerFromPrivateKey(await generateKeyPair('Ed25519'))
  stranger = signerFromPrivateKey(await generateKeyPair('Ed25519'))
})

function observation(overrides: Partial<FrameFields> = {}): FrameFields {
  return {
    meshName: 'farm',
    generation: 1,
    kind: 'observation',
    originName: 'field-1',
    timestamp: NOW,
    data: { zone: 'zone-1', metric: 'soil-moisture', value: 31.5, unit: '%', threshold: { low: 25 } },
    trust: { tier: 'T1', sources: ['sensor:soil-moisture:zone-1'] },
    ...overrides,
  } as FrameFields
}

function options(overrides: Partial<Parameters<typeof verifyFrame>[1]> = {}) {
  return {
    meshName: 'farm',
    generation: 1,
    now: NOW,
    isTrustedOrigin: (id: string) => id === origin.id,
    ...overrides,
  }
}

describe('createFrame / verifyFrame', () => {
  it('accepts a frame signed by a trusted origin and gives it the hash of its body as ID', async () => {
    const frame = await createFrame(origin, observation())
    expect(frame.origin).toBe(origin.id)
    expect(frame.frameId).toBe(computeFrameId(frame))
    const verdict = await verifyFrame(JSON.parse(JSON.stringify(frame)), options())
    expect(verdict).toEqual({ verdict: 'accept', frame })
  })

  it('gives the same fact the same ID, so duplicates are detectable', async () => {
    const first = await createFrame(origin, observation())
    const second = await createFrame(origin, observation())
    expect(second.frameId).toBe(first.frameId)
    const verdict = await verifyFrame(second, options({ isDuplicate: (id) => id === first.frameId }))
    expect(verdict).toMatchObject({ verdict: 'ignore', reason: 'duplicate' })
  })

  it('builds a frame in canonical key order whatever order its fields came in, with the same ID', async () => {
    const fields = observation()
    const reversed = Object.fromEntries(Object.entries(fields).reverse()) as FrameFields
    ;(reversed as { data: Record<string, unknown> }).data = Object.fromEntries(
      Object.entries(fields.data as Record<string, unknown>).reverse(),
    )
    const frame = await createFrame(origin, reversed)
    expect(frame.frameId).toBe((await createFrame(origin, fields)).frameId)
    // In canonical form, JSON.stringify prints the canonical bytes, so no hop has to sort.
    const { signature: _signature, ...unsigned } = frame
    expect(new TextEncoder().encode(JSON.stringify(unsigned))).toEqual(canonicalBytes(unsigned))
    expect(Object.keys(frame.data)).toEqual([...Object.keys(frame.data)].sort())
  })

  it('refuses to build a frame whose data does not match its kind', async () => {
    await expect(
      createFrame(origin, observation({ data: { metric: 'x', value: 'wet', unit: '%' } } as never)),
    ).rejects.toHaveProperty('name', InvalidFrameError.NAME)
  })

  it('rejects a tampered value as a bad signature once the ID is recomputed', async () => {
    const frame = await createFrame(origin, observation())
    const tampered = { ...frame, data: { ...frame.data, value: 99 } } as Frame
    expect(await verifyFrame(tampered, options())).toMatchObject({ verdict: 'reject', reason: 'malformed' })
    const reHashed = { ...tampered, frameId: computeFrameId(tampered) }
    expect(await verifyFrame(reHashed, options())).toMatchObject({
      verdict: 'reject',
      reason: 'bad-signature',
    })
  })

  it('rejects a frame claiming another origin than its signer', async () => {
    const frame = await createFrame(stranger, observation())
    const forged = { ...frame, origin: origin.id } as Frame
    const reHashed = { ...forged, frameId: computeFrameId(forged) }
    expect(await verifyFrame(reHashed, options())).toMatchObject({
      verdict: 'reject',
      reason: 'bad-signature',
    })
  })

  it('rejects unsigned frames as malformed', async () => {
    const { signature: _signature, ...unsigned } = await createFrame(origin, observation())
    expect(await verifyFrame(unsigned, options())).toMatchObject({ verdict: 'reject', reason: 'malformed' })
  })

  it('rejects junk, unknown kinds and extra members as malformed', async () => {
    const frame = await createFrame(origin, observation())
    for (const input of [null, 'frame', { ...frame, kind: 'gossip' }, { ...frame, extra: 1 }]) {
      expect(await verifyFrame(input, options())).toMatchObject({ verdict: 'reject', reason: 'malformed' })
    }
  })

  it('rejects frames of another mesh or generation', async () => {
    const frame = await createFrame(origin, observation())
    expect(await verifyFrame(frame, options({ meshName: 'other' }))).toMatchObject({ reason: 'wrong-mesh' })
    expect(await verifyFrame(frame, options({ generation: 2 }))).toMatchObject({
      verdict: 'reject',
      reason: 'wrong-generation',
    })
  })

  it('ignores (does not reject) frames from origins missing from the trust list', async () => {
    const frame = await createFrame(stranger, observation())
    expect(await verifyFrame(frame, options())).toMatchObject({
      verdict: 'ignore',
      reason: 'untrusted-origin',
    })
  })

  it('ignores stale frames and rejects frames dated beyond the clock-skew tolerance', async () => {
    const old = await createFrame(origin, observation({ timestamp: NOW - 11 * 60_000 }))
    expect(await verifyFrame(old, options())).toMatchObject({ verdict: 'ignore', reason: 'stale' })
    const future = await createFrame(origin, observation({ timestamp: NOW + 60_000 }))
    expect(await verifyFrame(future, options())).toMatchObject({ verdict: 'reject', reason: 'future-dated' })
    const skewed = await createFrame(origin, observation({ timestamp: NOW + 10_000 }))
    expect(await verifyFrame(skewed, options())).toMatchObject({ verdict: 'accept' })
  })

  it('rejects oversized frames before parsing them', async () => {
    const frame = await createFrame(origin, observation())
    expect(await verifyFrame(frame, options({ encodedBytes: 17 * 1024 }))).toMatchObject({
      verdict: 'reject',
      reason: 'oversized',
    })
  })

  it('refuses to build a frame larger than the frame limit', async () => {
    const fields = {
      ...observation(),
      kind: 'proposal',
      data: { blob: 'x'.repeat(20_000) },
    } as FrameFields
    await expect(createFrame(origin, fields)).rejects.toHaveProperty('name', InvalidFrameError.NAME)
  })

  it('validates the data of every kind', async () => {
    const kinds: FrameFields[] = [
      {
        ...observation(),
        kind: 'event',
        data: { type: 'valve-stuck', severity: 'critical', message: 'stuck' },
      },
      { ...observation(), kind: 'human_input', data: { text: 'water the orchard', operatorId: 'ana' } },
      {
        ...observation(),
        kind: 'inference',
        trust: { tier: 'T0', sources: [] },
        data: { text: 'dry', cites: [] },
      },
      {
        ...observation(),
        kind: 'capability_update',
        data: { role: 'field', capabilities: ['actuator:valve:zone-1'] },
      },
      { ...observation(), kind: 'agent_response', data: { text: 'ok', error: false } },
      { ...observation(), kind: 'approval', data: { decision: 'approve' } },
    ] as FrameFields[]
    for (const fields of kinds) {
      const frame = await createFrame(origin, fields)
      expect(await verifyFrame(frame, options())).toMatchObject({ verdict: 'accept' })
    }
    await expect(
      createFrame(origin, {
        ...observation(),
        kind: 'event',
        data: { type: 't', severity: 'bad', message: '' },
      } as never),
    ).rejects.toHaveProperty('name', InvalidFrameError.NAME)
  })
})

describe('frame size limit', () => {
  /** A signed proposal frame whose canonical encoding (with its signature) is `targetBytes` long. */
  async function frameOfSize(targetBytes: number): Promise<Frame> {
    const build = async (blobLength: number) => {
      const body = {
        ...observation(),
        origin: origin.id,
        kind: 'proposal',
        data: { blob: 'x'.repeat(blobLength) },
      } as unknown as Frame
      const withId = { ...body, frameId: computeFrameId(body) } as Frame
      return {
        ...withId,
        signature: await signValue(origin, 'context-frame', frameSigningValue(withId)),
      } as Frame
    }
    const empty = canonicalBytes(await build(0)).byteLength
    const frame = await build(targetBytes - empty)
    expect(canonicalBytes(frame).byteLength).toBe(targetBytes)
    return frame
  }

  it('accepts a frame of exactly FRAME_MAX_BYTES and rejects one byte more', async () => {
    expect(await verifyFrame(await frameOfSize(FRAME_MAX_BYTES), options())).toMatchObject({
      verdict: 'accept',
    })
    expect(await verifyFrame(await frameOfSize(FRAME_MAX_BYTES + 1), options())).toMatchObject({
      verdict: 'reject',
      reason: 'oversized',
    })
  })

  it('does not count a batch proof against the frame size', async () => {
    const frame = await frameOfSize(FRAME_MAX_BYTES)
    const proof = { batchHashes: [frame.frameId], batchSignature: 'not-checked-before-the-size' }
    const withProof = { ...frame, proof }
    expect(await verifyFrame(withProof, options())).toMatchObject({ verdict: 'accept' })
  })
})

describe('checkpoint frames', () => {
  it('carry a strict, self-signed evidence checkpoint and nothing else', async () => {
    const checkpoint = await signEvidenceCheckpoint(origin, { seq: 3, hash: 'd'.repeat(64) }, NOW)
    const fields = (data: unknown) =>
      observation({ kind: 'checkpoint', data, trust: { tier: 'T3', sources: ['evidence-log'] } } as never)
    const frame = await createFrame(origin, fields(checkpoint))
    expect(await verifyFrame(JSON.parse(JSON.stringify(frame)), options())).toMatchObject({
      verdict: 'accept',
    })
    await expect(createFrame(origin, fields({ ...checkpoint, note: 'extra' }))).rejects.toThrow(
      InvalidFrameError,
    )
    const { signature: _signature, ...unsigned } = checkpoint
    await expect(createFrame(origin, fields(unsigned))).rejects.toThrow(InvalidFrameError)
  })
})
