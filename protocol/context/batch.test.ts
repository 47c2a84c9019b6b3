import { generateKeyPair } from '@libp2p/crypto/keys'
import { beforeAll, describe, expect, it } from 'vitest'
import { type Signer, signerFromPrivateKey } from '../signing.ts'
import { createBatch, decodeBatch, encodeBatch, envelopeSignedFrames, InvalidBatchError } from './batch.ts'
import { createFrame, type Frame, type FrameFields, verifyFrame } from './frame.ts'

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
