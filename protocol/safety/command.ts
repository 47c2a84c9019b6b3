/**
 * The certified command: what the runtime (never the LLM) sends to an actuator once a proposal is
 * approved. It carries everything the actuator needs to run the same policy itself — the proposal,
 * the approvals — and is signed by the command center that issued it.
 */
import { z } from 'zod'
import type { Frame } from '../context/frame.ts'
import { deviceIdSchema } from '../device-id.ts'
import { type SignatureDomain, type Signer, signValue, verifyValue } from '../signing.ts'
import {
  type ApprovalCertificate,
  approvalCertificateSchema,
  OPERATOR_LINKS,
  type OperatorLink,
} from './approval.ts'
import { COMMAND_MAX_APPROVALS, COMMAND_MAX_EVIDENCE_FRAMES } from './constants.ts'
import type { EvidenceFact } from './evidence.ts'
import { type OperatorCertificate, operatorCertificateSchema } from './operator-certificate.ts'
import {
  type AuthorFact,
  evaluateActuationPolicy,
  type OperationManifest,
  type PolicyVerdict,
} from './policy.ts'
import { type Proposal, proposalHash, proposalSchema } from './proposal.ts'
import type { IsOperatorRevoked } from './revocation.ts'
import {
  describeIssues,
  isTrustedIssuer,
  opaqueIdSchema,
  sha256HexSchema,
  signatureSchema,
  type TrustedIssuers,
  timestampSchema,
} from './schemas.ts'

export const commandBodySchema = z.strictObject({
  version: z.literal(1),
  proposal: proposalSchema,
  approvals: z.array(approvalCertificateSchema).max(COMMAND_MAX_APPROVALS),
  /** Must equal `proposalHash(proposal)`; the policy refuses the command otherwise. */
  commandHash: sha256HexSchema,
  /** Command center device ID. */
  issuedBy: deviceIdSchema,
  issuedAt: timestampSchema,
  /** Leader term of the issuing planner/command center when the command was sent. */
  leaderTerm: z.number().int().nonnegative().optional(),
  /** The author's operator certificate, when an operator wrote the proposal: the actuator verifies
   * it itself before letting an L1 or safe-state run go without approvals. */
  authorCertificate: operatorCertificateSchema.optional(),
  /** Per approval nonce, the link the issuing command center observed the approval arrive over.
   * The actuator believes only this (the command center is the one it obeys), never the claim. */
  observedLinks: z.record(opaqueIdSchema, z.enum(OPERATOR_LINKS)).optional(),
})
export type CommandBody = z.infer<typeof commandBodySchema>

export const certifiedCommandSchema = z.strictObject({
  body: commandBodySchema,
  signature: signatureSchema,
  /** The cited frames, for an actuator that does not hold them. Outside the signed body: each is
   * signed by its own origin and its ID is the hash of its body, so the proposal's signed citation
   * (by frame ID) already binds it. The actuator verifies and assesses a carried frame itself, and
   * only when it lacks the frame — which is why they stay unparsed here. Nothing here sets a tier. */
  evidenceFrames: z.array(z.unknown()).max(COMMAND_MAX_EVIDENCE_FRAMES).optional(),
})
export type CertifiedCommand = z.infer<typeof certifiedCommandSchema>

export interface IssueCommandFields {
  readonly proposal: Proposal
  readonly approvals: readonly ApprovalCertificate[]
  readonly issuedAt: number
  readonly leaderTerm?: number
  readonly evidenceFrames?: readonly Frame[]
  readonly authorCertificate?: OperatorCertificate
  readonly observedLinks?: Readonly<Record<string, OperatorLink>>
}

export async function issueCommand(
  issuerSigner: Signer,
  fields: IssueCommandFields,
): Promise<CertifiedCommand> {
  const body = commandBodySchema.parse({
    version: 1,
    proposal: fields.proposal,
    approvals: fields.approvals,
    commandHash: proposalHash(fields.proposal),
    issuedBy: issuerSigner.id,
    issuedAt: fields.issuedAt,
    leaderTerm: fields.leaderTerm,
    authorCertificate: fields.authorCertificate,
    observedLinks: fields.observedLinks,
  })
  const signature = await signValue(issuerSigner, 'command', body)
  return fields.evidenceFrames === undefined || fields.evidenceFrames.length === 0
    ? { body, signature }
    : { body, signature, evidenceFrames: [...fields.evidenceFrames] }
}

export type CommandCheck =
  | { readonly outcome: 'accept'; readonly command: CertifiedCommand }
  | {
      readonly outcome: 'reject'
      readonly reason: 'malformed' | 'untrusted-issuer' | 'bad-signature'
      readonly detail: string
    }

/** Checks that the command is well formed and signed by a command center this node trusts. */
export async function verifyCommandIssuer(
  command: unknown,
  options: { readonly trustedCommandCenters: TrustedIssuers },
): Promise<CommandCheck> {
  const verdict = await verifyIssuedRecord(certifiedCommandSchema, 'command', command, options)
  return verdict.outcome === 'accept' ? { outcome: 'accept', command: verdict.record } : verdict
}

/** What a command center issues to actuators (a command, a cancel): `issuedBy` inside a signed body. */
interface IssuedRecordSchema<T extends { body: { issuedBy: string }; signature: string }> {
  safeParse(value: unknown): { success: true; data: T } | { success: false; error: z.ZodError }
}

export type IssuedRecordVerdict<T> =
  | { readonly outcome: 'accept'; readonly record: T }
  | {
      readonly outcome: 'reject'
      readonly reason: 'malformed' | 'untrusted-issuer' | 'bad-signature'
      readonly detail: string
    }

/** Well formed, issued by a command center this node trusts (its own records, not the record's
 * word), and signed by it in `domain`. Shared by commands and command cancels. */
export async function verifyIssuedRecord<T extends { body: { issuedBy: string }; signature: string }>(
  schema: IssuedRecordSchema<T>,
  domain: SignatureDomain,
  candidate: unknown,
  options: { readonly trustedCommandCenters: TrustedIssuers },
): Promise<IssuedRecordVerdict<T>> {
  const parsed = schema.safeParse(candidate)
  if (!parsed.success) return { outcome: 'reject', reason: 'malformed', detail: describeIssues(parsed.error) }
  const { body, signature } = parsed.data
  if (!isTrustedIssuer(options.trustedCommandCenters, body.issuedBy)) {
    return {
      outcome: 'reject',
      reason: 'untrusted-issuer',
      detail: `${body.issuedBy} is not a trusted command center`,
    }
  }
  if (!(await verifyValue(body.issuedBy, domain, body, signature))) {
    return {
      outcome: 'reject',
      reason: 'bad-signature',
      detail: `signature does not verify against ${body.issuedBy}`,
    }
  }
  return { outcome: 'accept', record: parsed.data }
}

/** The actuator's policy run over a verified command. */
export function evaluateCommandPolicy(
  command: CertifiedCommand,
  context: {
    readonly manifest: readonly OperationManifest[]
    readonly trustedIssuers: TrustedIssuers
    readonly isRevoked: IsOperatorRevoked
    readonly now: number
    readonly executedBefore: boolean
    readonly currentLeaderTerm?: number
    /** The actuator's own assessment of the cited frames and of the author. */
    readonly evidence: readonly EvidenceFact[]
    readonly author: AuthorFact
  },
): Promise<PolicyVerdict> {
  // Expiry is the issuer's clock's to decide: a command issued at or after it (a command center
  // asking an unreachable actuator for the outcome past the expiry) may learn an outcome but never
  // start an execution, even on an actuator whose own clock is behind.
  const { issuedAt, proposal } = command.body
  if (issuedAt >= proposal.expiresAt) {
    return Promise.resolve({
      verdict: 'deny',
      code: 'proposal-expired',
      detail: `command issued at ${issuedAt}, at or after the proposal's expiry (${proposal.expiresAt})`,
    })
  }
  return evaluateActuationPolicy({
    ...context,
    observedLinks: command.body.observedLinks ?? {},
    proposal: command.body.proposal,
    approvals: command.body.approvals,
    commandHash: command.body.commandHash,
    hop: 'actuator',
  })
}

export type CommandTermCheck =
  | { readonly outcome: 'accept' }
  | { readonly outcome: 'reject'; readonly reason: 'stale-leader-term'; readonly detail: string }

/**
 * Fencing: a node that knows leader term N refuses a command issued under a term below N, or with
 * no term at all (leaving the field out must not get a deposed leader past the fence). A node that
 * has seen no term (no election in its mesh) accepts as before.
 */
export function checkCommandTerm(
  commandTerm: number | undefined,
  currentTerm: number | undefined,
): CommandTermCheck {
  if (currentTerm === undefined) return { outcome: 'accept' }
  if (commandTerm !== undefined && commandTerm >= currentTerm) return { outcome: 'accept' }
  return {
    outcome: 'reject',
    reason: 'stale-leader-term',
    detail: `command issued under leader term ${commandTerm ?? 'none'}, current leader term is ${currentTerm}`,
  }
}
