/** `pair.open`: the local admin opens a pairing window for one device or operator. */
import { z } from 'zod'
import {
  DISPLAY_NAME_MAX_LENGTH,
  PAIRED_CERTIFICATE_MIN_VALIDITY_MS,
  PAIRING_WINDOW_MAX_MS,
  PAIRING_WINDOW_MIN_MS,
} from '../../limits.ts'
import { OPERATOR_CERTIFICATE_MAX_VALIDITY_MS } from '../../safety/constants.ts'
import {
  AI_OPERATOR_STANDS_ALONE_MESSAGE,
  aiOperatorStandsAlone,
  OPERATOR_ROLES,
} from '../../safety/operator-certificate.ts'
import { method } from './define.ts'

export const pairOpenParamsSchema = z
  .object({
    kind: z.enum(['device', 'operator']),
    operatorName: z.string().nonempty().max(DISPLAY_NAME_MAX_LENGTH).optional(),
    roles: z
      .array(z.enum(OPERATOR_ROLES))
      .nonempty()
      .refine(aiOperatorStandsAlone, AI_OPERATOR_STANDS_ALONE_MESSAGE)
      .optional(),
    ttlMs: z.number().int().min(PAIRING_WINDOW_MIN_MS).max(PAIRING_WINDOW_MAX_MS).optional(),
    /** Operator only: validity of the certificate (default: the command center's, 7 days). */
    certificateTtlMs: z
      .number()
      .int()
      .min(PAIRED_CERTIFICATE_MIN_VALIDITY_MS)
      .max(OPERATOR_CERTIFICATE_MAX_VALIDITY_MS)
      .optional(),
  })
  .strict()

export const PAIRING_METHODS = {
  'pair.open': method({
    params: pairOpenParamsSchema,
    result: z.object({
      code: z.string(),
      expiresAt: z.number(),
      deviceId: z.string(),
      listenAddrs: z.array(z.string()),
    }),
    access: 'admin',
    description:
      'Opens a pairing window with a one-time code (local admin only); one device or operator may join with it.',
  }),
} as const
