/**
 * Once installed (as the CLI's client does), dials go through the `ws` client (ws-dialer.ts), not
 * Node's undici WebSocket: a stack's outbound WebSocket is a `ws` socket without per-message
 * deflate, and a dialled stream carries bytes both ways.
 */
import { generateKeyPair } from '@libp2p/crypto/keys'
import { afterEach, describe, expect, it } from 'vitest'
import { WebSocket as WsWebSocket } from 'ws'
import { PROTOCOL_GENERATION } from '../../protocol/mesh.ts'
import { buildLibp2p, type ClawMeshLibp2p, DIAL_ANY_ADDRESS } from './build-libp2p.ts'
import { installWsDialer } from './ws-dialer.ts'

installWsDialer()

const mesh = { meshName: 'farm-a', generation: PROTOCOL_GENERATION }
const ECHO = '/test/echo/1.0.0'
const started: ClawMeshLibp2p<Record<string, never>>[] = []

afterEach(async () => {
  await Promise.all(started.splice(0).map((libp2p) => libp2p.stop()))
})

async function stack(kind: 'node' | 'cli', listen?: string[]) {
  const libp2p = await buildLibp2p({
    privateKey: await generateKeyPair('Ed25519'),
    agent: { name: `clawmesh-${kind}`, kind, mesh },
    gater: DIAL_ANY_ADDRESS,
    ...(listen === undefined ? {} : { listen }),
  })
  started.push(libp2p)
  return libp2p
}

describe('WebSocket dials', () => {
  it('use the ws client without per-message deflate', async () => {
    const listener = await stack('node', ['/ip4/127.0.0.1/tcp/0/ws'])
    await stack('cli')
    const port = /\/tcp\/(\d+)\//.exec(listener.getMultiaddrs()[0]!.toString())?.[1]
    const socket = new globalThis.WebSocket(`ws://127.0.0.1:${port}`) as unknown as WsWebSocket
    expect(socket instanceof WsWebSocket).toBe(true)
    await new Promise((resolve, reject) => {
      socket.once('open', resolve)
      socket.once('error', reject)
    })
    expect(socket.extensions).toBe('')
    socket.terminate()
  })

  it('carry a stream both ways between two stacks', async () => {
    const listener = await stack('node', ['/ip4/127.0.0.1/tcp/0/ws'])
    const dialer = await stack('cli')
    await listener.handle(ECHO, async (stream) => {
      for await (const chunk of stream) stream.send(chunk)
      await stream.close()
    })
    const stream = await dialer.dialProtocol(listener.getMultiaddrs()[0]!, ECHO, {
      signal: AbortSignal.timeout(10_000),
    })
    const payload = new TextEncoder().encode('valve-3 closed')
    stream.send(payload)
    let echoed = new Uint8Array()
    for await (const chunk of stream) {
      echoed = new Uint8Array([...echoed, ...chunk.subarray()])
      if (echoed.length >= payload.length) break
    }
    expect(new TextDecoder().decode(echoed)).toBe('valve-3 closed')
  })
})
