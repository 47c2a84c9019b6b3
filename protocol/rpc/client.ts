/**
 * Calls a node's RPC method over a libp2p stream. Used by the CLI, by nodes calling each other, by
 * the browser console and by tests; the response is validated against the same method table the server uses.
 */
import { isPeerId, type Libp2p, type PeerId, type Stream } from '@libp2p/interface'
import { lpStream } from '@libp2p/utils'
import type { Multiaddr } from '@multiformats/multiaddr'
import { decodeJsonMessage, encodeJsonMessage } from '../codec.ts'
import { ClawMeshError } from '../errors.ts'
import {
  RPC_CLIENT_IDLE_MS,
  RPC_IDLE_STREAMS_PER_PEER,
  RPC_MAX_MESSAGE_BYTES,
  RPC_TIMEOUT_MS,
} from '../limits.ts'
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
 * requests a well-behaved client never would. A request to a peer (by PeerId) goes on an idle
 * stream left by an earlier call when there is one; raw bodies always get a stream of their own. */
export async function callRpcRaw(
  libp2p: Libp2p,
  target: PeerId | Multiaddr | Multiaddr[],
  protocol: string,
  request: unknown,
  options: RpcCallOptions & { rawBody?: Uint8Array } = {},
): Promise<unknown> {
  const signal = AbortSignal.timeout(options.timeoutMs ?? RPC_TIMEOUT_MS)
  const body = options.rawBody ?? encodeJsonMessage(request, Number.MAX_SAFE_INTEGER)
  const pool =
    options.rawBody === undefined && isPeerId(target) ? idleStreams(libp2p, target, protocol) : undefined
  const reused = pool?.take()
  if (reused !== undefined) {
    const reply = await exchange(reused, body, signal).catch((error: unknown) => {
      const notTaken = endedBeforeAnswer(reused, error)
      reused.stream.abort(error as Error)
      // The node closes a stream only between requests, so one that ended gracefully without an
      // answer never took this request: send it again on a new stream. Anything else (a reset, a
      // timeout, an answer cut short) may have reached the handler and is the caller's to judge.
      if (!notTaken) throw error
      return undefined
    })
    if (reply !== undefined) {
      pool?.put(reused)
      return decodeJsonMessage(reply.subarray(), RPC_MAX_MESSAGE_BYTES)
    }
  }
  const stream = await libp2p.dialProtocol(target, protocol, { signal, runOnLimitedConnection: true })
  const channel: RpcChannel = {
    stream,
    messages: lpStream(stream, { maxDataLength: RPC_MAX_MESSAGE_BYTES }),
    answered: false,
  }
  let reply: Awaited<ReturnType<typeof exchange>>
  try {
    reply = await exchange(channel, body, signal)
  } catch (error) {
    stream.abort(error as Error)
    throw error
  }
  if (pool !== undefined) pool.put(channel)
  else await stream.close({ signal }).catch((error: Error) => stream.abort(error))
  return decodeJsonMessage(reply.subarray(), RPC_MAX_MESSAGE_BYTES)
}

/** A stream with its one length-prefixed reader (a second reader on the same stream would buffer
 * every message a second time). */
interface RpcChannel {
  readonly stream: Stream
  readonly messages: ReturnType<typeof lpStream>
  /** Bytes of the current answer have started to arrive. */
  answered: boolean
}

async function exchange(channel: RpcChannel, body: Uint8Array, signal: AbortSignal) {
  channel.answered = false
  const onMessage = () => {
    channel.answered = true
  }
  channel.stream.addEventListener('message', onMessage)
  try {
    await channel.messages.write(body, { signal })
    return await channel.messages.read({ signal })
  } finally {
    channel.stream.removeEventListener('message', onMessage)
  }
}

function endedBeforeAnswer(channel: RpcChannel, error: unknown): boolean {
  return (
    (error as Error).name === 'UnexpectedEOFError' &&
    !channel.answered &&
    channel.stream.remoteWriteStatus === 'closed' &&
    channel.stream.status !== 'reset' &&
    channel.stream.status !== 'aborted'
  )
}

function usable(stream: Stream): boolean {
  return (
    stream.status === 'open' && stream.writeStatus === 'writable' && stream.remoteWriteStatus === 'writable'
  )
}

interface IdleStreams {
  take(): RpcChannel | undefined
  put(channel: RpcChannel): void
}

const pools = new WeakMap<Libp2p, Map<string, RpcChannel[]>>()
const idleTimers = new WeakMap<RpcChannel, ReturnType<typeof setTimeout>>()

/** Idle answered streams to one peer for one protocol, newest last, each closed after
 * RPC_CLIENT_IDLE_MS unused; at most RPC_IDLE_STREAMS_PER_PEER are kept. */
function idleStreams(libp2p: Libp2p, peer: PeerId, protocol: string): IdleStreams {
  let byKey = pools.get(libp2p)
  if (byKey === undefined) {
    byKey = new Map()
    pools.set(libp2p, byKey)
  }
  const key = `${peer.toString()} ${protocol}`
  const pooled = byKey
  const list = () => pooled.get(key) ?? []
  const remove = (channel: RpcChannel) => {
    clearTimeout(idleTimers.get(channel))
    const rest = list().filter((candidate) => candidate !== channel)
    if (rest.length === 0) pooled.delete(key)
    else pooled.set(key, rest)
  }
  return {
    take() {
      for (;;) {
        const channel = list().at(-1)
        if (channel === undefined) return undefined
        remove(channel)
        if (usable(channel.stream)) return channel
        channel.stream.abort(new Error('stale idle RPC stream'))
      }
    },
    put(channel) {
      if (!usable(channel.stream) || list().length >= RPC_IDLE_STREAMS_PER_PEER) {
        void channel.stream.close().catch((error: Error) => channel.stream.abort(error))
        return
      }
      pooled.set(key, [...list(), channel])
      const timer = setTimeout(() => {
        if (!list().includes(channel)) return
        remove(channel)
        void channel.stream.close().catch((error: Error) => channel.stream.abort(error))
      }, RPC_CLIENT_IDLE_MS)
      ;(timer as { unref?: () => void }).unref?.()
      idleTimers.set(channel, timer)
    },
  }
}
