import { generateKeyPair } from '@libp2p/crypto/keys'
import type { PrivateKey } from '@libp2p/interface'
import { afterEach, beforeAll, describe, expect, it } from 'vitest'
import { decodeBatch, sealBatch } from '../../protocol/context/batch.ts'
import type { FrameFields } from '../../protocol/context/frame.ts'
import {
  type Ed25519Backend,
  publicKeyOf,
  type Signer,
  signerFromPrivateKey,
  signValue,
  useNativeEd25519,
  verifyValue,
} from '../../protocol/signing.ts'
import { createNativeEd25519 } from './native-ed25519.ts'

const NOW = 1_750_000_000_000
let alice: PrivateKey
let bob: PrivateKey
let aliceId: string
let bobId: string

beforeAll(async () => {
  alice = await generateKeyPair('Ed25519')
  bob = await generateKeyPair('Ed25519')
  aliceId = signerFromPrivateKey(alice).id
  bobId = signerFromPrivateKey(bob).id
})

afterEach(() => useNativeEd25519(undefined))

/** The native backend, counting the calls it answered, so a test knows the native path ran. */
function countingNative(keyCacheSize?: number): Ed25519Backend & { verified: number; signed: number } {
  const native = createNativeEd25519(keyCacheSize)
  const counting = {
    verified: 0,
    signed: 0,
    verify: (...args: Parameters<Ed25519Backend['verify']>) => {
      const answer = native.verify(...args)
      if (answer !== undefined) counting.verified++
      return answer
    },
    sign: (...args: Parameters<Ed25519Backend['sign']>) => {
      const signature = native.sign(...args)
      if (signature !== undefined) counting.signed++
      return signature
    },
  }
  return counting
}

const message = new TextEncoder().encode('clawmesh:frame-batch:v1\n{"frameIds":["ab"],"origin":"x"}')

describe('native Ed25519', () => {
  it('gives the portable answer for valid, tampered, wrong-key and malformed signatures', async () => {
    const native = createNativeEd25519()
    const signature = await alice.sign(message)
    const tamperedMessage = Uint8Array.from(message)
    tamperedMessage[10] = (tamperedMessage[10] as number) ^ 1
    const tamperedSignature = Uint8Array.from(signature)
    tamperedSignature[5] = (tamperedSignature[5] as number) ^ 1
    const cases: Array<[string, string, Uint8Array, Uint8Array]> = [
      ['valid', aliceId, message, signature],
      ['tampered message', aliceId, tamperedMessage, signature],
      ['tampered signature', aliceId, message, tamperedSignature],
      ['wrong key', bobId, message, signature],
      ['all-zero signature', aliceId, message, new Uint8Array(64)],
    ]
    for (const [name, signerId, bytes, sig] of cases) {
      const publicKey = publicKeyOf(signerId)
      const portable = await publicKey.verify(bytes, sig)
      expect({ name, answer: native.verify(signerId, publicKey, bytes, sig) }).toEqual({
        name,
        answer: portable,
      })
    }
    expect(cases.map(([, id, bytes, sig]) => native.verify(id, publicKeyOf(id), bytes, sig))).toEqual([
      true,
      false,
      false,
      false,
      false,
    ])
    // The portable path throws on a short signature (verifyValue turns that into false).
    expect(native.verify(aliceId, publicKeyOf(aliceId), message, signature.subarray(0, 63))).toBe(false)
  })

  it('signs exactly as the portable path does (Ed25519 is deterministic)', async () => {
    const native = createNativeEd25519()
    for (const bytes of [message, new Uint8Array(0), new Uint8Array(5_000).fill(7)]) {
      const portable = Uint8Array.from(await alice.sign(bytes))
      expect(Uint8Array.from(native.sign(alice, bytes) ?? [])).toEqual(portable)
    }
  })

  it('keeps answering correctly when the key cache evicts origins', async () => {
    const native = createNativeEd25519(1)
    const aliceSignature = await alice.sign(message)
    const bobSignature = await bob.sign(message)
    for (let round = 0; round < 3; round++) {
      expect(native.verify(aliceId, publicKeyOf(aliceId), message, aliceSignature)).toBe(true)
      expect(native.verify(bobId, publicKeyOf(bobId), message, bobSignature)).toBe(true)
      expect(native.verify(bobId, publicKeyOf(bobId), message, aliceSignature)).toBe(false)
    }
  })

  it('serves verifyValue and signers once installed, with the same results', async () => {
    const value = { origin: aliceId, frameIds: ['0'.repeat(64)] }
    const portableSignature = await signValue(signerFromPrivateKey(alice), 'frame-batch', value)
    const backend = countingNative()
    useNativeEd25519(backend)
    const nativeSignature = await signValue(signerFromPrivateKey(alice), 'frame-batch', value)
    expect(nativeSignature).toBe(portableSignature)
    expect(await verifyValue(aliceId, 'frame-batch', value, nativeSignature)).toBe(true)
    expect(await verifyValue(bobId, 'frame-batch', value, nativeSignature)).toBe(false)
    expect(await verifyValue(aliceId, 'approval', value, nativeSignature)).toBe(false)
    expect(await verifyValue(aliceId, 'frame-batch', value, 'not-a-signature')).toBe(false)
    expect(backend.signed).toBe(1)
    expect(backend.verified).toBe(3)
  })
})

describe('batches with native Ed25519 installed', () => {
  const options = (trusted: string) => ({
    meshName: 'farm',
    generation: 1,
    now: NOW,
    isTrustedOrigin: (id: string) => id === trusted,
  })
  const reading = (value: number): FrameFields => ({
    meshName: 'farm',
    generation: 1,
    kind: 'observation',
    originName: 'field-1',
    timestamp: NOW,
    data: { zone: 'zone-1', metric: 'soil-moisture', value, unit: '%' },
    trust: { tier: 'T1', sources: ['sensor:soil-moisture:zone-1'] },
  })

  it('accepts a genuine batch and refuses one signed by a key other than its origin’s', async () => {
    const backend = countingNative()
    useNativeEd25519(backend)
    const genuine = await sealBatch(signerFromPrivateKey(alice), [reading(1), reading(2)])
    expect(await decodeBatch(genuine.bytes, options(aliceId))).toMatchObject({ verdict: 'accept' })

    // Bob builds a batch that claims Alice as origin and signs it with his own key.
    const forger: Signer = { id: aliceId, sign: (bytes) => bob.sign(bytes) }
    const forged = await sealBatch(forger, [reading(3), reading(4)])
    const decoded = await decodeBatch(forged.bytes, options(aliceId))
    expect(decoded).toMatchObject({ verdict: 'reject', reason: 'bad-signature' })
    expect(decoded.frames.every((verdict) => verdict.verdict === 'reject')).toBe(true)
    // Both batches were checked natively (the genuine one signed natively too).
    expect(backend.verified).toBe(2)
    expect(backend.signed).toBe(1)
  })

  it('refuses a genuine batch signature moved onto other frames', async () => {
    useNativeEd25519(countingNative())
    const genuine = await sealBatch(signerFromPrivateKey(alice), [reading(5)])
    const other = await sealBatch(signerFromPrivateKey(alice), [reading(6)])
    const moved = JSON.parse(new TextDecoder().decode(other.bytes))
    moved.batchSignature = JSON.parse(new TextDecoder().decode(genuine.bytes)).batchSignature
    const bytes = new TextEncoder().encode(JSON.stringify(moved))
    expect(await decodeBatch(bytes, options(aliceId))).toMatchObject({
      verdict: 'reject',
      reason: 'bad-signature',
    })
  })
})
