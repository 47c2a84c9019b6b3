/**
 * The TLS pin gate with real libp2p nodes on loopback: B serves WSS with a local-CA certificate, A's
 * dialer holds a wrong pin for it. The dialer's real TLS handshake finds the mismatch and does not
 * dial; and once it has, no other path dials B either: a dial by key, over the plain ws:// address
 * identify would have stored, is refused by A's connection gater and counted.
 */
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { multiaddr } from '@multiformats/multiaddr'
import { afterEach, describe, expect, it } from 'vitest'
import { PROTOCOL_GENERATION } from '../../protocol/mesh.ts'
import { parseStaticPeer } from '../../protocol/static-peer.ts'
import { shortPin } from '../../protocol/tls-pin.ts'
import { Counters } from '../../runtime/counters.ts'
import { createTrustGater } from '../../runtime/trust/trust-gater.ts'
import { waitFor } from '../../test/helpers/processes.ts'
import { createNodeLibp2p } from '../libp2p/create-node-libp2p.ts'
import { ensureLocalTls, loadServerTls } from '../tls/tls-material.ts'
import { StaticPeerDialer, TLS_PIN_REFUSED_COUNTER } from './static-peer-dialer.ts'

const MESH = { meshName: 'pin-test', generation: PROTOCOL_GENERATION }
const cleanups: Array<() => Promise<void>> = []
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup()
})

describe('static peer dialer TLS pins', () => {
  it('a wrong pin stops the dialer and every other dial to that key', { timeout: 30_000 }, async () => {
    const stateDir = await mkdtemp(join(tmpdir(), 'clawmesh-pin-'))
    cleanups.push(() => rm(stateDir, { recursive: true, force: true }))
    await ensureLocalTls(stateDir, { reissue: 'when-needed' })
    const tls = await loadServerTls(stateDir)
    const b = await createNodeLibp2p({
      privateKey: await generateKeyPair('Ed25519'),
      mesh: MESH,
      listen: ['/ip4/127.0.0.1/tcp/0/ws'],
      gater: { denyDialMultiaddr: () => false },
      wssCertificate: { cert: tls.certPem, key: tls.keyPem },
    })
    cleanups.push(async () => {
      await b.stop()
    })
    const port = Number(/\/tcp\/(\d+)\//.exec(b.getMultiaddrs()[0]?.toString() ?? '')?.[1])
    const counters = new Counters()
    const gate = { refusesDialTo: (_deviceId: string) => false }
    const a = await createNodeLibp2p({
      privateKey: await generateKeyPair('Ed25519'),
      mesh: MESH,
      listen: [],
      gater: createTrustGater({
        isAllowed: () => true,
        onRefused: () => {},
        refusesDialTo: (deviceId) => gate.refusesDialTo(deviceId),
      }),
    })
    cleanups.push(async () => {
      await a.stop()
    })
    const wrongPin = `sha256:${'00'.repeat(32)}`
    const peer = parseStaticPeer(`${b.peerId}=wss://localhost:${port}|${wrongPin}|wan`)
    const lines: string[] = []
    const dialer = new StaticPeerDialer(a, [peer], (line) => lines.push(line), { counters })
    gate.refusesDialTo = (deviceId) => dialer.refusesDialTo(deviceId)
    cleanups.push(async () => dialer.stop())
    dialer.start()

    const actual = `sha256:${tls.status.server.fingerprint256.replaceAll(':', '').toLowerCase()}`
    await waitFor('the mismatch to be logged', () =>
      lines.some((line) =>
        line.includes(`refused: TLS pin mismatch: expected ${shortPin(wrongPin)}, got ${shortPin(actual)}`),
      )
        ? true
        : undefined,
    )
    expect(counters.get(TLS_PIN_REFUSED_COUNTER)).toBe(1)
    expect(a.getConnections(b.peerId)).toEqual([])
    expect(dialer.states()[0]).toMatchObject({
      tls: 'tls-pinned',
      lastError: expect.stringContaining('mismatch'),
    })

    // No retry from here on, so the counter counts the gate alone. B is reachable over plain ws on
    // the same port: only the gate stops a dial by key.
    dialer.stop()
    await a.peerStore.merge(b.peerId, { multiaddrs: [multiaddr(`/ip4/127.0.0.1/tcp/${port}/ws`)] })
    await expect(a.dial(b.peerId, { signal: AbortSignal.timeout(10_000) })).rejects.toThrow()
    expect(a.getConnections(b.peerId)).toEqual([])
    expect(counters.get(TLS_PIN_REFUSED_COUNTER)).toBe(2)
  })
})
