/**
 * Batch proofs: the cheaper of the two ways a publisher can sign coalesced frames. One signature
 * covers the list of frame IDs in a batch (domain 'frame-batch'); a frame unpacked from that batch
 * carries the list and the signature, so it stays verifiable on its own after storage, sync and
 * re-serving. A frame ID is the hash of the frame body, so membership in the signed list binds
 * the whole body to the origin.
 */
import { z } from 'zod'
import { verifyValue } from '../signing.ts'
import { BATCH_MAX_FRAMES, BATCH_VERIFIED_CACHE_SIZE } from './constants.ts'

/** A frame ID: a lowercase SHA-256 hex digest. */
export const FRAME_ID_PATTERN = /^[0-9a-f]{64}$/

export const frameIdSchema = z
  .string()
  .regex(FRAME_ID_PATTERN, 'a frame ID is a lowercase SHA-256 hex digest')

export const batchProofSchema = z.strictObject({
  batchHashes: z.array(frameIdSchema).min(1).max(BATCH_MAX_FRAMES),
  batchSignature: z.string().min(1).max(256),
})
export type BatchProof = z.infer<typeof batchProofSchema>

/** The value a batch signature is made over. The origin is included so a list signed by one
 * device can never be presented as another's. */
export function batchSigningValue(origin: string, batchHashes: readonly string[]): unknown {
  return { origin, frameIds: batchHashes }
}

/** Verified batch signatures: `origin + signature` → the frame-ID list it was verified over. A hit
 * counts only when the presented list equals the stored one, so the cache answers exactly what
 * verifying the (origin, list, signature) triple would, without hashing the list per frame. */
const verifiedBatches = new Map<string, readonly string[]>()

/** True when `proof` is a valid batch signature by `origin` that lists `frameId`. Verified
 * (origin, list, signature) triples are cached, so the frames of one batch cost one check. */
export async function verifyBatchProof(origin: string, frameId: string, proof: BatchProof): Promise<boolean> {
  if (!proof.batchHashes.includes(frameId)) return false
  return verifyBatchSignature(origin, proof.batchHashes, proof.batchSignature)
}

/** True when `batchSignature` is `origin`'s signature over `batchHashes`; one Ed25519 verification
 * per distinct batch, remembered for the frames unpacked from it and for their re-verification. */
export async function verifyBatchSignature(
  origin: string,
  batchHashes: readonly string[],
  batchSignature: string,
): Promise<boolean> {
  const cacheKey = JSON.stringify([origin, batchSignature])
  const verified = verifiedBatches.get(cacheKey)
  if (verified !== undefined && sameList(verified, batchHashes)) return true
  const valid = await verifyValue(
    origin,
    'frame-batch',
    batchSigningValue(origin, batchHashes),
    batchSignature,
  )
  if (!valid) return false
  if (verifiedBatches.size >= BATCH_VERIFIED_CACHE_SIZE) verifiedBatches.clear()
  verifiedBatches.set(cacheKey, [...batchHashes])
  return true
}

function sameList(a: readonly string[], b: readonly string[]): boolean {
  if (a.length !== b.length) return false
  for (let index = 0; index < a.length; index++) if (a[index] !== b[index]) return false
  return true
}
