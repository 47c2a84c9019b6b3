/**
 * The RPC boundary's decoders, in the order the server runs them: the envelope from the bytes of one
 * length-prefixed message, then (after the method table and caller access) the params of the named
 * method. Each throws only a `ClawMeshError` with its code — BAD_REQUEST or PAYLOAD_TOO_LARGE for the
 * envelope, INVALID_PARAMS for params — so a remote caller learns a closed code, never an exception's
 * text. test/fuzz/ holds both to that under random and mutated input.
 */
import { decodeJsonMessage } from '../codec.ts'
import { ClawMeshError } from '../errors.ts'
import { RPC_MAX_MESSAGE_BYTES } from '../limits.ts'
import { type RpcRequest, rpcRequestSchema } from './envelope.ts'
import { RPC_METHODS, type RpcMethodName } from './methods/index.ts'

/** How much of a refused method name an error message repeats. */
const METHOD_NAME_ECHO_MAX = 64

export function decodeRpcRequest(body: Uint8Array): RpcRequest {
  const envelope = rpcRequestSchema.safeParse(decodeJsonMessage(body, RPC_MAX_MESSAGE_BYTES))
  if (!envelope.success)
    throw new ClawMeshError('BAD_REQUEST', 'request does not match the RPC envelope {id, method, params}')
  return envelope.data
}

export function unknownMethod(methodName: string): ClawMeshError {
  return new ClawMeshError('UNKNOWN_METHOD', `unknown method "${methodName.slice(0, METHOD_NAME_ECHO_MAX)}"`)
}

/** Validates `params` against the method's schema; the first issue names what is wrong. */
export function parseRpcParams<M extends RpcMethodName>(
  methodName: M,
  params: unknown,
): (typeof RPC_METHODS)[M]['params']['_zod']['output'] {
  const parsed = RPC_METHODS[methodName].params.safeParse(params)
  if (!parsed.success) {
    const issue = parsed.error.issues[0]
    throw new ClawMeshError(
      'INVALID_PARAMS',
      `invalid params for ${methodName}: ${issue?.path.join('.') || '(root)'} ${issue?.message ?? ''}`.trim(),
    )
  }
  return parsed.data
}
