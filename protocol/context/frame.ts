/**
 * Context frames: the signed, self-describing facts a mesh shares over gossip (observations,
 * events, operator input, planner output, capability changes, proposals and their lifecycle).
 * A frame names its origin device and is signed by it, so provenance survives storage, sync and
 * re-serving by any other node. Its ID is the hash of its unsigned body, so the same fact arriving
 * twice (two gossip paths, a sync after a restart) is recognised as one.
 */
import { z } from 'zod'
import { canonicalBytes, canonicalHash, sha256Hex } from '../canonical.ts'
import { deviceIdSchema } from '../device-id.ts'
import { hostFindingsFrameDataSchema } from '../host-ops/findings.ts'
import { CAPABILITIES_MAX_PER_NODE, DISPLAY_NAME_MAX_LENGTH, FRAME_MAX_BYTES } from '../limits.ts'
import { generationSchema, meshNameSchema } from '../mesh.ts'
import { capabilitySchema, nodeRoleSchema } from '../roles.ts'
import { estopOrderSchema } from '../safety/estop.ts'
import { evidenceCheckpointSchema } from '../safety/evidence-checkpoint.ts'
import { type Signer, signValue, verifyValue } from '../signing.ts'
import { type BatchProof, batchProofSchema, frameIdSchema, verifyBatchProof } from './batch-proof.ts'
import {
  EVENT_SEVERITIES,
  FRAME_CITES_MAX,
  FRAME_DEFAULT_MAX_FUTURE_MS,
  FRAME_DEFAULT_MAX_PAST_MS,
  FRAME_LABEL_MAX_CHARS,
  FRAME_TEXT_MAX_CHARS,
  FRAME_TRUST_SOURCES_MAX,
  TRUST_TIERS,
} from './constants.ts'
import { acceptBatchedFrameFast } from './frame-fast-path.ts'

export { frameIdSchema }

export const FRAME_KINDS = [
  'observation',
  'event',
  'human_input',
  'inference',
  'capability_update',
  'agent_response',
  'proposal',
  'approval',
  'execution',
  'checkpoint',
  'host_findings',
  'estop',
] as const
export type FrameKind = (typeof FRAME_KINDS)[number]

/** Evidence tiers, weakest first. T0 is LLM-only inference, which never suffices for actuation;
 * T1–T3 rest on progressively stronger evidence (single sensor, corroborated, operator-confirmed). */
export { TRUST_TIERS }
export type TrustTier = (typeof TRUST_TIERS)[number]

export function trustTierRank(tier: TrustTier): number {
  return TRUST_TIERS.indexOf(tier)
}

const label = z.string().min(1).max(FRAME_LABEL_MAX_CHARS)
const text = z.string().max(FRAME_TEXT_MAX_CHARS)

// Schemas list their keys in canonical (sorted) order: parsed objects keep the schema's key order,
// so the canonical encoder, which runs over every frame on every hop, finds them sorted and does
// not sort (protocol/canonical.ts). The order has no other meaning.
export const trustSchema = z.strictObject({
  sources: z.array(label).max(FRAME_TRUST_SOURCES_MAX),
  tier: z.enum(TRUST_TIERS),
})
export type FrameTrust = z.infer<typeof trustSchema>

export const observationDataSchema = z.strictObject({
  alarm: z.boolean().optional(),
  metric: label,
  sensor: label.optional(),
  threshold: z.strictObject({ high: z.number().optional(), low: z.number().optional() }).optional(),
  unit: label,
  value: z.number(),
  zone: label.optional(),
})
export const eventDataSchema = z.strictObject({
  message: text,
  severity: z.enum(EVENT_SEVERITIES),
  type: label,
  zone: label.optional(),
})
export const humanInputDataSchema = z.strictObject({ operatorId: label.optional(), text: text.min(1) })
export const inferenceDataSchema = z.strictObject({
  cites: z.array(frameIdSchema).max(FRAME_CITES_MAX),
  text,
})
export const capabilityUpdateDataSchema = z.strictObject({
  capabilities: z.array(capabilitySchema).max(CAPABILITIES_MAX_PER_NODE),
  role: nodeRoleSchema,
})
export const agentResponseDataSchema = z.strictObject({
  error: z.boolean().optional(),
  replyTo: frameIdSchema.optional(),
  text,
})
/** Proposal, approval and execution bodies are defined by the safety model; until then they are
 * open records, still size-bounded by FRAME_MAX_BYTES. */
const openRecordSchema = z.record(z.string(), z.unknown())
/** A signed head of the origin's evidence log (protocol/safety/evidence-checkpoint.ts). Strict and
 * self-signed, so a peer can keep it, serve it and export it without the frame around it. */
export const checkpointDataSchema = evidenceCheckpointSchema
/** A host workflow's findings, compact (protocol/host-ops/findings.ts): what a node reports about
 * its own machine. Never evidence for actuation (protocol/safety/evidence.ts). */
export const hostFindingsDataSchema = hostFindingsFrameDataSchema

export const frameDataSchemas = {
  observation: observationDataSchema,
  event: eventDataSchema,
  human_input: humanInputDataSchema,
  inference: inferenceDataSchema,
  capability_update: capabilityUpdateDataSchema,
  agent_response: agentResponseDataSchema,
  proposal: openRecordSchema,
  approval: openRecordSchema,
  execution: openRecordSchema,
  checkpoint: checkpointDataSchema,
  host_findings: hostFindingsDataSchema,
  /** An operator's signed emergency stop, carried as it is: every node verifies the operator's
   * signature and certificate itself (protocol/safety/estop.ts), whoever published the frame. */
  estop: estopOrderSchema,
} as const satisfies Record<FrameKind, z.ZodType>

export type FrameData<K extends FrameKind> = z.infer<(typeof frameDataSchemas)[K]>

/** Builds the frame schema. `originSchema` is the full device-ID check at the wire; storage
 * restores (already checked at ingest) may pass a cheaper shape check. */
export function buildFrameSchema(originSchema: z.ZodType<string>) {
  return withSignatureOrProof(buildFrameContentSchema(originSchema))
}

/** The content schema plus the rule that a frame carries its origin signature or a batch proof. */
function withSignatureOrProof(content: ReturnType<typeof buildFrameContentSchema>) {
  return content.refine((frame) => frame.signature !== undefined || frame.proof !== undefined, {
    message: 'a frame carries its origin signature or a batch proof',
    path: ['signature'],
  })
}

/** Every rule of the frame schema except "carries a signature or a proof": for frames unpacked
 * from a signed batch, whose proof is the batch's own (validated and checked once per batch) and
 * is attached after parsing. */
function buildFrameContentSchema(originSchema: z.ZodType<string>) {
  // The fields every kind shares, built once for the twelve variants (schema construction is a
  // measurable part of every process's start-up, issue #22).
  const note = text.optional()
  const originName = z.string().min(1).max(DISPLAY_NAME_MAX_LENGTH)
  const proof = batchProofSchema.optional()
  const signature = z.string().min(1).max(256).optional()
  const timestamp = z.number().int().min(0)
  // Keys in canonical order (see trustSchema), `data` and `kind` included.
  const variant = <K extends FrameKind, D extends z.ZodType>(kind: K, data: D) =>
    z.strictObject({
      data,
      frameId: frameIdSchema,
      generation: generationSchema,
      kind: z.literal(kind),
      meshName: meshNameSchema,
      note,
      origin: originSchema,
      originName,
      proof,
      signature,
      timestamp,
      trust: trustSchema,
    })
  return z.discriminatedUnion('kind', [
    variant('observation', observationDataSchema),
    variant('event', eventDataSchema),
    variant('human_input', humanInputDataSchema),
    variant('inference', inferenceDataSchema),
    variant('capability_update', capabilityUpdateDataSchema),
    variant('agent_response', agentResponseDataSchema),
    variant('proposal', openRecordSchema),
    variant('approval', openRecordSchema),
    variant('execution', openRecordSchema),
    variant('checkpoint', checkpointDataSchema),
    variant('host_findings', hostFindingsDataSchema),
    variant('estop', estopOrderSchema),
  ])
}

/** The frame schema as applied to frames unpacked from a signed batch (see `checkBatchedFrame`). */
export const batchedFrameSchema = buildFrameContentSchema(deviceIdSchema)
export const frameSchema = withSignatureOrProof(batchedFrameSchema)
export type Frame = z.infer<typeof frameSchema>
export type FrameOf<K extends FrameKind> = Extract<Frame, { kind: K }>

type DistributiveOmit<T, K extends PropertyKey> = T extends unknown ? Omit<T, K> : never
/** Everything the frame ID is the hash of: the frame without ID, signature and proof. */
export type FrameBody = DistributiveOmit<Frame, 'frameId' | 'signature' | 'proof'>

export function frameBody(frame: Frame | FrameBody): FrameBody {
  const { frameId: _id, signature: _signature, proof: _proof, ...body } = frame as Frame
  return body as FrameBody
}

export function computeFrameId(frame: Frame | FrameBody): string {
  return canonicalHash(frameBody(frame))
}

const textEncoder = new TextEncoder()

/** Canonical bytes of a frame's body (what its ID is the hash of) and the canonical size of the
 * frame without its proof, from one canonical encoding. Adding a string member to a non-empty
 * canonical object adds exactly `,"key":"value"` (in JSON escaping) wherever the key sorts, so the
 * size is the body's plus those of the `frameId` and `signature` members. */
function canonicalBodyAndSize(frame: Frame): { body: Uint8Array; size: number } {
  const { frameId, signature, proof: _proof, ...rest } = frame
  const body = canonicalBytes(rest)
  let size = body.byteLength + stringMemberBytes('frameId', frameId)
  if (signature !== undefined) size += stringMemberBytes('signature', signature)
  return { body, size }
}

function stringMemberBytes(key: string, value: string): number {
  return textEncoder.encode(`,${JSON.stringify(key)}:${JSON.stringify(value)}`).byteLength
}

/** What the origin signature covers: everything except the signature (and a batch proof, which
 * is an alternative to it). */
export function frameSigningValue(frame: Frame): unknown {
  const { signature: _signature, proof: _proof, ...signed } = frame
  return signed
}

export class InvalidFrameError extends Error {
  static readonly NAME = 'InvalidFrameError'
  override readonly name = InvalidFrameError.NAME
}

export type FrameFields = DistributiveOmit<FrameBody, 'origin' | 'timestamp'> & { timestamp?: number }

/** What a node's own code fills in when it publishes: the node adds mesh, generation and name. */
export type LocalFrameFields = DistributiveOmit<FrameFields, 'generation' | 'meshName' | 'originName'>

/** Builds a frame body with its ID but no signature; used by the batch scheme, where one batch
 * signature covers many frames. Throws InvalidFrameError if the result would not pass
 * `verifyFrame`'s schema check, so a node never publishes what its peers would reject. */
export function buildUnsignedFrame(origin: string, fields: FrameFields): Omit<Frame, 'signature' | 'proof'> {
  // frameBody drops any ID, signature or proof an untyped caller slipped into the fields.
  const body = frameBody({ ...fields, origin, timestamp: fields.timestamp ?? Date.now() } as FrameBody)
  // Parsed first, with a placeholder ID: the parsed copy has the schema's (canonical) key order at
  // every level, so its canonical encoding takes the fast path however the caller ordered its keys,
  // and it holds exactly what peers will parse (the schemas are strict and transform nothing).
  const parsed = batchedFrameSchema.safeParse({ ...body, frameId: FRAME_ID_PLACEHOLDER })
  if (!parsed.success) {
    const issues = parsed.error.issues.map((issue) => `${issue.path.join('.')}: ${issue.message}`).join('; ')
    throw new InvalidFrameError(`frame of kind ${fields.kind} is invalid (${issues})`)
  }
  const bodyBytes = canonicalBytes(frameBody(parsed.data))
  // Replacing the placeholder keeps `frameId` where the schema put it.
  const frame = { ...parsed.data, frameId: sha256Hex(bodyBytes) } as Frame
  const size = bodyBytes.byteLength + stringMemberBytes('frameId', frame.frameId)
  if (size > FRAME_MAX_BYTES - SIGNATURE_ALLOWANCE_BYTES) {
    throw new InvalidFrameError(`frame of ${size} bytes exceeds the limit of ${FRAME_MAX_BYTES}`)
  }
  return frame
}

/** Stands in for the frame ID while a new frame is parsed (it passes `frameIdSchema`). */
const FRAME_ID_PLACEHOLDER = '0'.repeat(64)

/** Room left for the `signature` member (an Ed25519 signature is 86 base64url characters). */
const SIGNATURE_ALLOWANCE_BYTES = 128

export async function createFrame(signer: Signer, fields: FrameFields): Promise<Frame> {
  const frame = buildUnsignedFrame(signer.id, fields) as Frame
  const signature = await signValue(signer, 'context-frame', frameSigningValue(frame))
  return { ...frame, signature } as Frame
}

/**
 * Verdicts map onto gossipsub's validation results. `reject` means the message proves the peer
 * that forwarded it misbehaves (an honest forwarder validates before forwarding, so it would never
 * pass on a malformed, oversized, forged, wrong-mesh or far-future frame): gossipsub penalises
 * that peer's score. `ignore` means an honest forwarder could have relayed it — the frame aged in
 * transit, arrived twice over two paths, or comes from an origin our trust list does not (yet)
 * hold while the forwarder's does — so it is dropped without penalty.
 */
export type FrameRejectReason =
  | 'malformed'
  | 'oversized'
  | 'bad-signature'
  | 'wrong-mesh'
  | 'wrong-generation'
  | 'future-dated'
export type FrameIgnoreReason = 'stale' | 'duplicate' | 'untrusted-origin'
export type FrameVerdictReason = FrameRejectReason | FrameIgnoreReason

export const FRAME_VERDICT_REASONS: readonly FrameVerdictReason[] = [
  'malformed',
  'oversized',
  'bad-signature',
  'untrusted-origin',
  'wrong-mesh',
  'wrong-generation',
  'stale',
  'future-dated',
  'duplicate',
]

export type FrameVerdict =
  | { readonly verdict: 'accept'; readonly frame: Frame }
  | { readonly verdict: 'reject'; readonly reason: FrameRejectReason; readonly detail: string }
  | { readonly verdict: 'ignore'; readonly reason: FrameIgnoreReason; readonly detail: string }

export interface VerifyFrameOptions {
  readonly meshName: string
  readonly generation: number
  isTrustedOrigin(origin: string): boolean
  readonly now: number
  readonly maxPastMs?: number
  readonly maxFutureMs?: number
  /** Seen-before check (e.g. the world model's frame IDs). Run before the signature check so a
   * duplicate costs a hash, not a signature verification. */
  isDuplicate?(frameId: string): boolean
  /** Size of the frame as received, when known; otherwise its canonical size is used. */
  readonly encodedBytes?: number
}

/** Validates a received frame. Cheap checks run first; the signature last, so floods of junk
 * cost no public-key operations. Never throws. */
export async function verifyFrame(input: unknown, options: VerifyFrameOptions): Promise<FrameVerdict> {
  const checked = checkFrame(input, options, frameSchema)
  if (checked.verdict !== 'unauthenticated') return checked
  if (!(await hasValidOriginSignature(checked.frame))) {
    return badSignature(checked.frame)
  }
  return { verdict: 'accept', frame: checked.frame }
}

/** A frame that passed every check except the origin signature, which is still to be verified. */
export type FrameCheck =
  | Exclude<FrameVerdict, { verdict: 'accept' }>
  | { readonly verdict: 'unauthenticated'; readonly frame: Frame }

/** Every check of `verifyFrame` except the origin signature and the "signature or proof" rule, for
 * a frame unpacked from a batch whose one batch signature is checked once for all its frames
 * (protocol/context/batch.ts). Any `proof` member of the input is not read: the caller attaches
 * the batch's. The caller hands the input over: the frame returned may be the input itself
 * (frame-fast-path.ts), so the caller must not change it afterwards. */
export function checkBatchedFrame(input: unknown, options: VerifyFrameOptions): FrameCheck {
  return checkFrame(input, options, batchedFrameSchema)
}

export function badSignature(frame: Frame): FrameVerdict {
  return reject('bad-signature', `frame ${frame.frameId} is not signed by its origin ${frame.origin}`)
}

/** The frame as the schema returns it, or the refusal. Observations and events in the schema's own
 * key order skip zod (frame-fast-path.ts). */
function parseFrame(
  input: unknown,
  schema: typeof frameSchema | typeof batchedFrameSchema,
): Frame | Extract<FrameVerdict, { verdict: 'reject' }> {
  const fast = schema === batchedFrameSchema ? acceptBatchedFrameFast(input) : undefined
  if (fast !== undefined) return fast
  const parsed = schema.safeParse(input)
  if (parsed.success) return parsed.data
  const issue = parsed.error.issues[0]
  return reject(
    'malformed',
    issue === undefined ? 'invalid frame' : `${issue.path.join('.')}: ${issue.message}`,
  )
}

function checkFrame(
  input: unknown,
  options: VerifyFrameOptions,
  schema: typeof frameSchema | typeof batchedFrameSchema,
): FrameCheck {
  if (options.encodedBytes !== undefined && options.encodedBytes > FRAME_MAX_BYTES) {
    return reject('oversized', `frame of ${options.encodedBytes} bytes exceeds ${FRAME_MAX_BYTES}`)
  }
  const frame = parseFrame(input, schema)
  if ('verdict' in frame) return frame
  // One canonical encoding serves the size check and the frame ID. The batch proof is bounded by
  // its own schema (BATCH_MAX_FRAMES hashes) and is not part of the frame's content, so it does not
  // count against FRAME_MAX_BYTES.
  const { body, size } = canonicalBodyAndSize(frame)
  if (options.encodedBytes === undefined && size > FRAME_MAX_BYTES) {
    return reject('oversized', `frame of ${size} bytes exceeds ${FRAME_MAX_BYTES}`)
  }
  if (frame.meshName !== options.meshName) {
    return reject(
      'wrong-mesh',
      `frame belongs to mesh "${frame.meshName}", this node to "${options.meshName}"`,
    )
  }
  if (frame.generation !== options.generation) {
    return reject(
      'wrong-generation',
      `frame is generation ${frame.generation}, this node ${options.generation}`,
    )
  }
  if (sha256Hex(body) !== frame.frameId)
    return reject('malformed', 'frameId is not the hash of the frame body')
  if (options.isDuplicate?.(frame.frameId) === true)
    return ignore('duplicate', `frame ${frame.frameId} seen before`)
  if (!options.isTrustedOrigin(frame.origin)) {
    return ignore('untrusted-origin', `origin ${frame.origin} is not in this node's trust list`)
  }
  const maxFutureMs = options.maxFutureMs ?? FRAME_DEFAULT_MAX_FUTURE_MS
  if (frame.timestamp > options.now + maxFutureMs) {
    return reject('future-dated', `frame is dated ${frame.timestamp - options.now} ms in the future`)
  }
  const maxPastMs = options.maxPastMs ?? FRAME_DEFAULT_MAX_PAST_MS
  if (frame.timestamp < options.now - maxPastMs) {
    return ignore('stale', `frame is ${options.now - frame.timestamp} ms old (limit ${maxPastMs} ms)`)
  }
  return { verdict: 'unauthenticated', frame }
}

/** A frame is authentic if either its own signature or its batch proof checks out. */
export async function hasValidOriginSignature(frame: Frame): Promise<boolean> {
  if (frame.signature !== undefined) {
    if (await verifyValue(frame.origin, 'context-frame', frameSigningValue(frame), frame.signature))
      return true
  }
  if (frame.proof !== undefined)
    return verifyBatchProof(frame.origin, frame.frameId, frame.proof as BatchProof)
  return false
}

function reject(reason: FrameRejectReason, detail: string): Extract<FrameVerdict, { verdict: 'reject' }> {
  return { verdict: 'reject', reason, detail }
}

function ignore(reason: FrameIgnoreReason, detail: string): Extract<FrameVerdict, { verdict: 'ignore' }> {
  return { verdict: 'ignore', reason, detail }
}
