/**
 * A node dials through the `ws` client (runtime/libp2p/ws-dialer.ts), not Node's undici WebSocket:
 * startClawMeshNode installs it as it starts. Fails if the composition root stops installing it
 * (docs/benchmarks-fanout.md, "Field nodes dial through ws": undici's receive path cost a field node
 * 10–15 % more CPU per frame).
 */
import { afterAll, expect, it } from 'vitest'
import { WebSocket as WsWebSocket } from 'ws'
import { type ClawMeshNode, startClawMeshNode } from '../node/clawmesh-node.ts'
import { parseNodeConfig } from '../node/config.ts'
import { makeStateDir } from './helpers/processes.ts'

let node: ClawMeshNode | undefined

afterAll(async () => {
  await node?.stop()
})

it('dials with the ws client once started', async () => {
  const before = new globalThis.WebSocket('ws://127.0.0.1:1')
  before.addEventListener('error', () => undefined)
  expect(before instanceof WsWebSocket).toBe(false)
  const stateDir = await makeStateDir('ws-dialer')
  node = await startClawMeshNode(
    parseNodeConfig({ name: 'field-1', host: '127.0.0.1', port: 0, discovery: false, stateDir }, 'test'),
  )
  // Nothing listens on port 1: the socket is only looked at, and its refusal ignored.
  const after = new globalThis.WebSocket('ws://127.0.0.1:1')
  after.addEventListener('error', () => undefined)
  expect(after instanceof WsWebSocket).toBe(true)
})
