/**
 * RPC envelopes: one request and one response per `/clawmesh/rpc/<gen>` stream, each a
 * length-prefixed JSON message. The envelope is validated before the method table is consulted.
 */
import { z } from 'zod'
import { wireErrorSchema } from '../errors.ts'

export const RPC_ID_MAX_LENGTH = 64

export const rpcRequestSchema = z.object({
  id: z.string().min(1).max(RPC_ID_MAX_LENGTH),
  method: z.string().min(1).max(64),
  params: z.unknown().optional(),
})
export type RpcRequest = z.infer<typeof rpcRequestSchema>

export const rpcResponseSchema = z.discriminatedUnion('ok', [
  z.object({ id: z.string(), ok: z.literal(true), result: z.unknown() }),
  z.object({ id: z.string(), ok: z.literal(false), error: wireErrorSchema }),
])
export type RpcResponse = z.infer<typeof rpcResponseSchema>
