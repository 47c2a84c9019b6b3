/**
 * `capability.invoke` between real node processes: the call reaches a node that has the capability,
 * fails over when that node dies, names the closed error code for a capability nobody offers, and
 * refuses direct actuation.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type CliClient, connectCliClient } from '../node/cli/client-node.ts'
import type { PeerEntry } from '../protocol/rpc/methods.ts'
import {
  makeStateDir,
  type NodeProcess,
  startNode,
  stopAll,
  trustEachOther,
  waitFor,
} from './helpers/processes.ts'

const CAPABILITY = 'sensor:soil-moisture:zone-1'
let hub: NodeProcess
let fields: NodeProcess[]
let client: CliClient

beforeAll(async () => {
  const dirs = await Promise.all(['hub', 'field-a', 'field-b'].map((name) => makeStateDir(name)))
  const ids = await trustEachOther(dirs)
  hub = await startNode(dirs[0] as string, ['--name', 'hub', '--role', 'planner'])
  // Both field nodes serve the demo farm's `field-1` sensors, so either can answer.
  fields = await Promise.all(
    [1, 2].map((index) =>
      startNode(dirs[index] as string, [
        '--name',
        'field-1',
        '--field-node',
        '--peer',
        `${ids[0]}=${hub.url}`,
      ]),
    ),
  )
  client = await connectCliClient(hub.url, hub.stateDir)
  await waitFor('both providers to be known with their capabilities', async () => {
    const { peers } = await client.call('mesh.peers', {})
    const providers = peers.filter(
      (peer: PeerEntry) => peer.state === 'connected' && peer.capabilities.includes(CAPABILITY),
    )
    return providers.length === 2 ? true : undefined
  })
}, 60_000)

afterAll(async () => {
  await client?.close()
  await stopAll()
})

describe('capability routing', () => {
  it('reaches a node that has the capability, and fails over when it dies', async () => {
    const first = await client.call('capability.invoke', { capability: CAPABILITY, operation: 'read' })
    expect(fields.map((field) => field.deviceId)).toContain(first.provider)
    expect(first.result).toMatchObject({ metric: 'soil-moisture', unit: '%' })

    const dead = fields.find((field) => field.deviceId === first.provider) as NodeProcess
    await dead.stop('SIGKILL')
    const second = await client.call('capability.invoke', {
      capability: CAPABILITY,
      operation: 'read',
      timeoutMs: 2_000,
    })
    expect(second.provider).not.toBe(first.provider)
    expect(fields.map((field) => field.deviceId)).toContain(second.provider)
  })

  it('returns NO_PROVIDER for a capability nobody offers', async () => {
    await expect(
      client.call('capability.invoke', { capability: 'sensor:ph:zone-9', operation: 'read' }),
    ).rejects.toMatchObject({
      code: 'NO_PROVIDER',
    })
  })

  it('refuses direct actuation: valves move only through approved proposals', async () => {
    await expect(
      client.call('capability.invoke', {
        capability: 'actuator:valve:zone-1',
        operation: 'open',
        args: { durationSec: 60 },
      }),
    ).rejects.toMatchObject({ code: 'APPROVAL_REQUIRED' })
  })
})
