/**
 * The CLI's client dials through the `ws` client (runtime/libp2p/ws-dialer.ts), not Node's undici
 * WebSocket: fails if connectCliClient stops installing it.
 */
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, expect, it } from 'vitest'
import { WebSocket as WsWebSocket } from 'ws'
import { connectCliClient } from './client-node.ts'

const dirs: string[] = []
afterAll(async () => {
  for (const dir of dirs) await rm(dir, { recursive: true, force: true })
})

it('dials with the ws client', async () => {
  const stateDir = await mkdtemp(join(tmpdir(), 'clawmesh-cli-client-'))
  dirs.push(stateDir)
  // Nothing listens on port 1: the dial is refused, after the client chose its WebSocket.
  await expect(connectCliClient('ws://127.0.0.1:1', stateDir)).rejects.toThrow(/cannot reach/)
  const socket = new globalThis.WebSocket('ws://127.0.0.1:1')
  socket.addEventListener('error', () => undefined)
  expect(socket instanceof WsWebSocket).toBe(true)
})
