/**
 * Real node processes on loopback: trusted nodes connect, untrusted and other-mesh nodes are refused
 * in both directions, and every refusal is visible in the health counters.
 */
import { afterAll, describe, expect, it } from 'vitest'
import type { MeshHealth, MeshStatus } from '../protocol/rpc/methods.ts'
import {
  cliJson,
  deviceIdOf,
  makeStateDir,
  runCli,
  startNode,
  stopAll,
  waitFor,
} from './helpers/processes.ts'

type StatusJson = MeshStatus & { health: MeshHealth }

const statusOf = (url: string, stateDir: string) => cliJson<StatusJson>(['status', '--url', url], stateDir)
const connectedNodes = (status: StatusJson) =>
  status.connections
    .filter((connection) => connection.kind === 'node')
    .map((connection) => connection.deviceId)

afterAll(stopAll)

describe('trusted mesh membership', () => {
  it('two nodes that trust each other connect, and status on each shows the other', async () => {
    const [dirA, dirB] = await Promise.all([makeStateDir('a'), makeStateDir('b')])
    const [idA, idB] = await Promise.all([deviceIdOf(dirA), deviceIdOf(dirB)])
    expect((await runCli(['trust', 'add', idB, '--name', 'b'], dirA)).code).toBe(0)
    expect((await runCli(['trust', 'add', idA, '--name', 'a'], dirB)).code).toBe(0)
    const a = await startNode(dirA, ['--name', 'a'])
    const b = await startNode(dirB, ['--name', 'b', '--peer', `${idA}=${a.url}`])
    expect(a.deviceId).toBe(idA)

    const statusA = await waitFor('a to see b', async () => {
      const status = await statusOf(a.url, dirA)
      return connectedNodes(status).includes(idB) ? status : undefined
    })
    const statusB = await waitFor('b to see a', async () => {
      const status = await statusOf(b.url, dirB)
      return connectedNodes(status).includes(idA) ? status : undefined
    })
    expect(statusA.deviceId).toBe(idA)
    expect(statusB.staticPeers).toEqual([
      expect.objectContaining({ deviceId: idA, state: 'connected', label: 'local' }),
    ])
  })

  it('an untrusted node is refused inbound and outbound, and the refusals are counted', async () => {
    const [dirA, dirStranger] = await Promise.all([makeStateDir('a'), makeStateDir('stranger')])
    const [idA, idStranger] = await Promise.all([deviceIdOf(dirA), deviceIdOf(dirStranger)])
    // The stranger trusts A and dials it; A does not trust the stranger.
    await runCli(['trust', 'add', idA], dirStranger)
    const stranger = await startNode(dirStranger, ['--name', 'stranger'])
    const a = await startNode(dirA, ['--name', 'a', '--peer', `${idStranger}=${stranger.url}`])
    await startNode(await makeStateDir('stranger2'), ['--name', 'stranger2', '--peer', `${idA}=${a.url}`])

    const health = await waitFor('both refusals to be counted', async () => {
      const status = await statusOf(a.url, dirA)
      const counters = status.health.counters
      return (counters['connections.refused.untrusted.inbound'] ?? 0) > 0 &&
        (counters['connections.refused.untrusted.outbound'] ?? 0) > 0
        ? status.health
        : undefined
    })
    expect(health.status).toBe('degraded')
    expect(health.reasons.join(' ')).toMatch(/refused/)
    const status = await statusOf(a.url, dirA)
    expect(connectedNodes(status)).toEqual([])
    expect(a.output()).toContain(`refused outbound connection: ${idStranger} is not in`)
  })

  it('a node of another mesh is refused and the refusal is logged on both sides', async () => {
    const [dirA, dirOther] = await Promise.all([makeStateDir('a'), makeStateDir('other')])
    const [idA, idOther] = await Promise.all([deviceIdOf(dirA), deviceIdOf(dirOther)])
    await runCli(['trust', 'add', idOther], dirA)
    await runCli(['trust', 'add', idA], dirOther)
    const a = await startNode(dirA, ['--name', 'a', '--mesh-name', 'farm'])
    const other = await startNode(dirOther, [
      '--name',
      'other',
      '--mesh-name',
      'quarry',
      '--peer',
      `${idA}=${a.url}`,
    ])

    await waitFor('a to count the mesh mismatch', async () => {
      const status = await statusOf(a.url, dirA)
      return (status.health.counters['connections.refused.mesh-mismatch'] ?? 0) > 0 ? true : undefined
    })
    await waitFor('both logs to name the mismatch', () =>
      a.output().includes('belongs to mesh "quarry"') && other.output().includes('belongs to mesh "farm"')
        ? true
        : undefined,
    )
    const status = await statusOf(a.url, dirA)
    expect(connectedNodes(status)).not.toContain(idOther)
  })
})
