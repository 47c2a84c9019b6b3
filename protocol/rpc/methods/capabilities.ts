/** `capability.invoke`: an operation routed to a live trusted provider of a capability. */
import { z } from 'zod'
import {
  CAPABILITY_INVOKE_MAX_TIMEOUT_MS,
  CAPABILITY_INVOKE_MIN_TIMEOUT_MS,
  OPERATION_NAME_MAX_LENGTH,
} from '../../limits.ts'
import { capabilitySchema } from '../../roles.ts'
import { method } from './define.ts'

export const capabilityInvokeParamsSchema = z
  .object({
    capability: capabilitySchema,
    operation: z.string().nonempty().max(OPERATION_NAME_MAX_LENGTH),
    args: z.record(z.string(), z.unknown()).optional(),
    timeoutMs: z
      .number()
      .int()
      .min(CAPABILITY_INVOKE_MIN_TIMEOUT_MS)
      .max(CAPABILITY_INVOKE_MAX_TIMEOUT_MS)
      .optional(),
    /** Set by a node that forwards the call, so the provider does not route it again. */
    local: z.boolean().optional(),
  })
  .strict()
export type CapabilityInvokeParams = z.infer<typeof capabilityInvokeParamsSchema>

/** `result` is whatever the provider's operation answers (each capability documents its own). */
export const capabilityInvokeResultSchema = z.object({
  provider: z.string(),
  result: z.record(z.string(), z.unknown()),
  tried: z.array(z.string()),
})

export const CAPABILITY_METHODS = {
  'capability.invoke': method({
    params: capabilityInvokeParamsSchema,
    result: capabilityInvokeResultSchema,
    access: 'peer',
    description:
      'Routes an operation to a live trusted provider of the capability (local first), with one failover.',
  }),
} as const
