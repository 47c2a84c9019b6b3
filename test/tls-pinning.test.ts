/**
 * TLS pins on static peers, with real node processes over real wss:// sockets on loopback. Node B
 * serves WSS with a certificate from `clawmesh cert`; every dialling node trusts B's CA
 * (NODE_EXTRA_CA_CERTS), so the chain validates and only the pin can stop a dial. A right pin
 * connects over TLS; a wrong pin is refused before anything is dialled (logged with expected vs got,
 * counted, no connection on either side); an unpinned WAN peer is reported under the default policy
 * and refused under --wan-policy require-tls.
 */
import { X509Certificate } from 'node:crypto'
import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { MeshHealth, MeshStatus } from '../protocol/rpc/methods.ts'
import { pinFromFingerprint256, shortPin } from '../protocol/tls-pin.ts'
import {
  cliJson,
  makeStateDir,
  type NodeProcess,
  runCli,
  startNode,
  stopAll,
  trustEachOther,
  waitFor,
} from './helpers/processes.ts'

type StatusJson = MeshStatus & { health: MeshHealth }

const statusOf = (node: NodeProcess) => cliJson<StatusJson>(['status', '--url', node.url], node.stateDir)
const connectedNodes = (status: StatusJson) =>
  status.connections
    .filter((connection) => connection.kind === 'node')
    .map((connection) => connection.deviceId)

describe('TLS pinning of static peers', () => {
  let b: NodeProcess
  let pin: string
  /** Dialling nodes trust B's CA, so a refused dial is the pin's doing. */
  let trustB: { prefix: string[] }
  const dirs: Record<string, string> = {}
  const ids: Record<string, string> = {}

  beforeAll(async () => {
    for (const name of ['b', 'pinned', 'wrong', 'unpinned', 'strict']) dirs[name] = await makeStateDir(name)
    const list = await trustEachOther(Object.values(dirs))
    for (const [index, name] of Object.keys(dirs).entries()) ids[name] = list[index] as string
    const made = await runCli(['cert', '--no-qr'], dirs['b'] as string)
    expect(made.code, made.stderr).toBe(0)
    const certificate = new X509Certificate(await readFile(join(dirs['b'] as string, 'tls', 'server.crt')))
    pin = pinFromFingerprint256(certificate.fingerprint256)
    // What an operator copies into --peer is what `clawmesh cert` prints.
    expect(/^ {2}pin {10}(\S+)$/m.exec(made.stdout)?.[1]).toBe(pin)
    trustB = { prefix: ['env', `NODE_EXTRA_CA_CERTS=${join(dirs['b'] as string, 'tls', 'ca.crt')}`] }
    b = await startNode(dirs['b'] as string, ['--name', 'b'])
  })
  afterAll(stopAll)

  const peerB = (suffix: string) => `${ids['b']}=wss://localhost:${b.port}${suffix}`

  it('a WAN peer with the right pin connects over TLS, even under --wan-policy require-tls', async () => {
    const node = await startNode(
      dirs['pinned'] as string,
      ['--name', 'pinned', '--wan-policy', 'require-tls', '--peer', peerB(`|${pin}|wan`)],
      trustB,
    )
    const status = await waitFor('the pinned node to connect to b', async () => {
      const current = await statusOf(node)
      return connectedNodes(current).includes(ids['b'] as string) ? current : undefined
    })
    expect(status.connections.find((connection) => connection.deviceId === ids['b'])?.transport).toBe('wss')
    expect(status.staticPeers).toEqual([
      expect.objectContaining({ deviceId: ids['b'], label: 'wan', tls: 'tls-pinned', state: 'connected' }),
    ])
    expect(status.health.counters['connections.refused.tls-pin'] ?? 0).toBe(0)
  })

  it('a wrong pin is refused before dialling: logged with expected and got, counted, no connection', async () => {
    const wrongPin = `sha256:${pin.slice('sha256:'.length).split('').reverse().join('')}`
    const node = await startNode(
      dirs['wrong'] as string,
      ['--name', 'wrong', '--peer', peerB(`|${wrongPin}|wan`)],
      trustB,
    )
    const refusal = `static peer ${ids['b']} at wss://localhost:${b.port} refused: TLS pin mismatch: expected ${shortPin(wrongPin)}, got ${shortPin(pin)}`
    await waitFor('the pin mismatch to be logged', () => (node.output().includes(refusal) ? true : undefined))
    const status = await waitFor('the refusal to be counted', async () => {
      const current = await statusOf(node)
      return (current.health.counters['connections.refused.tls-pin'] ?? 0) > 0 ? current : undefined
    })
    expect(connectedNodes(status)).toEqual([])
    expect(status.health.status).toBe('degraded')
    expect(status.health.reasons.join(' ')).toMatch(/refused/)
    expect(status.staticPeers).toEqual([
      expect.objectContaining({
        deviceId: ids['b'],
        tls: 'tls-pinned',
        lastError: expect.stringContaining('TLS pin mismatch'),
      }),
    ])
    expect(status.staticPeers[0]?.state).not.toBe('connected')
    const statusB = await statusOf(b)
    expect(statusB.connections.map((connection) => connection.deviceId)).not.toContain(ids['wrong'])
    // The dialer keeps checking on every retry; each check is refused and counted again.
    await waitFor('a retry to be refused as well', async () =>
      ((await statusOf(node)).health.counters['connections.refused.tls-pin'] ?? 0) > 1 ? true : undefined,
    )
    expect(connectedNodes(await statusOf(node))).toEqual([])
  })

  it('an unpinned WAN peer is reported under the default policy and shown as tls-unpinned', async () => {
    const node = await startNode(
      dirs['unpinned'] as string,
      ['--name', 'unpinned', '--peer', peerB('|wan')],
      trustB,
    )
    expect(node.output()).toContain(
      `static peer ${ids['b']} (wan) uses wss:// without a certificate pin (wss://localhost:${b.port})`,
    )
    const status = await waitFor('the unpinned node to connect to b', async () => {
      const current = await statusOf(node)
      return connectedNodes(current).includes(ids['b'] as string) ? current : undefined
    })
    expect(status.staticPeers).toEqual([
      expect.objectContaining({ deviceId: ids['b'], label: 'wan', tls: 'tls-unpinned' }),
    ])
  })

  it('an unpinned WAN peer is refused under --wan-policy require-tls, saying how to pin it', async () => {
    const node = await startNode(
      dirs['strict'] as string,
      ['--name', 'strict', '--wan-policy', 'require-tls', '--peer', peerB('|wan')],
      trustB,
    )
    expect(node.output()).toContain(
      `static peer ${ids['b']} (wan) uses wss:// without a certificate pin (wss://localhost:${b.port}): refused by --wan-policy require-tls`,
    )
    const status = await statusOf(node)
    expect(status.staticPeers).toEqual([])
    expect(connectedNodes(status)).toEqual([])
  })
})
