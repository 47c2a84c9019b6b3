/**
 * Batch proofs: the cheaper of the two ways a publisher can sign coalesced frames. One signature
 * covers the list of frame IDs in a batch (domain 'frame-batch'); a frame unpacked from that batch
 * carries the list and the signature, so it stays verifiable on its own after storage, sync and
 * re-serving. A frame ID is the hash of the frame body, so membership in the signed list binds
 * the whole body to the origin.
 */
import { z } from 'zod'
import { canonicalHash } from '../canonical.ts'
import { verifyValue } from '../signing.ts'
import { BATCH_MAX_FRAMES, BATCH_VERIFIED_CACHE_SIZE } from './constants.ts'

export const frameIdSchema = z
  .string()
  .regex(/^[0-9a-f]{64}$/, 'a frame ID is a lowercase SHA-256 hex digest')

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

const verifiedBatches = new Map<string, true>()

/** True when `proof` is a valid batch signature by `origin` that lists `frameId`. Verified
 * (origin, list, signature) triples are cached, so the frames of one batch cost one check. */
export async function verifyBatchProof(origin: string, frameId: string, proof: BatchProof): Promise<boolean> {
  if (!proof.batchHashes.includes(frameId)) return false
  const cacheKey = canonicalHash([origin, proof.batchHashes, proof.batchSignature])
  if (verifiedBatches.has(cacheKey)) return true
  const valid = await verifyValue(
    origin,
    'frame-batch',
    batchSigningValue(origin, proof.batchHashes),
    proof.batchSignature,
  )
  if (!valid) return false
  if (verifiedBatches.size >= BATCH_VERIFIED_CACHE_SIZE) verifiedBatches.clear()
  verifiedBatches.set(cacheKey, true)
  return true
}
