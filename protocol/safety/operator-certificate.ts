/**
 * Operator certificates: a command center vouches that an operator key (a person, not a device)
 * has a name and roles until a given time. Approvals carry the certificate, so any node that
 * trusts the issuing command center can check who approved without a directory lookup.
 */
import { z } from 'zod'
import { deviceIdSchema } from '../device-id.ts'
import { DISPLAY_NAME_MAX_LENGTH } from '../limits.ts'
import { type Signer, signValue, verifyValue } from '../signing.ts'
import { CLOCK_SKEW_TOLERANCE_MS, OPERATOR_CERTIFICATE_MAX_VALIDITY_MS } from './constants.ts'
import type { IsOperatorRevoked } from './revocation.ts'
import {
  describeIssues,
  isTrustedIssuer,
  signatureSchema,
  type TrustedIssuers,
  timestampSchema,
} from './schemas.ts'

export const OPERATOR_ROLES = ['viewer', 'operator', 'admin', 'ai-operator'] as const
export const operatorRoleSchema = z.enum(OPERATOR_ROLES)
export type OperatorRole = z.infer<typeof operatorRoleSchema>

/** Roles whose holders may approve proposals. A viewer may watch and reject, never approve. */
export const APPROVING_ROLES: readonly OperatorRole[] = ['operator', 'admin']

/** Channels through which a command center holds an operator's key on their behalf (a chat bot
 * signs with it when the person taps a button). A certificate naming one says so to every hop: what
 * is signed under it proves the person's channel account and the command center, not the person's
 * own device, and is never on site (operator-link.ts, docs/safety.md). No channel: the person holds
 * the key on their own device (console, CLI). */
const OPERATOR_CHANNELS = ['telegram'] as const
export type OperatorChannel = (typeof OPERATOR_CHANNELS)[number]

/** The role of an AI agent acting through `clawmesh mcp`: it reads and proposes; the policy refuses
 * every decision (approval or rejection) it signs, at every hop (docs/mcp.md). */
export const AI_OPERATOR_ROLE = 'ai-operator' satisfies OperatorRole

/** An AI operator's certificate carries no other role: a key is either a person's or a model's, so
 * no certificate can be both an AI operator and an approver. */
export function aiOperatorStandsAlone(roles: readonly OperatorRole[]): boolean {
  return !roles.includes(AI_OPERATOR_ROLE) || roles.length === 1
}
export const AI_OPERATOR_STANDS_ALONE_MESSAGE = 'the ai-operator role cannot be combined with another role'

export const operatorCertificateBodySchema = z
  .strictObject({
    version: z.literal(1),
    operatorId: deviceIdSchema,
    displayName: z.string().min(1).max(DISPLAY_NAME_MAX_LENGTH),
    roles: z
      .array(operatorRoleSchema)
      .min(1)
      .max(OPERATOR_ROLES.length)
      .refine((roles) => new Set(roles).size === roles.length, 'roles must not repeat')
      .refine(aiOperatorStandsAlone, AI_OPERATOR_STANDS_ALONE_MESSAGE),
    issuerId: deviceIdSchema,
    issuedAt: timestampSchema,
    expiresAt: timestampSchema,
    /** Present when the command center holds this key for the person on a channel (see above). */
    channel: z.enum(OPERATOR_CHANNELS).optional(),
  })
  .refine((body) => body.expiresAt > body.issuedAt, {
    message: 'expiresAt must be after issuedAt',
    path: ['expiresAt'],
  })
  .refine((body) => body.expiresAt - body.issuedAt <= OPERATOR_CERTIFICATE_MAX_VALIDITY_MS, {
    message: `validity must not exceed ${OPERATOR_CERTIFICATE_MAX_VALIDITY_MS} ms`,
    path: ['expiresAt'],
  })
export type OperatorCertificateBody = z.infer<typeof operatorCertificateBodySchema>

export const operatorCertificateSchema = z.strictObject({
  body: operatorCertificateBodySchema,
  signature: signatureSchema,
})
export type OperatorCertificate = z.infer<typeof operatorCertificateSchema>

export type OperatorCertificateFields = Omit<OperatorCertificateBody, 'version' | 'issuerId'>

/** Signs a certificate for an operator. The issuer is the signer (a command center's device key). */
export async function issueOperatorCertificate(
  issuerSigner: Signer,
  fields: OperatorCertificateFields,
): Promise<OperatorCertificate> {
  // Fields are picked, not spread: the issuer is always the signer, whatever the caller passes.
  const body = operatorCertificateBodySchema.parse({
    version: 1,
    operatorId: fields.operatorId,
    displayName: fields.displayName,
    roles: fields.roles,
    issuerId: issuerSigner.id,
    issuedAt: fields.issuedAt,
    expiresAt: fields.expiresAt,
    ...(fields.channel === undefined ? {} : { channel: fields.channel }),
  })
  return { body, signature: await signValue(issuerSigner, 'operator-certificate', body) }
}

export const OPERATOR_CERTIFICATE_REJECTIONS = {
  malformed: 'The certificate does not match the operator certificate schema.',
  'untrusted-issuer': 'The certificate was issued by a command center this node does not trust.',
  'bad-signature': "The issuer's signature does not match the certificate contents.",
  revoked: 'A command center revoked this operator after the certificate was issued.',
  'not-yet-valid': 'The certificate is dated in the future beyond the tolerated clock skew.',
  expired: 'The certificate has expired; the operator needs a new one from the command center.',
} as const
export type OperatorCertificateRejection = keyof typeof OPERATOR_CERTIFICATE_REJECTIONS

export type OperatorCertificateVerdict =
  | { readonly outcome: 'accept'; readonly certificate: OperatorCertificate }
  | { readonly outcome: 'reject'; readonly reason: OperatorCertificateRejection; readonly detail: string }

export interface VerifyOperatorCertificateOptions {
  readonly trustedIssuers: TrustedIssuers
  readonly now: number
  /** The checking node's own revocation records (runtime/trust/revocations.ts): required, so no check
   * can forget them. */
  readonly isRevoked: IsOperatorRevoked
}

/** Checks shape, issuer trust, issuer signature, revocation and validity window, in that order.
 * Never throws. */
export async function verifyOperatorCertificate(
  certificate: unknown,
  options: VerifyOperatorCertificateOptions,
): Promise<OperatorCertificateVerdict> {
  const parsed = operatorCertificateSchema.safeParse(certificate)
  if (!parsed.success) return reject('malformed', describeIssues(parsed.error))
  const { body, signature } = parsed.data
  if (!isTrustedIssuer(options.trustedIssuers, body.issuerId)) {
    return reject('untrusted-issuer', `issuer ${body.issuerId} is not a trusted command center`)
  }
  if (!(await verifyValue(body.issuerId, 'operator-certificate', body, signature))) {
    return reject('bad-signature', `signature does not verify against issuer ${body.issuerId}`)
  }
  if (options.isRevoked(body.operatorId, body.issuedAt)) {
    return reject(
      'revoked',
      `operator ${body.operatorId} was revoked after this certificate's issue (${body.issuedAt})`,
    )
  }
  if (body.issuedAt > options.now + CLOCK_SKEW_TOLERANCE_MS) {
    return reject('not-yet-valid', `issued at ${body.issuedAt}, now is ${options.now}`)
  }
  if (options.now >= body.expiresAt) {
    return reject('expired', `expired at ${body.expiresAt}, now is ${options.now}`)
  }
  return { outcome: 'accept', certificate: parsed.data }
}

function reject(reason: OperatorCertificateRejection, detail: string): OperatorCertificateVerdict {
  return { outcome: 'reject', reason, detail }
}
