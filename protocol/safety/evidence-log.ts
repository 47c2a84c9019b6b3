/**
 * Evidence log format: each node appends every proposal, decision, approval, refusal and execution
 * as an entry that names the hash of the one before and is signed by the node. Editing, removing or
 * reordering entries breaks the chain at a findable index, which `clawmesh evidence verify` reports.
 */
import { z } from 'zod'
import { canonicalHash, canonicalJson } from '../canonical.ts'
import { deviceIdSchema } from '../device-id.ts'
import { type Signer, signValue, verifyValue } from '../signing.ts'
import { EVIDENCE_ENTRY_DATA_MAX_BYTES, EVIDENCE_GENESIS_PREV_HASH } from './constants.ts'
import { describeIssues, sha256HexSchema, signatureSchema, timestampSchema } from './schemas.ts'

/** `maintenance`: an operator's repair of node state (e.g. `clawmesh planner reset-term`), so the trail shows it.
 * `host_findings`: a host workflow's report (protocol/host-ops/findings.ts).
 * `fleet_check`: a `monitor-check` table and the alerts it raised (protocol/host-ops/fleet.ts).
 * `outcome`: how a proposal ended, once it did (protocol/safety/proposal-outcome.ts). */
export const EVIDENCE_ENTRY_TYPES = [
  'proposal',
  'decision',
  'refusal',
  'execution',
  'approval',
  'maintenance',
  'estop',
  'estop-clear',
  'cancel',
  'host_findings',
  'fleet_check',
  'outcome',
] as const
export type EvidenceEntryType = (typeof EVIDENCE_ENTRY_TYPES)[number]

export const evidenceEntryBodySchema = z.strictObject({
  seq: z.number().int().nonnegative(),
  prevHash: sha256HexSchema,
  at: timestampSchema,
  type: z.enum(EVIDENCE_ENTRY_TYPES),
  data: z.json().refine((data) => canonicalJson(data).length <= EVIDENCE_ENTRY_DATA_MAX_BYTES, {
    message: `entry data must encode to at most ${EVIDENCE_ENTRY_DATA_MAX_BYTES} bytes`,
  }),
  nodeId: deviceIdSchema,
})
export type EvidenceEntryBody = z.infer<typeof evidenceEntryBodySchema>

export const evidenceEntrySchema = evidenceEntryBodySchema.extend({ signature: signatureSchema })
export type EvidenceEntry = z.infer<typeof evidenceEntrySchema>

/** Hash of a whole entry, signature included: the next entry commits to exactly this record. */
export function entryHash(entry: EvidenceEntry): string {
  return canonicalHash({ kind: 'clawmesh-evidence-entry', entry })
}

function bodyOf(entry: EvidenceEntry): EvidenceEntryBody {
  const { signature: _signature, ...body } = entry
  return body
}

/** Creates the entry following `prev` (or the first entry of a log when `prev` is undefined). */
export async function appendEntry(
  prev: EvidenceEntry | undefined,
  signer: Signer,
  type: EvidenceEntryType,
  data: unknown,
  at: number,
): Promise<EvidenceEntry> {
  const body = evidenceEntryBodySchema.parse({
    seq: prev === undefined ? 0 : prev.seq + 1,
    prevHash: prev === undefined ? EVIDENCE_GENESIS_PREV_HASH : entryHash(prev),
    at,
    type,
    data,
    nodeId: signer.id,
  })
  return { ...body, signature: await signValue(signer, 'evidence-entry', body) }
}

export const EVIDENCE_CHAIN_FAULTS = {
  malformed: 'The entry does not match the evidence entry schema.',
  'bad-signature': 'The entry was changed after signing, or signed by another node.',
  'broken-link': 'The entry does not follow the one before it (that entry was changed or replaced).',
  'sequence-gap': 'Entries are missing before this one.',
  reordered: 'Entries appear out of order.',
  truncated: 'The log ends before the head recorded elsewhere; entries were removed from the end.',
} as const
export type EvidenceChainFault = keyof typeof EVIDENCE_CHAIN_FAULTS

export type EvidenceChainVerdict =
  | { readonly outcome: 'ok'; readonly count: number; readonly headHash: string | undefined }
  | {
      readonly outcome: 'broken'
      readonly index: number
      readonly reason: EvidenceChainFault
      readonly detail: string
    }

export interface VerifyEvidenceChainOptions {
  /** The node whose log this is; defaults to the signer of the first entry. */
  readonly nodeId?: string
  /** A head (last seq and entry hash) recorded elsewhere, to detect removal from the end. */
  readonly expectedHead?: { readonly seq: number; readonly hash: string }
}

/** Walks the log from the start and reports the first entry that breaks it. Never throws. */
export async function verifyEvidenceChain(
  entries: readonly unknown[],
  options: VerifyEvidenceChainOptions = {},
): Promise<EvidenceChainVerdict> {
  const parsed: EvidenceEntry[] = []
  for (const [index, raw] of entries.entries()) {
    const result = evidenceEntrySchema.safeParse(raw)
    if (!result.success) return broken(index, 'malformed', describeIssues(result.error))
    parsed.push(result.data)
  }
  const nodeId = options.nodeId ?? parsed[0]?.nodeId
  let previous: EvidenceEntry | undefined
  for (const [index, entry] of parsed.entries()) {
    if (entry.nodeId !== nodeId) {
      return broken(
        index,
        'bad-signature',
        `entry is signed by ${entry.nodeId}, this log belongs to ${nodeId}`,
      )
    }
    if (!(await verifyValue(entry.nodeId, 'evidence-entry', bodyOf(entry), entry.signature))) {
      return broken(index, 'bad-signature', `seq ${entry.seq} does not match its signature`)
    }
    const expectedSeq = previous === undefined ? 0 : previous.seq + 1
    if (entry.seq !== expectedSeq) {
      // Distinguish a move from a removal: if the expected entry is still in the log, it was moved.
      const movedElsewhere = parsed.some((other) => other.seq === expectedSeq)
      const reason = entry.seq < expectedSeq || movedElsewhere ? 'reordered' : 'sequence-gap'
      return broken(index, reason, `expected seq ${expectedSeq}, found ${entry.seq}`)
    }
    const expectedPrevHash = previous === undefined ? EVIDENCE_GENESIS_PREV_HASH : entryHash(previous)
    if (entry.prevHash !== expectedPrevHash) {
      return broken(index, 'broken-link', `seq ${entry.seq} does not name the hash of seq ${expectedSeq - 1}`)
    }
    previous = entry
  }
  const headHash = previous === undefined ? undefined : entryHash(previous)
  const expectedHead = options.expectedHead
  if (expectedHead !== undefined && (previous?.seq !== expectedHead.seq || headHash !== expectedHead.hash)) {
    return broken(
      parsed.length,
      'truncated',
      `log ends at seq ${previous?.seq ?? 'none'}, the recorded head is seq ${expectedHead.seq}`,
    )
  }
  return { outcome: 'ok', count: parsed.length, headHash }
}

function broken(index: number, reason: EvidenceChainFault, detail: string): EvidenceChainVerdict {
  return { outcome: 'broken', index, reason, detail }
}
