/**
 * Operator revocations: a command center's signed statement that an operator's certificates issued
 * up to a moment no longer count. Removing an operator from one trust store only stops that person
 * connecting; their signed approvals and certificates still verify wherever they are relayed. A
 * revocation travels to every node, each keeps it in its own records, and every certificate check
 * asks those records (`IsOperatorRevoked`) whether the certificate predates a revocation.
 *
 * A revocation covers certificates issued at or before `revokedAt`, so an operator who is enrolled
 * again later (a new certificate, issued after it) is trusted again without un-revoking anything.
 */
import { z } from 'zod'
import { deviceIdSchema } from '../device-id.ts'
import { type Signer, signValue, verifyValue } from '../signing.ts'
import { CLOCK_SKEW_TOLERANCE_MS, REVOCATION_REASON_MAX_LENGTH } from './constants.ts'
import {
  describeIssues,
  isTrustedIssuer,
  signatureSchema,
  type TrustedIssuers,
  timestampSchema,
} from './schemas.ts'

export const operatorRevocationBodySchema = z.strictObject({
  version: z.literal(1),
  operatorId: deviceIdSchema,
  /** The command center that revokes (its device ID); always the signer. */
  issuerId: deviceIdSchema,
  revokedAt: timestampSchema,
  reason: z.string().min(1).max(REVOCATION_REASON_MAX_LENGTH),
})
export type OperatorRevocationBody = z.infer<typeof operatorRevocationBodySchema>

export const operatorRevocationSchema = z.strictObject({
  body: operatorRevocationBodySchema,
  signature: signatureSchema,
})
export type OperatorRevocation = z.infer<typeof operatorRevocationSchema>

export interface OperatorRevocationFields {
  readonly operatorId: string
  readonly revokedAt: number
  readonly reason: string
}

/** Signs a revocation with a command center's device key; the issuer is always the signer. */
export async function issueOperatorRevocation(
  issuerSigner: Signer,
  fields: OperatorRevocationFields,
): Promise<OperatorRevocation> {
  const body = operatorRevocationBodySchema.parse({
    version: 1,
    operatorId: fields.operatorId,
    issuerId: issuerSigner.id,
    revokedAt: fields.revokedAt,
    reason: fields.reason,
  })
  return { body, signature: await signValue(issuerSigner, 'operator-revocation', body) }
}

export const OPERATOR_REVOCATION_REJECTIONS = {
  malformed: 'The revocation does not match the operator revocation schema.',
  'untrusted-issuer': 'The revocation was signed by a command center this node does not trust.',
  'bad-signature': "The issuer's signature does not match the revocation contents.",
  'from-future': 'The revocation is dated in the future beyond the tolerated clock skew.',
} as const
export type OperatorRevocationRejection = keyof typeof OPERATOR_REVOCATION_REJECTIONS

export type OperatorRevocationVerdict =
  | { readonly outcome: 'accept'; readonly revocation: OperatorRevocation }
  | { readonly outcome: 'reject'; readonly reason: OperatorRevocationRejection; readonly detail: string }

export interface VerifyOperatorRevocationOptions {
  /** Command centers this node trusts as such (its own configuration). */
  readonly trustedIssuers: TrustedIssuers
  readonly now: number
}

/** Checks shape, issuer trust, issuer signature and date, in that order. Never throws. */
export async function verifyOperatorRevocation(
  revocation: unknown,
  options: VerifyOperatorRevocationOptions,
): Promise<OperatorRevocationVerdict> {
  const parsed = operatorRevocationSchema.safeParse(revocation)
  if (!parsed.success) return reject('malformed', describeIssues(parsed.error))
  const { body, signature } = parsed.data
  if (!isTrustedIssuer(options.trustedIssuers, body.issuerId)) {
    return reject('untrusted-issuer', `issuer ${body.issuerId} is not a trusted command center`)
  }
  if (!(await verifyValue(body.issuerId, 'operator-revocation', body, signature))) {
    return reject('bad-signature', `signature does not verify against issuer ${body.issuerId}`)
  }
  // A revocation dated ahead would also revoke the certificates issued until then, re-enrolment
  // included: refused like any other record from the future.
  if (body.revokedAt > options.now + CLOCK_SKEW_TOLERANCE_MS) {
    return reject('from-future', `revoked at ${body.revokedAt}, now is ${options.now}`)
  }
  return { outcome: 'accept', revocation: parsed.data }
}

/** The fact every certificate check takes from the checking node's own records: is a certificate
 * for this operator, issued at this time, covered by a revocation this node holds? */
export type IsOperatorRevoked = (operatorId: string, certificateIssuedAt: number) => boolean

/** A certificate issued at or before the revocation is revoked; one issued after it (re-enrolment)
 * is not. */
export function revokes(revocation: OperatorRevocationBody, operatorId: string, issuedAt: number): boolean {
  return revocation.operatorId === operatorId && issuedAt <= revocation.revokedAt
}

/** The `IsOperatorRevoked` fact over a list of already verified revocations. */
export function revokedBy(revocations: readonly OperatorRevocationBody[]): IsOperatorRevoked {
  return (operatorId, issuedAt) => revocations.some((revocation) => revokes(revocation, operatorId, issuedAt))
}

function reject(reason: OperatorRevocationRejection, detail: string): OperatorRevocationVerdict {
  return { outcome: 'reject', reason, detail }
}
