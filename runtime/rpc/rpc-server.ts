/**
 * The RPC boundary of a node: requests and responses on `/clawmesh/rpc/<gen>` streams, one request
 * at a time per stream (a caller may send its next request on the same stream once answered).
 * Order of checks: admission (rate, concurrency) → size-limited read → envelope → method table →
 * caller access → params schema → handler → result schema. Anything a handler throws is normalised
 * to the closed error table; every refusal is counted and the node keeps serving. A RATE_LIMITED
 * answer is held back RPC_RATE_LIMITED_ANSWER_DELAY_MS, so a flooder cannot spin on refusals.
 */
import type { Connection, Libp2p, Stream } from '@libp2p/interface'
import { lpStream } from '@libp2p/utils'
import type { z } from 'zod'
import { encodeJsonMessage } from '../../protocol/codec.ts'
import { ClawMeshError, normaliseError } from '../../protocol/errors.ts'
import {
  RPC_MAX_CONCURRENT_PER_PEER,
  RPC_MAX_MESSAGE_BYTES,
  RPC_RATE_BURST,
  RPC_RATE_LIMITED_ANSWER_DELAY_MS,
  RPC_RATE_PER_SECOND,
  RPC_READ_TIMEOUT_MS,
  RPC_STREAM_IDLE_MS,
} from '../../protocol/limits.ts'
import { decodeRpcRequest, parseRpcParams, unknownMethod } from '../../protocol/rpc/decode.ts'
import type { RpcResponse } from '../../protocol/rpc/envelope.ts'
import { isRpcMethodName, RPC_METHODS, type RpcMethodName } from '../../protocol/rpc/methods.ts'
import type { Counters } from '../counters.ts'
import { PeerLimiter } from './peer-limiter.ts'

export type CallerAccess = 'admin' | 'peer'

export interface RpcCallContext {
  readonly callerId: string
  readonly access: CallerAccess
  readonly connection: Connection
  readonly signal: AbortSignal
}

export type RpcHandler<M extends RpcMethodName> = (
  params: z.output<(typeof RPC_METHODS)[M]['params']>,
  context: RpcCallContext,
) => Promise<z.input<(typeof RPC_METHODS)[M]['result']>> | z.input<(typeof RPC_METHODS)[M]['result']>

export type RpcHandlers = { [M in RpcMethodName]: RpcHandler<M> }

export interface RpcServerInit {
  libp2p: Libp2p
  protocol: string
  /** A relay serves only part of the table; a method without a handler answers UNKNOWN_METHOD. */
  handlers: Partial<RpcHandlers>
  counters: Counters
  /** Decides what a connected caller may do; undefined refuses it (UNAUTHORIZED). May wait for the
   * mesh hello of a freshly connected peer. */
  authorize(callerId: string, connection: Connection): Promise<CallerAccess | undefined>
  onRefusal?(callerId: string, code: string, message: string): void
  /** A narrower rule for some callers (an operator console on a field node): the reason the caller
   * may not call this method, or undefined when it may. Refused as FORBIDDEN. */
  forbids?(callerId: string, method: RpcMethodName): string | undefined
  /** The same, for a rule on the validated params (a host workflow's access class); checked after
   * the params parse. Refused as FORBIDDEN. */
  forbidsCall?(callerId: string, method: RpcMethodName, params: unknown): string | undefined
}

export async function startRpcServer(init: RpcServerInit): Promise<() => Promise<void>> {
  const limiter = new PeerLimiter({
    ratePerSecond: RPC_RATE_PER_SECOND,
    burst: RPC_RATE_BURST,
    maxConcurrent: RPC_MAX_CONCURRENT_PER_PEER,
  })
  await init.libp2p.handle(
    init.protocol,
    (stream, connection) => serveStream(init, limiter, stream, connection),
    {
      // The per-peer limiter gives the precise answer; this stops runaway stream creation earlier.
      maxInboundStreams: RPC_MAX_CONCURRENT_PER_PEER * 4,
      runOnLimitedConnection: true,
    },
  )
  return () => init.libp2p.unhandle(init.protocol)
}

/**
 * Serves the requests of one stream in turn: the first must arrive within RPC_READ_TIMEOUT_MS; after
 * each answer the stream stays open for the caller's next request (up to RPC_STREAM_IDLE_MS idle),
 * until the caller closes its side. A request refused before its body was read (rate, size, framing)
 * closes the stream, since what follows on it is no longer known to start a request. The stream is
 * only ever closed while no request is being handled, so a caller whose reused stream ends without
 * an answer knows its request was not taken (protocol/rpc/client.ts retries it on a new stream).
 */
async function serveStream(
  init: RpcServerInit,
  limiter: PeerLimiter,
  stream: Stream,
  connection: Connection,
) {
  const messages = lpStream(stream, { maxDataLength: RPC_MAX_MESSAGE_BYTES })
  for (let first = true; ; first = false) {
    const served = await serveRequest(init, limiter, stream, connection, messages, first)
    if (served === 'keep-open') continue
    if (served === 'close') {
      await stream.close({ signal: AbortSignal.timeout(RPC_READ_TIMEOUT_MS) }).catch((error: Error) => {
        stream.abort(error)
      })
    }
    return
  }
}

type Messages = ReturnType<typeof lpStream>

async function serveRequest(
  init: RpcServerInit,
  limiter: PeerLimiter,
  stream: Stream,
  connection: Connection,
  messages: Messages,
  first: boolean,
): Promise<'keep-open' | 'close' | 'aborted'> {
  const callerId = connection.remotePeer.toString()
  let requestId = '?'
  let response: RpcResponse
  let bodyRead = false
  // The first request is admitted before it is read (a flood of streams costs no reads); a later
  // one on the same stream is read while the stream idles, then admitted.
  let admission = first ? limiter.admit(callerId) : undefined
  try {
    if (admission !== undefined && !admission.admitted) throw refusedAdmission(admission.reason)
    let body: Uint8Array
    try {
      body = (
        await messages.read({ signal: AbortSignal.timeout(first ? RPC_READ_TIMEOUT_MS : RPC_STREAM_IDLE_MS) })
      ).subarray()
    } catch (error) {
      const name = (error as Error).name
      if (name === 'InvalidDataLengthError' || name === 'InvalidDataLengthLengthError') {
        throw new ClawMeshError('PAYLOAD_TOO_LARGE', `requests are limited to ${RPC_MAX_MESSAGE_BYTES} bytes`)
      }
      if (name === 'InvalidMessageLengthError')
        throw new ClawMeshError('BAD_REQUEST', 'invalid length prefix')
      // The caller closed its side, or the stream idled out, between requests: nothing to answer.
      if (!first) return 'close'
      throw error
    }
    bodyRead = true
    if (admission === undefined) {
      admission = limiter.admit(callerId)
      if (!admission.admitted) throw refusedAdmission(admission.reason)
    }
    const envelope = decodeRpcRequest(body)
    requestId = envelope.id
    const methodName = envelope.method
    if (!isRpcMethodName(methodName)) throw unknownMethod(methodName)
    const definition = RPC_METHODS[methodName]
    const access = await init.authorize(callerId, connection)
    if (access === undefined) throw new ClawMeshError('UNAUTHORIZED', 'this node does not trust the caller')
    if (definition.access === 'admin' && access !== 'admin') {
      throw new ClawMeshError('FORBIDDEN', `${methodName} is only available to the local admin`)
    }
    const forbidden = init.forbids?.(callerId, methodName)
    if (forbidden !== undefined) throw new ClawMeshError('FORBIDDEN', forbidden)
    const handler = init.handlers[methodName] as RpcHandler<RpcMethodName> | undefined
    if (handler === undefined)
      throw new ClawMeshError('UNKNOWN_METHOD', `this peer does not serve "${methodName}"`)
    const params = parseRpcParams(methodName, envelope.params)
    const forbiddenCall = init.forbidsCall?.(callerId, methodName, params)
    if (forbiddenCall !== undefined) throw new ClawMeshError('FORBIDDEN', forbiddenCall)
    const result = await handler(params as never, {
      callerId,
      access,
      connection,
      signal: AbortSignal.timeout(RPC_READ_TIMEOUT_MS * 2),
    })
    const checked = definition.result.safeParse(result)
    if (!checked.success)
      throw new Error(
        `handler for ${methodName} returned a result outside its schema: ${checked.error.message}`,
      )
    response = { id: requestId, ok: true, result: checked.data }
  } catch (error) {
    const normalised = normaliseError(error)
    init.counters.increment(`rpc.refused.${normalised.code}`)
    if (normalised.code === 'INTERNAL')
      console.error(`[rpc] internal error serving ${callerId}:`, normalised.cause)
    init.onRefusal?.(callerId, normalised.code, normalised.message)
    response = { id: requestId, ok: false, error: normalised.toWire() }
  } finally {
    if (admission?.admitted === true) admission.release()
  }
  // Held without a handler slot: the caller's streams (maxInboundStreams) bound how many wait.
  if (!response.ok && response.error.code === 'RATE_LIMITED')
    await new Promise((resolve) => setTimeout(resolve, RPC_RATE_LIMITED_ANSWER_DELAY_MS))
  try {
    let bytes: Uint8Array
    try {
      bytes = encodeJsonMessage(response, RPC_MAX_MESSAGE_BYTES)
    } catch (error) {
      bytes = encodeJsonMessage(
        { id: requestId, ok: false, error: normaliseError(error).toWire() },
        RPC_MAX_MESSAGE_BYTES,
      )
    }
    await messages.write(bytes, { signal: AbortSignal.timeout(RPC_READ_TIMEOUT_MS) })
  } catch (error) {
    stream.abort(error as Error)
    return 'aborted'
  }
  return bodyRead ? 'keep-open' : 'close'
}

function refusedAdmission(reason: 'rate' | 'concurrency'): ClawMeshError {
  return new ClawMeshError(
    'RATE_LIMITED',
    `too many ${reason === 'rate' ? 'requests' : 'concurrent requests'}`,
  )
}
