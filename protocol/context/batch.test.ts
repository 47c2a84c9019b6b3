import { generateKeyPair } from '@libp2p/crypto/keys'
import { beforeAll, describe, expect, it } from 'vitest'
import { FRAME_MAX_BYTES } from '../limits.ts'
import { type Signer, signerFromPrivateKey, signValue } from '../signing.ts'
import { createBatch, decodeBatch, encodeBatch, envelopeSignedFrames, InvalidBatchError } from './batch.ts'
import { batchSigningValue } from './batch-proof.ts'
import {
  buildUnsignedFrame,
  computeFrameId,
  createFrame,
  type Frame,
  type FrameFields,
  verifyFrame,
} from './frame.ts'

const NOW = 1_750_000_000_000
let origin: Signer
let stranger: Signer

beforeAll(async () => {
  origin = signerFromPrivateKey(await generateKeyPair('Ed25519'))
  stranger = signerFromPrivateKey(await generateKeyPair('Ed25519'))
})

function reading(value: number): FrameFields {
  return {
    meshName: 'farm',
    generation: 1,
    kind: 'observation',
    originName: 'field-1',
    timestamp: NOW,
    data: { zone: 'zone-1', metric: 'soil-moisture', value, unit: '%' },
    trust: { tier: 'T1', sources: ['sensor:soil-moisture:zone-1'] },
  }
}

const options = {
  meshName: 'farm',
  generation: 1,
  now: NOW,
  isTrustedOrigin: (id: string) => id === origin.id,
}

function acceptedFrames(decoded: Awaited<ReturnType<typeof decodeBatch>>): Frame[] {
  return decoded.frames.flatMap((verdict) => (verdict.verdict === 'accept' ? [verdict.frame] : []))
}

describe.each(['per-frame', 'batch-signature'] as const)('batch scheme %s', (scheme) => {
  it('round-trips and every unpacked frame verifies on its own', async () => {
    const batch = await createBatch(origin, [reading(1), reading(2), reading(3)], scheme)
    const decoded = await decodeBatch(encodeBatch(batch), options)
    expect(decoded.verdict).toBe('accept')
    const frames = acceptedFrames(decoded)
    expect(frames.map((frame) => frame.data)).toMatchObject([{ value: 1 }, { value: 2 }, { value: 3 }])
    for (const frame of frames) {
      const alone = JSON.parse(JSON.stringify(frame))
      expect(await verifyFrame(alone, options)).toMatchObject({ verdict: 'accept' })
    }
  })

  it('rejects the batch when one frame was tampered with', async () => {
    const batch = await createBatch(origin, [reading(1), reading(2)], scheme)
    const json = JSON.parse(new TextDecoder().decode(encodeBatch(batch)))
    json.frames[1].data.value = 50
    const decoded = await decodeBatch(new TextEncoder().encode(JSON.stringify(json)), options)
    expect(decoded.verdict).toBe('reject')
    expect(decoded.frames[0]).toMatchObject({ verdict: 'accept' })
    expect(decoded.frames[1]).toMatchObject({ verdict: 'reject' })
  })

  it('ignores a batch whose frames were all seen before', async () => {
    const batch = await createBatch(origin, [reading(1)], scheme)
    const decoded = await decodeBatch(encodeBatch(batch), { ...options, isDuplicate: () => true })
    expect(decoded.verdict).toBe('ignore')
  })
})

describe('batch-signature scheme', () => {
  it('rejects a frame whose proof was moved to another origin', async () => {
    const batch = await createBatch(stranger, [reading(1)], 'batch-signature')
    const json = JSON.parse(new TextDecoder().decode(encodeBatch(batch)))
    json.origin = origin.id
    json.frames[0].origin = origin.id
    const decoded = await decodeBatch(new TextEncoder().encode(JSON.stringify(json)), options)
    expect(decoded.verdict).toBe('reject')
  })

  it('does not let a proof vouch for a frame outside the signed list', async () => {
    const batch = await createBatch(origin, [reading(1)], 'batch-signature')
    const decoded = await decodeBatch(encodeBatch(batch), options)
    const [frame] = acceptedFrames(decoded)
    const other = await createFrame(origin, reading(7))
    const { signature: _signature, ...unsigned } = other
    const borrowed = { ...unsigned, proof: frame!.proof }
    expect(await verifyFrame(borrowed, options)).toMatchObject({ verdict: 'reject', reason: 'bad-signature' })
  })
})

describe('batch limits', () => {
  it('keeps a frame near the size limit verifiable alone after unpacking with a proof', async () => {
    const big = { ...reading(1), kind: 'proposal', data: { blob: 'x'.repeat(15_500) } } as FrameFields
    const fieldsList = [big, ...Array.from({ length: 63 }, (_, i) => reading(i + 2))]
    const decoded = await decodeBatch(
      encodeBatch(await createBatch(origin, fieldsList, 'batch-signature')),
      options,
    )
    expect(decoded.verdict).toBe('accept')
    const [first] = acceptedFrames(decoded)
    expect(first!.proof!.batchHashes).toHaveLength(64)
    expect(await verifyFrame(JSON.parse(JSON.stringify(first)), options)).toMatchObject({ verdict: 'accept' })
  })

  it('rejects oversized and malformed input without throwing', async () => {
    expect(await decodeBatch(new Uint8Array(300 * 1024), options)).toMatchObject({
      verdict: 'reject',
      reason: 'oversized',
    })
    expect(await decodeBatch(new TextEncoder().encode('{"nope":'), options)).toMatchObject({
      verdict: 'reject',
      reason: 'malformed',
    })
    expect(await decodeBatch(new TextEncoder().encode('{"origin":"x","frames":[]}'), options)).toMatchObject({
      verdict: 'reject',
      reason: 'malformed',
    })
  })

  it('refuses to encode a batch larger than the limit', async () => {
    const batch = await createBatch(origin, [reading(1), reading(2)], 'per-frame')
    expect(() => encodeBatch(batch, 100)).toThrow(expect.objectContaining({ code: 'PAYLOAD_TOO_LARGE' }))
  })

  it('refuses to envelope frames of several origins', async () => {
    const frames = [await createFrame(origin, reading(1)), await createFrame(stranger, reading(2))]
    expect(() => envelopeSignedFrames(frames)).toThrow(
      expect.objectContaining({ name: InvalidBatchError.NAME }),
    )
  })

  it('rejects a frame smuggled into another origin’s envelope', async () => {
    const mine = await createFrame(origin, reading(1))
    const theirs = await createFrame(stranger, reading(2))
    const bytes = new TextEncoder().encode(JSON.stringify({ origin: origin.id, frames: [mine, theirs] }))
    const decoded = await decodeBatch(bytes, options)
    expect(decoded.verdict).toBe('reject')
    expect(decoded.frames[1]).toMatchObject({ verdict: 'reject', reason: 'malformed' })
  })
})

/** A batch-signature batch of arbitrary frame objects, correctly signed by `signer`: only the rule
 * under test can make the receiver refuse it. */
async function signedBatch(signer: Signer, frames: Record<string, unknown>[]): Promise<Uint8Array> {
  const withIds = frames.map((frame) => ({ ...frame, frameId: computeFrameId(frame as Frame) }))
  const batchSignature = await signValue(
    signer,
    'frame-batch',
    batchSigningValue(
      signer.id,
      withIds.map((frame) => frame.frameId),
    ),
  )
  return new TextEncoder().encode(JSON.stringify({ origin: signer.id, frames: withIds, batchSignature }))
}

function body(value: number, overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return { ...reading(value), origin: origin.id, ...overrides }
}

describe('batch-signature scheme: every frame rule holds inside a correctly signed batch', () => {
  const cases: Array<[string, () => Record<string, unknown>, Partial<typeof options>, string, string]> = [
    ['an extra member', () => body(1, { extra: true }), {}, 'reject', 'malformed'],
    [
      'data of the wrong shape',
      () => body(1, { data: { metric: 'm', value: 'wet', unit: '%' } }),
      {},
      'reject',
      'malformed',
    ],
    ['another mesh', () => body(1), { meshName: 'other' }, 'reject', 'wrong-mesh'],
    ['another generation', () => body(1), { generation: 2 }, 'reject', 'wrong-generation'],
    ['a far-future timestamp', () => body(1, { timestamp: NOW + 60_000 }), {}, 'reject', 'future-dated'],
    ['a stale timestamp', () => body(1, { timestamp: NOW - 11 * 60_000 }), {}, 'ignore', 'stale'],
    ['an untrusted origin', () => body(1), { isTrustedOrigin: () => false }, 'ignore', 'untrusted-origin'],
    [
      'more than FRAME_MAX_BYTES',
      () => body(1, { kind: 'proposal', data: { blob: 'x'.repeat(FRAME_MAX_BYTES) } }),
      {},
      'reject',
      'oversized',
    ],
  ]
  it.each(cases)('refuses a frame with %s', async (_name, frame, overrides, verdict, reason) => {
    const bytes = await signedBatch(origin, [frame(), body(2)])
    const decoded = await decodeBatch(bytes, { ...options, ...overrides })
    expect(decoded.frames[0]).toMatchObject({ verdict, reason })
    if (verdict === 'reject') expect(decoded).toMatchObject({ verdict: 'reject', reason })
  })

  it('rejects a batch whose origin is not a device ID', async () => {
    const json = JSON.parse(new TextDecoder().decode(await signedBatch(origin, [body(1)])))
    const bytes = new TextEncoder().encode(
      JSON.stringify({ ...json, origin: 'nobody', frames: [{ ...json.frames[0], origin: 'nobody' }] }),
    )
    expect(await decodeBatch(bytes, options)).toMatchObject({ verdict: 'reject', reason: 'malformed' })
  })

  it('rejects every frame when the batch signature is not the origin’s', async () => {
    const good = JSON.parse(new TextDecoder().decode(await signedBatch(origin, [body(1), body(2)])))
    const forged = JSON.parse(new TextDecoder().decode(await signedBatch(stranger, [body(1), body(2)])))
    // The stranger's signature over the same frame IDs, presented as the origin's.
    const bytes = new TextEncoder().encode(JSON.stringify({ ...good, batchSignature: forged.batchSignature }))
    const decoded = await decodeBatch(bytes, options)
    expect(decoded).toMatchObject({ verdict: 'reject', reason: 'bad-signature' })
    expect(decoded.frames.map((frame) => frame.verdict)).toEqual(['reject', 'reject'])
  })

  it('suppresses a frame repeated within one batch as a duplicate', async () => {
    const decoded = await decodeBatch(await signedBatch(origin, [body(1), body(1)]), options)
    expect(decoded.frames.map((frame) => frame.verdict)).toEqual(['accept', 'ignore'])
  })

  it('replaces a proof smuggled into a frame with the batch’s own', async () => {
    const bogus = { batchHashes: ['0'.repeat(64)], batchSignature: 'forged' }
    const json = JSON.parse(new TextDecoder().decode(await signedBatch(origin, [body(1)])))
    json.frames[0].proof = bogus
    const decoded = await decodeBatch(new TextEncoder().encode(JSON.stringify(json)), options)
    const [frame] = acceptedFrames(decoded)
    expect(frame!.proof).toEqual({
      batchHashes: [json.frames[0].frameId],
      batchSignature: json.batchSignature,
    })
  })

  it('does not accept a verified batch signature for a different list of frame IDs', async () => {
    const batch = await createBatch(origin, [reading(1), reading(2)], 'batch-signature')
    // Verified (and remembered) once for the real list…
    expect(await decodeBatch(encodeBatch(batch), options)).toMatchObject({ verdict: 'accept' })
    // …the same signature over a list that also names another frame must still fail.
    const other = buildUnsignedFrame(origin.id, reading(3))
    const proof = {
      batchHashes: [...batch.frames.map((frame) => frame.frameId), other.frameId],
      batchSignature: batch.batchSignature as string,
    }
    expect(await verifyFrame({ ...other, proof }, options)).toMatchObject({
      verdict: 'reject',
      reason: 'bad-signature',
    })
  })
})
