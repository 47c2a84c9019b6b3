/** `telegram.pair.open`: the local admin opens a one-time code a Telegram user sends as `/pair CODE`. */
import { z } from 'zod'
import {
  DISPLAY_NAME_MAX_LENGTH,
  PAIRED_CERTIFICATE_MIN_VALIDITY_MS,
  PAIRING_WINDOW_MAX_MS,
  PAIRING_WINDOW_MIN_MS,
} from '../../limits.ts'
import { OPERATOR_CERTIFICATE_MAX_VALIDITY_MS } from '../../safety/constants.ts'
import { OPERATOR_ROLES } from '../../safety/operator-certificate.ts'
import { method } from './define.ts'

export const telegramPairOpenParamsSchema = z
  .object({
    operatorName: z.string().nonempty().max(DISPLAY_NAME_MAX_LENGTH),
    roles: z.array(z.enum(OPERATOR_ROLES)).nonempty().optional(),
    ttlMs: z.number().int().min(PAIRING_WINDOW_MIN_MS).max(PAIRING_WINDOW_MAX_MS).optional(),
    /** Validity of the certificate the command center issues for the new key (default 7 days). */
    certificateTtlMs: z
      .number()
      .int()
      .min(PAIRED_CERTIFICATE_MIN_VALIDITY_MS)
      .max(OPERATOR_CERTIFICATE_MAX_VALIDITY_MS)
      .optional(),
  })
  .strict()

export const TELEGRAM_METHODS = {
  'telegram.pair.open': method({
    params: telegramPairOpenParamsSchema,
    result: z.object({ code: z.string(), expiresAt: z.number() }),
    access: 'admin',
    description:
      'Opens a one-time code for pairing a Telegram user as an operator (local admin only; command centers running --telegram).',
  }),
} as const
