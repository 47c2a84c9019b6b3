/** Operator records: certificates issued and renewed by a command center, and the certificates and
 * revocations it hands to relays and members. */
import { z } from 'zod'
import { deviceIdSchema } from '../../device-id.ts'
import {
  DEVICE_ID_FIELD_MAX_LENGTH,
  DISPLAY_NAME_MAX_LENGTH,
  OPERATOR_CERTIFICATE_MIN_VALIDITY_MS,
} from '../../limits.ts'
import { OPERATOR_CERTIFICATE_MAX_VALIDITY_MS } from '../../safety/constants.ts'
import {
  AI_OPERATOR_STANDS_ALONE_MESSAGE,
  aiOperatorStandsAlone,
  OPERATOR_ROLES,
  operatorCertificateSchema,
} from '../../safety/operator-certificate.ts'
import { operatorRevocationSchema } from '../../safety/revocation.ts'
import { signed } from '../signed.ts'
import { method } from './define.ts'

export const operatorIssueParamsSchema = z
  .object({
    operatorId: z.string().nonempty().max(DEVICE_ID_FIELD_MAX_LENGTH),
    displayName: z.string().nonempty().max(DISPLAY_NAME_MAX_LENGTH),
    roles: z
      .array(z.enum(OPERATOR_ROLES))
      .nonempty()
      .refine(aiOperatorStandsAlone, AI_OPERATOR_STANDS_ALONE_MESSAGE),
    ttlMs: z
      .number()
      .int()
      .min(OPERATOR_CERTIFICATE_MIN_VALIDITY_MS)
      .max(OPERATOR_CERTIFICATE_MAX_VALIDITY_MS)
      .optional(),
  })
  .strict()

/** A certificate handed in by another party: the receiver's verifier refuses a bad one with a
 * verdict and a reason, so it crosses as a signed record. One this node issued crosses with its schema. */
const presentedCertificateParamsSchema = z.object({ certificate: signed(operatorCertificateSchema) }).strict()
const issuedCertificateResultSchema = z.object({ certificate: operatorCertificateSchema })

export const OPERATOR_METHODS = {
  'operator.issue': method({
    params: operatorIssueParamsSchema,
    result: issuedCertificateResultSchema,
    access: 'admin',
    description: 'Issues an operator certificate signed by this command center (local admin only).',
  }),
  'operator.renew': method({
    params: presentedCertificateParamsSchema,
    result: issuedCertificateResultSchema,
    access: 'peer',
    description:
      'An operator presents its own still-valid, unrevoked certificate to a command center and gets a fresh one with the same name and roles.',
  }),
  'trust.addOperator': method({
    params: presentedCertificateParamsSchema,
    result: z.object({
      operatorId: deviceIdSchema,
      expiresAt: z.number(),
      added: z.boolean(),
    }),
    access: 'peer',
    description:
      'A command center hands its signed operator certificate to a relay or member; the receiver verifies it and trusts the operator key until the certificate expires.',
  }),
  'trust.revokeOperator': method({
    params: z.object({ revocation: signed(operatorRevocationSchema) }).strict(),
    result: z.object({
      operatorId: deviceIdSchema,
      revokedAt: z.number(),
      added: z.boolean(),
      trustRemoved: z.boolean(),
    }),
    access: 'peer',
    description:
      "A command center hands its signed operator revocation to a relay or member; the receiver verifies it, keeps it, drops the operator's trust entry and refuses that operator's certificates issued until then.",
  }),
} as const
