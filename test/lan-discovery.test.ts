/**
 * LAN discovery with mDNS between real node processes inside a private network namespace (so no
 * multicast reaches the machine's real network): trusted nodes of one mesh find and connect to each
 * other with no static configuration, exactly once per pair; an untrusted node on the same segment
 * is ignored and counted.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { MeshHealth, MeshStatus } from '../protocol/rpc/methods.ts'
import { canCreateNetns, createMulticastNetns, type NetworkNamespace } from './helpers/netns.ts'
import {
  cliJson,
  deviceIdOf,
  makeStateDir,
  runCli,
  startNode,
  stopAll,
  trustEachOther,
  waitFor,
} from './helpers/processes.ts'

const netnsAvailable = await canCreateNetns()
let netns: NetworkNamespace

beforeAll(async () => {
  if (netnsAvailable) netns = await createMulticastNetns('mdns')
})

afterAll(async () => {
  await stopAll()
  await netns?.remove()
})

describe.skipIf(!netnsAvailable)('LAN discovery (mDNS, needs root for a network namespace)', () => {
  it('three trusted nodes find each other; an untrusted node is ignored', async () => {
    const dirs = await Promise.all(['one', 'two', 'three', 'stranger'].map((label) => makeStateDir(label)))
    const ids = await Promise.all(dirs.map((dir) => deviceIdOf(dir)))
    const members = [0, 1, 2]
    await trustEachOther(dirs.slice(0, 3))
    // The stranger trusts everyone, but nobody trusts it.
    for (const other of members) await runCli(['trust', 'add', ids[other] as string], dirs[3] as string)
    const placement = { prefix: netns.prefix }
    const nodes = await Promise.all(
      ['one', 'two', 'three', 'stranger'].map((name, index) =>
        startNode(dirs[index] as string, ['--name', name, '--discovery'], placement),
      ),
    )

    for (const index of members) {
      const node = nodes[index]
      await waitFor(
        `${node?.deviceId} to connect to the other two`,
        async () => {
          const status = await cliJson<MeshStatus>(
            ['status', '--url', node?.url as string],
            node?.stateDir as string,
            placement,
          )
          const peers = status.connections
            .filter((connection) => connection.kind === 'node')
            .map((connection) => connection.deviceId)
          return members
            .filter((other) => other !== index)
            .every((other) => peers.includes(ids[other] as string))
            ? status
            : undefined
        },
        30_000,
      )
    }
    const status = await cliJson<MeshStatus & { health: MeshHealth }>(
      ['status', '--url', nodes[0]?.url as string],
      dirs[0] as string,
      placement,
    )
    expect(status.discovery).toBe('mdns')
    const nodeConnections = status.connections.filter((connection) => connection.kind === 'node')
    expect(nodeConnections).toHaveLength(2)
    expect(nodeConnections.map((connection) => connection.deviceId)).not.toContain(ids[3])
    await waitFor('the stranger to be ignored and counted', async () => {
      const health = (
        await cliJson<{ health: MeshHealth }>(
          ['status', '--url', nodes[0]?.url as string],
          dirs[0] as string,
          placement,
        )
      ).health
      return (health.counters['discovery.ignored.untrusted'] ?? 0) > 0 ? true : undefined
    })
  })
})
