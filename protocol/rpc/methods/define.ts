/** How a method of the RPC table is written down: its params and result schemas and who may call it. */
import { z } from 'zod'

/** `peer`: any trusted peer or the local admin CLI. `admin`: only the local admin (the CLI key of
 * the node's own state dir). */
export type MethodAccess = 'peer' | 'admin'

export interface MethodDefinition<P extends z.ZodType = z.ZodType, R extends z.ZodType = z.ZodType> {
  readonly params: P
  readonly result: R
  readonly access: MethodAccess
  readonly description: string
}

export function method<P extends z.ZodType, R extends z.ZodType>(
  definition: MethodDefinition<P, R>,
): MethodDefinition<P, R> {
  return definition
}

export const noParamsSchema = z.object({}).strict().optional()
