/**
 * Evidence checkpoints: a node's signed statement "my evidence log's entry at sequence n has hash
 * h", handed to peers. A peer keeps what it received; a log that later ends before a checkpoint
 * (truncated) or holds another entry at its sequence (rewritten, even re-signed with the node's own
 * key) no longer matches what peers hold. The receiver decides what it keeps: the checkpoint must be
 * signed by the node it names, that node must be the frame's origin, and a node's sequence numbers
 * only move forward (a step back or a second hash for one sequence is kept as an anomaly).
 */
import { z } from 'zod'
import { deviceIdSchema } from '../device-id.ts'
import { type Signer, signValue, verifyValue } from '../signing.ts'
import { type EvidenceEntry, entryHash } from './evidence-log.ts'
import { describeIssues, sha256HexSchema, signatureSchema, timestampSchema } from './schemas.ts'

// Keys in canonical (sorted) order, like the frame schemas (protocol/context/frame.ts).
export const evidenceCheckpointBodySchema = z.strictObject({
  at: timestampSchema,
  hash: sha256HexSchema,
  nodeId: deviceIdSchema,
  seq: z.number().int().nonnegative(),
})
export type EvidenceCheckpointBody = z.infer<typeof evidenceCheckpointBodySchema>

export const evidenceCheckpointSchema = z.strictObject({
  at: timestampSchema,
  hash: sha256HexSchema,
  nodeId: deviceIdSchema,
  seq: z.number().int().nonnegative(),
  signature: signatureSchema,
})
export type EvidenceCheckpoint = z.infer<typeof evidenceCheckpointSchema>

const SIGNING_CONTEXT = 'evidence-checkpoint' as const

/** Signs the head of the signer's own log. */
export async function signEvidenceCheckpoint(
  signer: Signer,
  head: { readonly seq: number; readonly hash: string },
  at: number,
): Promise<EvidenceCheckpoint> {
  const body = evidenceCheckpointBodySchema.parse({ at, hash: head.hash, nodeId: signer.id, seq: head.seq })
  return { ...body, signature: await signValue(signer, SIGNING_CONTEXT, body) }
}

export const CHECKPOINT_REFUSALS = {
  malformed: 'The checkpoint does not match the checkpoint schema.',
  'origin-mismatch': 'The checkpoint names another node than the one that sent it.',
  'bad-signature': 'The checkpoint is not signed by the node it names.',
  rollback: 'The node signed a lower sequence number than one already held: its log went backwards.',
  fork: 'The node signed two different hashes for one sequence number: its log was rewritten.',
  'too-many-nodes': 'This node already keeps checkpoints of as many nodes as it may.',
} as const
export type CheckpointRefusal = keyof typeof CHECKPOINT_REFUSALS

export type CheckpointVerdict =
  | { readonly outcome: 'accept'; readonly checkpoint: EvidenceCheckpoint }
  | { readonly outcome: 'reject'; readonly reason: CheckpointRefusal; readonly detail: string }

/** Checks a checkpoint on its own: its shape, and that `nodeId` signed it (and, when given, that
 * the node it names is `expectedNode`, the frame origin or the node being audited). Never throws. */
export async function verifyEvidenceCheckpoint(
  raw: unknown,
  expectedNode?: string,
): Promise<CheckpointVerdict> {
  const parsed = evidenceCheckpointSchema.safeParse(raw)
  if (!parsed.success) return reject('malformed', describeIssues(parsed.error))
  const { signature, ...body } = parsed.data
  if (expectedNode !== undefined && body.nodeId !== expectedNode) {
    return reject('origin-mismatch', `checkpoint names ${body.nodeId}, it came from ${expectedNode}`)
  }
  if (!(await verifyValue(body.nodeId, SIGNING_CONTEXT, body, signature))) {
    return reject('bad-signature', `checkpoint of seq ${body.seq} is not signed by ${body.nodeId}`)
  }
  return { outcome: 'accept', checkpoint: parsed.data }
}

export type CheckpointAdmission =
  | CheckpointVerdict
  /** The same sequence and hash as the one held: nothing new. */
  | { readonly outcome: 'duplicate' }

/**
 * Whether a receiver keeps a checkpoint that arrived from `origin`, given the newest one it holds
 * for that node. Sequence numbers only move forward; a lower one, or another hash for the held
 * sequence, is refused as `rollback` or `fork` (the caller records it as an anomaly).
 */
export async function admitEvidenceCheckpoint(
  raw: unknown,
  origin: string,
  held: EvidenceCheckpoint | undefined,
): Promise<CheckpointAdmission> {
  const verdict = await verifyEvidenceCheckpoint(raw, origin)
  if (verdict.outcome === 'reject' || held === undefined) return verdict
  const offered = verdict.checkpoint
  if (offered.seq < held.seq) {
    return reject('rollback', `${origin} signed seq ${offered.seq} after seq ${held.seq}`)
  }
  if (offered.seq === held.seq) {
    if (offered.hash === held.hash) return { outcome: 'duplicate' }
    return reject('fork', `${origin} signed two hashes for seq ${offered.seq}`)
  }
  return verdict
}

export type CheckpointFinding =
  | {
      /** A checkpoint names a sequence beyond the log's end: entries were cut from the end. */
      readonly kind: 'truncated'
      readonly checkpoint: EvidenceCheckpoint
      readonly logEndSeq: number | undefined
    }
  | {
      /** The log's entry at a checkpoint's sequence has another hash: the log was rewritten there. */
      readonly kind: 'forked'
      readonly checkpoint: EvidenceCheckpoint
      readonly logHash: string
    }

export interface CheckpointComparison {
  /** Checkpoints of this node whose signature checked out, and those that did not (ignored). */
  readonly checked: number
  readonly invalid: number
  /** The highest sequence a valid checkpoint vouches for, if any. */
  readonly newestSeq: number | undefined
  /** Every disagreement, lowest sequence first; empty when the log matches every checkpoint. */
  readonly findings: readonly CheckpointFinding[]
}

/**
 * Compares a log (already verified as a chain) with checkpoints its node handed to peers. Only
 * checkpoints signed by `nodeId` count: anyone can write a file, only the node's key can sign one.
 */
export async function compareWithCheckpoints(
  entries: readonly EvidenceEntry[],
  candidates: readonly unknown[],
  nodeId: string,
): Promise<CheckpointComparison> {
  const valid: EvidenceCheckpoint[] = []
  let invalid = 0
  for (const candidate of candidates) {
    const verdict = await verifyEvidenceCheckpoint(candidate, nodeId)
    if (verdict.outcome === 'accept') valid.push(verdict.checkpoint)
    else invalid++
  }
  valid.sort((a, b) => a.seq - b.seq)
  const findings: CheckpointFinding[] = []
  const logEndSeq = entries.at(-1)?.seq
  for (const checkpoint of valid) {
    const entry = entries[checkpoint.seq]
    if (entry === undefined) {
      findings.push({ kind: 'truncated', checkpoint, logEndSeq })
      continue
    }
    const logHash = entryHash(entry)
    if (logHash !== checkpoint.hash) findings.push({ kind: 'forked', checkpoint, logHash })
  }
  return { checked: valid.length, invalid, newestSeq: valid.at(-1)?.seq, findings }
}

function reject(
  reason: CheckpointRefusal,
  detail: string,
): Extract<CheckpointVerdict, { outcome: 'reject' }> {
  return { outcome: 'reject', reason, detail }
}
