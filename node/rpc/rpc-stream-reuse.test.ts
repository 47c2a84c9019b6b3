/**
 * RPC streams carry several requests in turn: two real libp2p nodes over loopback WebSockets, the
 * node's RPC server and the shared client. The receiver's idle time is shortened here so the test
 * can watch it close a stream.
 */
import { generateKeyPair } from '@libp2p/crypto/keys'
import type { Stream } from '@libp2p/interface'
import type { Libp2p } from 'libp2p'
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest'
import { DEFAULT_MESH_NAME, PROTOCOL_GENERATION } from '../../protocol/mesh.ts'
import { callRpc } from '../../protocol/rpc/client.ts'
import { Counters } from '../../runtime/counters.ts'
import { buildLibp2p, DIAL_ANY_ADDRESS } from '../../runtime/libp2p/build-libp2p.ts'
import { type RpcCallContext, type RpcHandlers, startRpcServer } from '../../runtime/rpc/rpc-server.ts'

const SHORT_IDLE_MS = 300
vi.mock('../../protocol/limits.ts', async (importOriginal) => ({
  ...(await importOriginal<typeof import('../../protocol/limits.ts')>()),
  RPC_STREAM_IDLE_MS: 300,
}))

const PROTOCOL = '/clawmesh/rpc/test-reuse'
let server: Libp2p
let client: Libp2p
/** Inbound RPC stream IDs seen by the handler on each call. */
const streamsSeen: string[][] = []
let handled = 0
/** Set by a test: the node resets the stream while handling the call. */
let resetWhileHandling = false

const newNode = async (listen: string[]) =>
  buildLibp2p({
    privateKey: await generateKeyPair('Ed25519'),
    agent: {
      name: 'rpc-test',
      kind: 'node',
      mesh: { meshName: DEFAULT_MESH_NAME, generation: PROTOCOL_GENERATION },
    },
    listen,
    gater: DIAL_ANY_ADDRESS,
  })

beforeAll(async () => {
  server = await newNode(['/ip4/127.0.0.1/tcp/0/ws'])
  client = await newNode([])
  await startRpcServer({
    libp2p: server,
    protocol: PROTOCOL,
    counters: new Counters(),
    authorize: async () => 'admin',
    handlers: {
      'capability.invoke': (_params: unknown, call: RpcCallContext) => {
        handled++
        if (resetWhileHandling) {
          for (const stream of call.connection.streams)
            if (stream.protocol === PROTOCOL) stream.abort(new Error('reset by the test'))
        }
        streamsSeen.push(
          call.connection.streams
            .filter((stream: Stream) => stream.protocol === PROTOCOL)
            .map((stream: Stream) => stream.id),
        )
        return { provider: 'test', result: { call: handled }, tried: [] }
      },
    } as Partial<RpcHandlers> as RpcHandlers,
  })
  await client.dial(server.getMultiaddrs())
})

afterAll(async () => {
  await Promise.all([client?.stop(), server?.stop()])
})

/** Any method with a small answer will do; the handler above answers this one. */
const status = () =>
  callRpc(client, server.peerId, PROTOCOL, 'capability.invoke', {
    capability: 'sensor:test',
    operation: 'read',
  }).catch((error: Error) => error)

describe('RPC stream reuse', () => {
  it('answers consecutive calls to a peer on one stream, running each handler once', async () => {
    const before = handled
    for (let call = 0; call < 3; call++) expect(await status()).not.toBeInstanceOf(Error)
    expect(handled - before).toBe(3)
    const ids = new Set(streamsSeen.slice(-3).flat())
    expect(ids.size).toBe(1)
    const open = client
      .getConnections(server.peerId)
      .flatMap((connection) => connection.streams)
      .filter((stream) => stream.protocol === PROTOCOL)
    expect(open).toHaveLength(1)
  })

  it('sends the next call on a new stream after the node closed an idle one, once', async () => {
    await status()
    const idleId = streamsSeen.at(-1)?.[0]
    await new Promise((resolve) => setTimeout(resolve, SHORT_IDLE_MS * 3))
    const before = handled
    expect(await status()).not.toBeInstanceOf(Error)
    expect(handled - before).toBe(1)
    expect(streamsSeen.at(-1)).not.toContain(idleId)
  })

  it('resends a call whose reused stream the node closed as the call went out, and runs it once', async () => {
    await status()
    // The node's side of the idle stream: when its idle timer closes it, send the next call at
    // once, before the close reaches the caller, so the call goes out on a stream that still looks
    // usable and the node never reads it.
    const nodeSide = server
      .getConnections(client.peerId)
      .flatMap((connection) => connection.streams)
      .find((stream) => stream.protocol === PROTOCOL)
    if (nodeSide === undefined) throw new Error('no idle RPC stream on the node')
    const close = nodeSide.close.bind(nodeSide)
    let raced: ReturnType<typeof status> | undefined
    const before = handled
    nodeSide.close = async (options) => {
      raced = status()
      return close(options)
    }
    await new Promise((resolve) => setTimeout(resolve, SHORT_IDLE_MS * 3))
    expect(raced).toBeDefined()
    expect(await raced).not.toBeInstanceOf(Error)
    expect(handled - before).toBe(1)
    expect(streamsSeen.at(-1)).not.toContain(nodeSide.id)
  })

  it('does not resend a call whose reused stream was reset after the node took it', async () => {
    await status()
    const before = handled
    resetWhileHandling = true
    try {
      expect(await status()).toBeInstanceOf(Error)
    } finally {
      resetWhileHandling = false
    }
    expect(handled - before).toBe(1)
    expect(await status()).not.toBeInstanceOf(Error)
  })
})
