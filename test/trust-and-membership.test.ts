/**
 * Real node processes on loopback: trusted nodes connect, untrusted and other-mesh nodes are refused
 * in both directions, and every refusal is visible in the health counters.
 */
import { afterAll, describe, expect, it } from 'vitest'
import type { MeshHealth, MeshStatus, PeerEntry } from '../protocol/rpc/methods.ts'
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

describe('static peers and link posture', () => {
  it('refuses a static peer whose URL answers with a different key, with a clear log line', async () => {
    const [dirA, dirB, dirImpostor] = await Promise.all([
      makeStateDir('a'),
      makeStateDir('b'),
      makeStateDir('impostor'),
    ])
    const [idA, idB, idImpostor] = await Promise.all([
      deviceIdOf(dirA),
      deviceIdOf(dirB),
      deviceIdOf(dirImpostor),
    ])
    await runCli(['trust', 'add', idB], dirA)
    await runCli(['trust', 'add', idA], dirImpostor)
    const impostor = await startNode(dirImpostor, ['--name', 'impostor'])
    // A believes B lives at the impostor's URL.
    const a = await startNode(dirA, ['--name', 'a', '--peer', `${idB}=${impostor.url}`])
    await waitFor('the wrong-key refusal to be logged', () =>
      a
        .output()
        .includes(
          `static peer ${idB} at ${impostor.url} answered with a different key (${idImpostor}): refused`,
        )
        ? true
        : undefined,
    )
    // The dialer keeps retrying with a growing backoff (each retry is refused the same way), so
    // poll for a status taken between attempts rather than racing one.
    const status = await waitFor('the static peer to be in backoff after the refusal', async () => {
      const current = await statusOf(a.url, dirA)
      return current.staticPeers[0]?.state === 'backoff' ? current : undefined
    })
    expect(connectedNodes(status)).toEqual([])
    expect(status.staticPeers[0]).toMatchObject({ deviceId: idB, state: 'backoff' })
  })

  it('reports link posture per peer and refuses plain-ws WAN peers under --wan-policy require-tls', async () => {
    const [dirA, dirB] = await Promise.all([makeStateDir('a'), makeStateDir('b')])
    const [idA, idB] = await Promise.all([deviceIdOf(dirA), deviceIdOf(dirB)])
    await runCli(['trust', 'add', idB], dirA)
    await runCli(['trust', 'add', idA], dirB)
    const a = await startNode(dirA, ['--name', 'a'])
    const b = await startNode(dirB, ['--name', 'b', '--peer', `${idA}=${a.url}||lan`])
    const peer = await waitFor('b to report a posture for a', async () => {
      const { peers } = await cliJson<{ peers: PeerEntry[] }>(['peers', '--url', b.url], dirB)
      return peers.find((entry) => entry.deviceId === idA && entry.posture !== undefined)
    })
    expect(peer.posture).toEqual({
      transport: 'ws',
      label: 'lan',
      tls: 'none',
      keyPinned: true,
      encryption: 'noise',
    })
    expect(b.output()).toContain(`static peer ${idA} (lan) uses plain ws://`)

    const strict = await startNode(await makeStateDir('strict'), [
      '--name',
      'strict',
      '--wan-policy',
      'require-tls',
      '--peer',
      `${idA}=${a.url}||wan`,
    ])
    expect(strict.output()).toContain('refused by --wan-policy require-tls')
    const strictStatus = await statusOf(strict.url, strict.stateDir)
    expect(strictStatus.staticPeers).toEqual([])
  })
})
