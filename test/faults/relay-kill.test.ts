/**
 * The relay killed mid-session (kill -9) and restarted 5 s later on the same address, with a real
 * `clawmesh-relay` process and three in-process nodes that have no direct address of their own
 * (only `/p2p-circuit` through the relay and `/webrtc`), as nodes behind NAT on different sites:
 *
 * - A and B met through the relay and upgraded to a direct WebRTC link: that link survives the
 *   outage and gossip keeps crossing it (A publishes every PUBLISH_EVERY_MS; the messages B receives
 *   while the relay is down are counted; all must arrive). Guard: WebRTC links do not depend on the
 *   relay once set up.
 * - C is reachable only through the relay: after the restart it must be reachable again (a fresh
 *   dial from A through the relay succeeds) within REACHABLE_AGAIN_WITHIN_MS; the time is reported.
 *   Guard: node/libp2p/relay-keeper.ts, which reserves the relay again once the reservation is lost
 *   (libp2p reserves a configured relay only once, at start: without the keeper C stays
 *   unreachable until it restarts).
 */
import { generateKeyPair } from '@libp2p/crypto/keys'
import type { PrivateKey } from '@libp2p/interface'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { multiaddr } from '@multiformats/multiaddr'
import { afterAll, describe, expect, it } from 'vitest'
import { createNodeLibp2p, type NodeLibp2p } from '../../node/libp2p/create-node-libp2p.ts'
import { RELAY_RESERVATION_CHECK_MS, RelayKeeper } from '../../node/libp2p/relay-keeper.ts'
import {
  contextTopic,
  DEFAULT_MESH_NAME,
  type MeshIdentity,
  PROTOCOL_GENERATION,
} from '../../protocol/mesh.ts'
import { Counters } from '../../runtime/counters.ts'
import { installNativeCrypto } from '../../runtime/libp2p/native-crypto.ts'
import { createTrustGater } from '../../runtime/trust/trust-gater.ts'
import { makeStateDir, waitFor } from '../helpers/processes.ts'
import { type RelayProcess, runRelayCli, startRelayProcess } from '../helpers/relay-process.ts'

installNativeCrypto()

const mesh: MeshIdentity = { meshName: DEFAULT_MESH_NAME, generation: PROTOCOL_GENERATION }
const OUTAGE_MS = 5_000
const PUBLISH_EVERY_MS = 100
/** The keeper's check interval, the relay's reservation round trip and a dial, with room for a
 * loaded 2-core machine: "a few seconds". */
const REACHABLE_AGAIN_WITHIN_MS = RELAY_RESERVATION_CHECK_MS + 8_000
/** node-datachannel's stop() can hang (DESIGN "Known traps"): never wait on it forever. */
const STOP_TIMEOUT_MS = 5_000

const nodes: NodeLibp2p[] = []
const relays: RelayProcess[] = []
const keepers: RelayKeeper[] = []

afterAll(async () => {
  for (const keeper of keepers) keeper.stop()
  await Promise.all(
    nodes.map(async (node) => {
      await Promise.all(node.getConnections().map((connection) => connection.abort(new Error('test over'))))
      await Promise.race([
        node.stop(),
        new Promise((resolveLater) => setTimeout(resolveLater, STOP_TIMEOUT_MS)),
      ])
    }),
  )
  await Promise.all(relays.map((relay) => relay.stop()))
})

const keyWithId = async () => {
  const privateKey = await generateKeyPair('Ed25519')
  return { privateKey, deviceId: peerIdFromPrivateKey(privateKey).toString() }
}

async function startNattedNode(relay: RelayProcess, privateKey: PrivateKey, trusted: readonly string[]) {
  const node = await createNodeLibp2p({
    privateKey,
    mesh,
    listen: [`${relay.address}/p2p-circuit`, '/webrtc'],
    discovery: false,
    gater: createTrustGater({
      isAllowed: (deviceId) => deviceId === relay.deviceId || trusted.includes(deviceId),
      onRefused: () => {},
    }),
  })
  nodes.push(node)
  return node
}

const portOf = (address: string) => Number(/\/tcp\/(\d+)\//.exec(address)?.[1])

describe('relay killed mid-session', () => {
  // WebRTC setup through node-datachannel occasionally stalls on a loaded 2-core machine (as in
  // test/relay-webrtc.test.ts); the relay-kill part itself is not retried into passing: a stall
  // fails before the kill.
  it('the direct WebRTC link keeps carrying gossip through a 5 s relay outage, and a node reachable only through the relay is reachable again soon after the restart (guard: relay keeper)', async () => {
    const [a, b, c] = await Promise.all([keyWithId(), keyWithId(), keyWithId()])
    const relayDir = await makeStateDir('relay')
    for (const member of [a, b, c]) await runRelayCli(relayDir, ['trust', 'add', member.deviceId])
    const relay = await startRelayProcess(relayDir)
    relays.push(relay)
    const everyone = [a.deviceId, b.deviceId, c.deviceId]
    const nodeA = await startNattedNode(relay, a.privateKey, everyone)
    const nodeB = await startNattedNode(relay, b.privateKey, everyone)
    const nodeC = await startNattedNode(relay, c.privateKey, everyone)
    const counters = new Counters()
    const log: string[] = []
    const keeper = new RelayKeeper({
      libp2p: nodeC,
      relays: [relay.address],
      counters,
      log: (line) => log.push(line),
    })
    keepers.push(keeper)
    keeper.start()

    // A and B: direct WebRTC.
    const addressOfA = await waitFor('A to announce a WebRTC address', () =>
      nodeA.getMultiaddrs().find((address) => address.toString().includes('/p2p-circuit/webrtc/')),
    )
    const direct = await nodeB.dial(addressOfA, { signal: AbortSignal.timeout(20_000) })
    expect(direct.remoteAddr.toString()).toContain('/webrtc')
    expect(direct.limits).toBeUndefined()

    const topic = contextTopic(mesh)
    const receivedAt = new Map<number, number>()
    nodeB.services.pubsub.addEventListener('message', (event) => {
      if (event.detail.topic !== topic) return
      receivedAt.set(Number(new TextDecoder().decode(event.detail.data)), Date.now())
    })
    nodeA.services.pubsub.subscribe(topic)
    nodeB.services.pubsub.subscribe(topic)
    await waitFor('A and B to see each other on the context topic', () =>
      nodeA.services.pubsub.getSubscribers(topic).some((peer) => peer.toString() === b.deviceId)
        ? true
        : undefined,
    )
    const publishedAt = new Map<number, number>()
    let sequence = 0
    const publisher = setInterval(() => {
      const seq = sequence++
      publishedAt.set(seq, Date.now())
      void nodeA.services.pubsub.publish(topic, new TextEncoder().encode(String(seq))).catch(() => undefined)
    }, PUBLISH_EVERY_MS)

    // C is reachable through the relay before the kill.
    const circuitToC = multiaddr(`${relay.address}/p2p-circuit/p2p/${c.deviceId}`)
    await waitFor('C to hold its reservation', () =>
      nodeC.getMultiaddrs().some((address) => address.toString().includes('/p2p-circuit')) ? true : undefined,
    )
    const reachC = async () => {
      await nodeA.hangUp(peerIdFromPrivateKey(c.privateKey)).catch(() => undefined)
      const connection = await nodeA.dial(circuitToC, { signal: AbortSignal.timeout(3_000) })
      return connection.remotePeer.toString() === c.deviceId
    }
    expect(await reachC()).toBe(true)

    const killedAt = Date.now()
    relay.child.kill('SIGKILL')
    await new Promise((resolveExit) => relay.child.once('exit', resolveExit))
    await new Promise((resolveLater) => setTimeout(resolveLater, OUTAGE_MS))
    const restarted = await startRelayProcess(relayDir, [], portOf(relay.address))
    relays.push(restarted)
    const restartedAt = Date.now()
    expect(restarted.address).toBe(relay.address)

    let attempts = 0
    await waitFor(
      'C to be reachable through the restarted relay',
      async () => {
        attempts++
        return (await reachC().catch(() => false)) || undefined
      },
      REACHABLE_AGAIN_WITHIN_MS + 10_000,
    )
    const reachableAfterMs = Date.now() - restartedAt
    clearInterval(publisher)

    // Every message A published while the relay was down reached B over the direct link.
    await new Promise((resolveLater) => setTimeout(resolveLater, 1_000))
    const duringOutage = [...publishedAt]
      .filter(([, at]) => at >= killedAt && at < restartedAt)
      .map(([seq]) => seq)
    const delivered = duringOutage.filter((seq) => receivedAt.has(seq))
    expect(duringOutage.length).toBeGreaterThan(0)
    expect(delivered).toEqual(duringOutage)
    // Still the same WebRTC connection: nothing was re-dialled behind the test's back.
    expect(direct.status).toBe('open')

    expect(counters.get('relay.reservation.lost')).toBeGreaterThanOrEqual(1)
    expect(counters.get('relay.reservation.renewed')).toBeGreaterThanOrEqual(1)
    console.log(
      `[relay-kill] outage ${restartedAt - killedAt} ms: ${delivered.length}/${duringOutage.length} gossip messages crossed A→B over WebRTC; C reachable ${reachableAfterMs} ms after the relay restarted (${attempts} dial rounds; reservation failed ${counters.get('relay.reservation.failed')}×, renewed ${counters.get('relay.reservation.renewed')}×)`,
    )
    expect(reachableAfterMs).toBeLessThanOrEqual(REACHABLE_AGAIN_WITHIN_MS)
  }, 120_000)
})
