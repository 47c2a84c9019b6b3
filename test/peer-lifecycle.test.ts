/**
 * Peer lifecycle between real node processes: a graceful stop is seen at once, a kill -9 is
 * declared down after a failed reachability probe, and a restarted peer comes back once. Also checks
 * that `peers` and `inspect` answer within their schemas, in text and JSON.
 */
import { spawn } from 'node:child_process'
import { afterAll, describe, expect, it } from 'vitest'
import { DOWN_PROBE_TIMEOUT_MS } from '../node/mesh/membership.ts'
import { meshInspectResultSchema, meshPeersResultSchema, type PeerEntry } from '../protocol/rpc/methods.ts'
import {
  CLI,
  cliJson,
  deviceIdOf,
  makeStateDir,
  type NodeProcess,
  runCli,
  startNode,
  stopAll,
  waitFor,
} from './helpers/processes.ts'

afterAll(stopAll)

async function meshOfTwo() {
  const [dirA, dirB] = await Promise.all([makeStateDir('a'), makeStateDir('b')])
  const [idA, idB] = await Promise.all([deviceIdOf(dirA), deviceIdOf(dirB)])
  await runCli(['trust', 'add', idB, '--name', 'b'], dirA)
  await runCli(['trust', 'add', idA, '--name', 'a'], dirB)
  const a = await startNode(dirA, ['--name', 'a', '--capability', 'sensor:soil-moisture:zone-1'])
  const startB = () =>
    startNode(dirB, [
      '--name',
      'b',
      '--role',
      'field',
      '--capability',
      'actuator:valve:zone-1',
      '--peer',
      `${idA}=${a.url}`,
    ])
  const b = await startB()
  await waitFor('a to see b connected with its role', () =>
    peerOn(a, idB).then((peer) => (peer?.state === 'connected' && peer.role === 'field' ? peer : undefined)),
  )
  return { a, b, idA, idB, startB }
}

async function peersOf(node: NodeProcess): Promise<PeerEntry[]> {
  return (await cliJson<{ peers: PeerEntry[] }>(['peers', '--url', node.url], node.stateDir)).peers
}

async function peerOn(node: NodeProcess, deviceId: string): Promise<PeerEntry | undefined> {
  return (await peersOf(node)).find((peer) => peer.deviceId === deviceId)
}

describe('peer lifecycle', () => {
  it('a graceful stop is seen at once as left', async () => {
    const { a, b, idB } = await meshOfTwo()
    const stoppedAt = Date.now()
    expect(await b.stop('SIGTERM')).toBe(0)
    const peer = await waitFor('b to be left', () =>
      peerOn(a, idB).then((entry) => (entry?.state === 'left' ? entry : undefined)),
    )
    expect(peer.lastSeen).toBeGreaterThanOrEqual(stoppedAt - 1000)
    const events = await cliJson<{ events: Array<{ type: string; peer?: string }> }>(
      ['status', '--url', a.url, '--events'],
      a.stateDir,
    )
    expect(events.events.some((event) => event.type === 'peer.left' && event.peer === idB)).toBe(true)
    expect(events.events.some((event) => event.type === 'peer.down' && event.peer === idB)).toBe(false)
  })

  it('status --events --follow prints lifecycle events live', async () => {
    const { a, b, idB } = await meshOfTwo()
    const follower = spawn(process.execPath, [CLI, 'status', '--url', a.url, '--events', '--follow'], {
      env: { ...process.env, CLAWMESH_STATE_DIR: a.stateDir },
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    let output = ''
    follower.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()))
    try {
      await waitFor('the follower to print the current events', () =>
        output.includes('peer.connected') ? true : undefined,
      )
      await b.stop('SIGTERM')
      await waitFor('the leave to appear live', () =>
        output.includes(`peer.left`) && output.includes(idB) ? true : undefined,
      )
    } finally {
      follower.kill('SIGKILL')
    }
  })

  it('kill -9 is declared down after a failed probe, and a restart brings the peer back once', async () => {
    const { a, b, idB, startB } = await meshOfTwo()
    await b.stop('SIGKILL')
    const killedAt = Date.now()
    await waitFor(
      'b to be down',
      () => peerOn(a, idB).then((entry) => (entry?.state === 'down' ? entry : undefined)),
      DOWN_PROBE_TIMEOUT_MS + 10_000,
    )
    expect(Date.now() - killedAt).toBeLessThan(DOWN_PROBE_TIMEOUT_MS + 5_000)

    await startB()
    await waitFor(
      'b to be connected again',
      () => peerOn(a, idB).then((entry) => (entry?.state === 'connected' ? entry : undefined)),
      20_000,
    )
    const entries = (await peersOf(a)).filter((peer) => peer.deviceId === idB)
    expect(entries).toHaveLength(1)
    expect(entries[0]?.capabilities).toEqual(['actuator:valve:zone-1'])
  })

  it('peers and inspect answer within their schemas, in JSON and text', async () => {
    const { a, idB } = await meshOfTwo()
    const peers = await cliJson(['peers', '--url', a.url], a.stateDir)
    expect(meshPeersResultSchema.safeParse(peers).success).toBe(true)
    const inspect = await cliJson(['inspect', '--url', a.url], a.stateDir)
    const parsed = meshInspectResultSchema.parse(inspect)
    expect(
      parsed.connections.some(
        (connection) => connection.deviceId === idB && connection.encryption === '/noise',
      ),
    ).toBe(true)
    expect(parsed.gossipsub.topics.map((topic) => topic.topic)).toContain('clawmesh/clawmesh/ctx/1')
    const text = await runCli(['peers', '--url', a.url], a.stateDir)
    expect(text.stdout).toMatch(/b\s+connected\s+field/)
    const inspectText = await runCli(['inspect', '--url', a.url], a.stateDir)
    expect(inspectText.stdout).toContain('gossipsub clawmesh/clawmesh/ctx/1')
  })
})
