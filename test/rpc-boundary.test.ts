/**
 * The RPC boundary of a real node: malformed, oversized, unknown-method and invalid-params requests
 * get their closed error code and the node keeps serving.
 */

import { peerIdFromString } from '@libp2p/peer-id'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type CliClient, connectCliClient } from '../node/cli/client-node.ts'
import { callRpcRaw } from '../node/rpc/rpc-client.ts'
import { RPC_MAX_MESSAGE_BYTES } from '../protocol/limits.ts'
import { cliJson, makeStateDir, type NodeProcess, startNode, stopAll } from './helpers/processes.ts'

let node: NodeProcess
let client: CliClient

beforeAll(async () => {
  const dir = await makeStateDir('rpc')
  node = await startNode(dir, ['--name', 'rpc'])
  client = await connectCliClient(node.url, dir)
})

afterAll(async () => {
  await client?.close()
  await stopAll()
})

const send = (request: unknown, rawBody?: Uint8Array) =>
  callRpcRaw(
    client.libp2p,
    peerIdFromString(client.remoteDeviceId),
    client.protocol,
    request,
    rawBody === undefined ? {} : { rawBody },
  )

/** One request of each kind the boundary refuses, with the code it answers. */
const BAD_REQUESTS: ReadonlyArray<{ code: string; request?: unknown; rawBody?: Uint8Array }> = [
  { code: 'BAD_REQUEST', rawBody: new TextEncoder().encode('{not json') },
  {
    code: 'PAYLOAD_TOO_LARGE',
    rawBody: new TextEncoder().encode(
      JSON.stringify({ id: '1', method: 'mesh.status', params: { pad: 'x'.repeat(RPC_MAX_MESSAGE_BYTES) } }),
    ),
  },
  { code: 'UNKNOWN_METHOD', request: { id: '2', method: 'mesh.selfDestruct' } },
  { code: 'INVALID_PARAMS', request: { id: '3', method: 'mesh.events', params: { limit: -4 } } },
]

describe('RPC boundary', () => {
  it('refuses a body that is not JSON with BAD_REQUEST', async () => {
    expect(await send(undefined, new TextEncoder().encode('{not json'))).toMatchObject({
      ok: false,
      error: { code: 'BAD_REQUEST' },
    })
  })

  it('refuses a body that does not match the envelope with BAD_REQUEST', async () => {
    expect(await send({ method: 'mesh.status' })).toMatchObject({ ok: false, error: { code: 'BAD_REQUEST' } })
  })

  it('refuses an oversized request with PAYLOAD_TOO_LARGE', async () => {
    const body = new TextEncoder().encode(
      JSON.stringify({ id: '1', method: 'mesh.status', params: { pad: 'x'.repeat(RPC_MAX_MESSAGE_BYTES) } }),
    )
    expect(await send(undefined, body)).toMatchObject({ ok: false, error: { code: 'PAYLOAD_TOO_LARGE' } })
  })

  it('refuses an unknown method with UNKNOWN_METHOD', async () => {
    expect(await send({ id: '2', method: 'mesh.selfDestruct' })).toMatchObject({
      id: '2',
      ok: false,
      error: { code: 'UNKNOWN_METHOD' },
    })
  })

  it('refuses params outside the schema with INVALID_PARAMS', async () => {
    expect(await send({ id: '3', method: 'mesh.events', params: { limit: -4 } })).toMatchObject({
      id: '3',
      ok: false,
      error: { code: 'INVALID_PARAMS' },
    })
  })

  it('keeps serving after bad requests and counts each refusal', async () => {
    const refusedCounts = async () => {
      const { counters } = await client.call('mesh.health', {})
      return Object.fromEntries(BAD_REQUESTS.map(({ code }) => [code, counters[`rpc.refused.${code}`] ?? 0]))
    }
    const before = await refusedCounts()
    for (const { request, rawBody } of BAD_REQUESTS) {
      expect(await send(request, rawBody)).toMatchObject({ ok: false })
    }
    // One more of each, counted under its own code: this test's requests, whatever ran before it.
    const after = await refusedCounts()
    for (const { code } of BAD_REQUESTS) expect(after[code], code).toBe((before[code] ?? 0) + 1)
    const status = await client.call('mesh.status', {})
    expect(status.deviceId).toBe(node.deviceId)
    const viaCli = await cliJson<{ deviceId: string }>(['status', '--url', node.url], node.stateDir)
    expect(viaCli.deviceId).toBe(node.deviceId)
  })
})
