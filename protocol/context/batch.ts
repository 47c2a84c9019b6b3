/**
 * Frame batches: a publisher coalesces the frames it publishes within a few milliseconds into one
 * gossip message, because on 2-core nodes per-message cost (gossipsub signing, Noise, yamux,
 * duplicate forwarding) decides throughput. Every frame stays individually verifiable once
 * unpacked, under either of two schemes:
 *
 * - `per-frame`: each frame keeps its own origin signature; the batch is only an envelope.
 * - `batch-signature`: frames travel unsigned and one origin signature (domain 'frame-batch')
 *   covers the list of their IDs. Unpacking attaches a `proof` {batchHashes, batchSignature} to
 *   each frame, so a frame stored and re-served alone still proves its origin. One signature per
 *   batch instead of one per frame, for both publisher and receivers.
 */
import { sha256 } from '@noble/hashes/sha2.js'
import { z } from 'zod'
import { decodeJsonMessage, encodeJsonMessage } from '../codec.ts'
import { deviceIdSchema } from '../device-id.ts'
import { type Signer, signValue, verifyValue } from '../signing.ts'
import { type BatchProof, batchProofSchema, batchSigningValue, verifyBatchSignature } from './batch-proof.ts'
import { BATCH_MAX_BYTES, BATCH_MAX_FRAMES } from './constants.ts'
import {
  badSignature,
  buildUnsignedFrame,
  checkBatchedFrame,
  createFrame,
  type Frame,
  type FrameFields,
  type FrameRejectReason,
  type FrameVerdict,
  frameSigningValue,
  type VerifyFrameOptions,
  verifyFrame,
} from './frame.ts'

export type BatchScheme = 'per-frame' | 'batch-signature'

export interface FrameBatch {
  readonly origin: string
  readonly frames: readonly Frame[] | readonly Omit<Frame, 'signature' | 'proof'>[]
  /** Present in the `batch-signature` scheme: the origin's signature over the frame IDs. */
  readonly batchSignature?: string
}

export class InvalidBatchError extends Error {
  static readonly NAME = 'InvalidBatchError'
  override readonly name = InvalidBatchError.NAME
}

/** Frames are parsed one by one by `verifyFrame`, so one bad frame gets its own verdict. */
const batchEnvelopeSchema = z.strictObject({
  origin: deviceIdSchema,
  frames: z.array(z.unknown()).min(1).max(BATCH_MAX_FRAMES),
  batchSignature: z.string().min(1).max(256).optional(),
})

/** Builds and signs a batch of frames published by `signer`. */
export async function createBatch(
  signer: Signer,
  fieldsList: readonly FrameFields[],
  scheme: BatchScheme = 'batch-signature',
): Promise<FrameBatch> {
  if (fieldsList.length === 0 || fieldsList.length > BATCH_MAX_FRAMES) {
    throw new InvalidBatchError(`a batch holds 1 to ${BATCH_MAX_FRAMES} frames, got ${fieldsList.length}`)
  }
  if (scheme === 'per-frame') {
    const frames = await Promise.all(fieldsList.map((fields) => createFrame(signer, fields)))
    return { origin: signer.id, frames }
  }
  const frames = fieldsList.map((fields) => buildUnsignedFrame(signer.id, fields))
  const batchHashes = frames.map((frame) => frame.frameId)
  const batchSignature = await signValue(signer, 'frame-batch', batchSigningValue(signer.id, batchHashes))
  return { origin: signer.id, frames, batchSignature }
}

/** Wraps frames that are already signed (e.g. re-published) in an envelope. */
export function envelopeSignedFrames(frames: readonly Frame[]): FrameBatch {
  const origin = frames[0]?.origin
  if (origin === undefined || frames.length > BATCH_MAX_FRAMES) {
    throw new InvalidBatchError(`a batch holds 1 to ${BATCH_MAX_FRAMES} frames, got ${frames.length}`)
  }
  if (frames.some((frame) => frame.origin !== origin)) {
    throw new InvalidBatchError('a batch carries the frames of one origin only')
  }
  return { origin, frames }
}

/** Throws ClawMeshError PAYLOAD_TOO_LARGE when the batch exceeds `maxBytes`. */
export function encodeBatch(batch: FrameBatch, maxBytes: number = BATCH_MAX_BYTES): Uint8Array {
  return encodeJsonMessage(batch, maxBytes)
}

/** A batch ready for the wire: its encoded bytes, and its frames as every receiver will unpack them
 * (with the batch proof attached), for the publisher's own world model. */
export interface SealedBatch {
  readonly bytes: Uint8Array
  readonly frames: readonly Frame[]
}

/** Builds, signs (one batch signature) and encodes a batch published by `signer`. Throws
 * InvalidFrameError for a frame peers would reject, ClawMeshError PAYLOAD_TOO_LARGE past `maxBytes`. */
export async function sealBatch(
  signer: Signer,
  fieldsList: readonly FrameFields[],
  maxBytes: number = BATCH_MAX_BYTES,
): Promise<SealedBatch> {
  const batch = await createBatch(signer, fieldsList, 'batch-signature')
  const bytes = encodeBatch(batch, maxBytes)
  const proof = {
    batchHashes: batch.frames.map((frame) => frame.frameId),
    batchSignature: batch.batchSignature as string,
  }
  const frames = batch.frames.map((frame) => ({ ...frame, proof }) as Frame)
  return { bytes, frames }
}

export interface DecodedBatch {
  /** The verdict for the gossip message as a whole: `reject` if the envelope or any frame proves
   * the forwarder misbehaves, `accept` if at least one frame is new and valid, else `ignore`. */
  readonly verdict: 'accept' | 'reject' | 'ignore'
  readonly reason?: FrameRejectReason
  readonly frames: readonly FrameVerdict[]
}

/** Decodes and verifies a batch. Never throws. With a batch signature, each accepted frame
 * carries the `proof` that keeps it verifiable alone. */
export async function decodeBatch(
  bytes: Uint8Array,
  options: VerifyFrameOptions & { readonly maxBytes?: number },
): Promise<DecodedBatch> {
  const read = readBatchEnvelope(bytes, options.maxBytes)
  if (read.verdict === 'reject') return { verdict: 'reject', reason: read.reason, frames: [] }
  return verifyBatchEnvelope(read.envelope, options)
}

/** A batch parsed as far as its envelope: the claimed origin and the frames, none checked yet. */
export type BatchEnvelope = z.infer<typeof batchEnvelopeSchema>

export type BatchEnvelopeRead =
  | { readonly verdict: 'read'; readonly envelope: BatchEnvelope }
  | { readonly verdict: 'reject'; readonly reason: 'oversized' | 'malformed' }

/** The first, cheap step of decodeBatch: size, JSON and envelope shape. A receiver learns the
 * claimed origin and the frame count here, before any frame or signature is checked (the gossip
 * validator throttles per origin at this point). Never throws. */
export function readBatchEnvelope(bytes: Uint8Array, maxBytes: number = BATCH_MAX_BYTES): BatchEnvelopeRead {
  if (bytes.byteLength > maxBytes) return { verdict: 'reject', reason: 'oversized' }
  let json: unknown
  try {
    json = decodeJsonMessage(bytes, maxBytes)
  } catch {
    return { verdict: 'reject', reason: 'malformed' }
  }
  const envelope = batchEnvelopeSchema.safeParse(json)
  if (!envelope.success) return { verdict: 'reject', reason: 'malformed' }
  return { verdict: 'read', envelope: envelope.data }
}

/** The rest of decodeBatch, on an envelope readBatchEnvelope returned. Never throws. */
export async function verifyBatchEnvelope(
  envelope: BatchEnvelope,
  options: VerifyFrameOptions,
): Promise<DecodedBatch> {
  const { origin, frames, batchSignature } = envelope

  if (batchSignature === undefined) return decodePerFrameBatch(origin, frames, options)

  // Batch-signature scheme: the proof every frame will carry is validated once, each frame gets
  // every check but the signature, and the one batch signature is verified once for all of them.
  const batchHashes: string[] = []
  for (const frame of frames) {
    const frameId = (frame as { frameId?: unknown } | null)?.frameId
    if (typeof frameId !== 'string') return { verdict: 'reject', reason: 'malformed', frames: [] }
    batchHashes.push(frameId)
  }
  const parsedProof = batchProofSchema.safeParse({ batchHashes, batchSignature })
  if (!parsedProof.success) return { verdict: 'reject', reason: 'malformed', frames: [] }
  // Shared by every frame of the batch (in the world model too), so it must not change.
  const proof: BatchProof = Object.freeze({
    batchHashes: Object.freeze(parsedProof.data.batchHashes) as string[],
    batchSignature: parsedProof.data.batchSignature,
  })

  const verdicts: FrameVerdict[] = []
  const unauthenticated: Array<{ index: number; frame: Frame }> = []
  const seenInBatch = new Set<string>()
  const frameOptions: VerifyFrameOptions = {
    ...options,
    isDuplicate: (frameId) => seenInBatch.has(frameId) || options.isDuplicate?.(frameId) === true,
  }
  for (const [index, frame] of frames.entries()) {
    if ((frame as { origin?: unknown }).origin !== origin) {
      verdicts.push(foreignFrame)
      continue
    }
    // A frame's own `proof` member, if any, is replaced by the batch's. (Frames of a batch-signed
    // batch carry none: then the parsed object is used as it is, not copied.)
    const content = Object.hasOwn(frame as object, 'proof')
      ? withoutProof(frame as Record<string, unknown>)
      : frame
    const checked = checkBatchedFrame(content, frameOptions)
    seenInBatch.add(batchHashes[index] as string)
    if (checked.verdict !== 'unauthenticated') {
      verdicts.push(checked)
      continue
    }
    const withProof = { ...checked.frame, proof } as Frame
    verdicts.push({ verdict: 'accept', frame: withProof })
    unauthenticated.push({ index, frame: withProof })
  }
  if (
    unauthenticated.length > 0 &&
    !(await verifyBatchSignature(origin, batchHashes, proof.batchSignature))
  ) {
    // Without a valid batch signature, only a frame's own signature can still vouch for it.
    for (const { index, frame } of unauthenticated) {
      const ownSignature =
        frame.signature !== undefined &&
        (await verifyValue(frame.origin, 'context-frame', frameSigningValue(frame), frame.signature))
      if (!ownSignature) verdicts[index] = badSignature(frame)
    }
  }
  return batchVerdict(verdicts)
}

function withoutProof(frame: Record<string, unknown>): Record<string, unknown> {
  const { proof: _ignored, ...content } = frame
  return content
}

const foreignFrame: FrameVerdict = {
  verdict: 'reject',
  reason: 'malformed',
  detail: 'frame origin differs from batch origin',
}

/** Per-frame scheme: each frame carries and is checked against its own origin signature. */
async function decodePerFrameBatch(
  origin: string,
  frames: readonly unknown[],
  options: VerifyFrameOptions,
): Promise<DecodedBatch> {
  const verdicts: FrameVerdict[] = []
  const seenInBatch = new Set<string>()
  const frameOptions: VerifyFrameOptions = {
    ...options,
    isDuplicate: (frameId) => seenInBatch.has(frameId) || options.isDuplicate?.(frameId) === true,
  }
  for (const frame of frames) {
    if (typeof frame !== 'object' || frame === null || (frame as { origin?: unknown }).origin !== origin) {
      verdicts.push(foreignFrame)
      continue
    }
    verdicts.push(await verifyFrame(frame, frameOptions))
    const frameId = (frame as { frameId?: unknown }).frameId
    if (typeof frameId === 'string') seenInBatch.add(frameId)
  }
  return batchVerdict(verdicts)
}

function batchVerdict(verdicts: FrameVerdict[]): DecodedBatch {
  const firstReject = verdicts.find((verdict) => verdict.verdict === 'reject')
  if (firstReject !== undefined) {
    return { verdict: 'reject', reason: firstReject.reason, frames: verdicts }
  }
  const anyAccepted = verdicts.some((verdict) => verdict.verdict === 'accept')
  return { verdict: anyAccepted ? 'accept' : 'ignore', frames: verdicts }
}

/** Gossip message ID of a batch: the hash of its bytes, so identical re-publications collapse.
 * Every subscriber (nodes and the browser console) must compute IDs the same way for IHAVE/IWANT. */
export function gossipMessageId(data: Uint8Array): Uint8Array {
  return sha256(data)
}
