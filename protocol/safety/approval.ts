/**
 * Approval certificates: an operator's signed decision on one proposal hash. The operator's
 * certificate travels inside, so a node can check the decision knowing only which command centers
 * it trusts.
 */
import { z } from 'zod'
import { encodeBase64Url, type Signer, signValue, verifyValue } from '../signing.ts'
import { APPROVAL_NONCE_BYTES, APPROVAL_REASON_MAX_LENGTH, CLOCK_SKEW_TOLERANCE_MS } from './constants.ts'
import {
  type OperatorCertificate,
  type OperatorChannel,
  type OperatorRole,
  operatorCertificateSchema,
  verifyOperatorCertificate,
} from './operator-certificate.ts'
import type { IsOperatorRevoked } from './revocation.ts'
import {
  describeIssues,
  opaqueIdSchema,
  sha256HexSchema,
  signatureSchema,
  type TrustedIssuers,
  timestampSchema,
} from './schemas.ts'

export const APPROVAL_DECISIONS = ['approve', 'reject'] as const
export type ApprovalDecision = (typeof APPROVAL_DECISIONS)[number]

/** The link the operator's console was on when the decision was made. */
export const OPERATOR_LINKS = ['local', 'lan', 'vpn', 'relay', 'wan', 'mdns'] as const
export type OperatorLink = (typeof OPERATOR_LINKS)[number]

export const approvalBodySchema = z.strictObject({
  version: z.literal(1),
  proposalHash: sha256HexSchema,
  decision: z.enum(APPROVAL_DECISIONS),
  operatorCertificate: operatorCertificateSchema,
  at: timestampSchema,
  nonce: opaqueIdSchema,
  /** Signed, so a relay cannot upgrade a WAN approval into a LAN one on the way. */
  operatorLink: z.enum(OPERATOR_LINKS),
  reason: z.string().max(APPROVAL_REASON_MAX_LENGTH).optional(),
})
export type ApprovalBody = z.infer<typeof approvalBodySchema>

export const approvalCertificateSchema = z.strictObject({
  body: approvalBodySchema,
  signature: signatureSchema,
})
export type ApprovalCertificate = z.infer<typeof approvalCertificateSchema>

export interface ApprovalFields {
  readonly proposalHash: string
  readonly decision: ApprovalDecision
  readonly operatorCertificate: OperatorCertificate
  readonly operatorLink: OperatorLink
  readonly at: number
  /** Defaults to fresh random bytes; pass one only to make tests deterministic. */
  readonly nonce?: string
  readonly reason?: string
}

/** Signs a decision with the operator's own key, which must be the one the certificate names. */
export async function signApproval(
  operatorSigner: Signer,
  fields: ApprovalFields,
): Promise<ApprovalCertificate> {
  if (operatorSigner.id !== fields.operatorCertificate.body.operatorId) {
    throw new Error(
      `this key (${operatorSigner.id}) is not the operator named in the certificate ` +
        `(${fields.operatorCertificate.body.operatorId}); sign with the certified operator key`,
    )
  }
  const body = approvalBodySchema.parse({
    version: 1,
    proposalHash: fields.proposalHash,
    decision: fields.decision,
    operatorCertificate: fields.operatorCertificate,
    at: fields.at,
    nonce: fields.nonce ?? randomNonce(),
    operatorLink: fields.operatorLink,
    // Absent rather than undefined: an in-process holder (the Telegram surface) hands the record to
    // the evidence log without a JSON round trip, and the log takes JSON values only.
    ...(fields.reason === undefined ? {} : { reason: fields.reason }),
  })
  return { body, signature: await signValue(operatorSigner, 'approval', body) }
}

function randomNonce(): string {
  return encodeBase64Url(globalThis.crypto.getRandomValues(new Uint8Array(APPROVAL_NONCE_BYTES)))
}

export const APPROVAL_REJECTIONS = {
  malformed: 'The approval does not match the approval certificate schema.',
  'untrusted-issuer': "The operator's certificate was issued by a command center this node does not trust.",
  'bad-certificate-signature': "The operator's certificate signature does not verify.",
  'certificate-revoked': 'A command center revoked the operator after their certificate was issued.',
  'certificate-not-yet-valid': "The operator's certificate is dated in the future.",
  'certificate-expired': "The operator's certificate has expired.",
  'bad-signature': "The operator's signature does not match the approval contents.",
  'from-future': 'The approval is dated in the future beyond the tolerated clock skew.',
} as const
export type ApprovalRejection = keyof typeof APPROVAL_REJECTIONS

/** What a verified approval establishes; the policy table decides from these facts alone. */
export interface VerifiedApproval {
  readonly operatorId: string
  readonly roles: readonly OperatorRole[]
  readonly proposalHash: string
  readonly decision: ApprovalDecision
  readonly operatorLink: OperatorLink
  readonly at: number
  readonly nonce: string
  /** The channel the certificate names, when the command center holds the key for the person. */
  readonly channel?: OperatorChannel
}

export type ApprovalVerdict =
  | { readonly outcome: 'accept'; readonly approval: VerifiedApproval }
  | { readonly outcome: 'reject'; readonly reason: ApprovalRejection; readonly detail: string }

export interface VerifyApprovalOptions {
  readonly trustedIssuers: TrustedIssuers
  readonly now: number
  /** The checking node's own revocation records. */
  readonly isRevoked: IsOperatorRevoked
}

/** Checks the embedded certificate, then the operator's signature over the decision. Never throws. */
export async function verifyApproval(
  approval: unknown,
  options: VerifyApprovalOptions,
): Promise<ApprovalVerdict> {
  const parsed = approvalCertificateSchema.safeParse(approval)
  if (!parsed.success) return reject('malformed', describeIssues(parsed.error))
  const { body, signature } = parsed.data
  const certificate = await verifyOperatorCertificate(body.operatorCertificate, options)
  if (certificate.outcome === 'reject') {
    const reason = CERTIFICATE_TO_APPROVAL_REJECTION[certificate.reason]
    return reject(reason, certificate.detail)
  }
  const { operatorId, roles, channel } = body.operatorCertificate.body
  if (!(await verifyValue(operatorId, 'approval', body, signature))) {
    return reject('bad-signature', `signature does not verify against operator ${operatorId}`)
  }
  if (body.at > options.now + CLOCK_SKEW_TOLERANCE_MS) {
    return reject('from-future', `approval dated ${body.at}, now is ${options.now}`)
  }
  return {
    outcome: 'accept',
    approval: {
      operatorId,
      roles,
      proposalHash: body.proposalHash,
      decision: body.decision,
      operatorLink: body.operatorLink,
      at: body.at,
      nonce: body.nonce,
      ...(channel === undefined ? {} : { channel }),
    },
  }
}

const CERTIFICATE_TO_APPROVAL_REJECTION = {
  malformed: 'malformed',
  'untrusted-issuer': 'untrusted-issuer',
  'bad-signature': 'bad-certificate-signature',
  revoked: 'certificate-revoked',
  'not-yet-valid': 'certificate-not-yet-valid',
  expired: 'certificate-expired',
} as const satisfies Record<string, ApprovalRejection>

function reject(reason: ApprovalRejection, detail: string): ApprovalVerdict {
  return { outcome: 'reject', reason, detail }
}
