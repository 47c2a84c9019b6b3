/**
 * Calls a node's RPC method over a libp2p stream. Used by the CLI, by nodes calling each other, by
 * the browser console and by tests; the response is validated against the same method table the server uses.
 */
import type { Libp2p, PeerId } from '@libp2p/interface'
import { lpStream } from '@libp2p/utils'
import type { Multiaddr } from '@multiformats/multiaddr'
import { decodeJsonMessage, encodeJsonMessage } from '../codec.ts'
import { ClawMeshError } from '../errors.ts'
import { RPC_MAX_MESSAGE_BYTES, RPC_TIMEOUT_MS } from '../limits.ts'
import { rpcResponseSchema } from './envelope.ts'
import { RPC_METHODS, type RpcMethodName, type RpcParams, type RpcResult } from './methods.ts'

let nextRequestId = 1

export interface RpcCallOptions {
  timeoutMs?: number
}

export async function callRpc<M extends RpcMethodName>(
  libp2p: Libp2p,
  target: PeerId | Multiaddr | Multiaddr[],
  protocol: string,
  method: M,
  params: RpcParams<M>,
  options: RpcCallOptions = {},
): Promise<RpcResult<M>> {
  const raw = await callRpcRaw(
    libp2p,
    target,
    protocol,
    { id: String(nextRequestId++), method, params },
    options,
  )
  const response = rpcResponseSchema.safeParse(raw)
  if (!response.success)
    throw new ClawMeshError('BAD_REQUEST', 'the node answered with a malformed RPC response')
  if (!response.data.ok) throw ClawMeshError.fromWire(response.data.error)
  const result = RPC_METHODS[method].result.safeParse(response.data.result)
  if (!result.success)
    throw new ClawMeshError('BAD_REQUEST', `the node answered ${method} with a result outside its schema`)
  return result.data as RpcResult<M>
}

/** Sends an arbitrary JSON body (or raw bytes) and returns the decoded reply. Tests use it to send
 * requests a well-behaved client never would. */
export async function callRpcRaw(
  libp2p: Libp2p,
  target: PeerId | Multiaddr | Multiaddr[],
  protocol: string,
  request: unknown,
  options: RpcCallOptions & { rawBody?: Uint8Array } = {},
): Promise<unknown> {
  const signal = AbortSignal.timeout(options.timeoutMs ?? RPC_TIMEOUT_MS)
  const stream = await libp2p.dialProtocol(target, protocol, { signal, runOnLimitedConnection: true })
  try {
    const messages = lpStream(stream, { maxDataLength: RPC_MAX_MESSAGE_BYTES })
    await messages.write(options.rawBody ?? encodeJsonMessage(request, Number.MAX_SAFE_INTEGER), { signal })
    const reply = await messages.read({ signal })
    await stream.close({ signal })
    return decodeJsonMessage(reply.subarray(), RPC_MAX_MESSAGE_BYTES)
  } catch (error) {
    stream.abort(error as Error)
    throw error
  }
}
