/**
 * Floods (issue #20): a trusted peer, in its own process, publishes signed context batches as fast
 * as it can and keeps 32 `mesh.status` calls in flight against a real node, while a well-behaved
 * peer calls `mesh.status` and publishes frames that a listener receives through the same node.
 *
 * Guards pinned here:
 * - the per-origin gossip throttle and flood penalty (node/context/origin-throttle.ts): without it
 *   the flooder is never scored down, and far more of its frames are verified and ingested than
 *   GOSSIP_ORIGIN_FRAMES_* allow;
 * - the per-peer RPC rate limit (runtime/rpc/peer-limiter.ts via rpc-server.ts): without it the
 *   flooder's calls are all answered;
 * - the RATE_LIMITED answer delay (RPC_RATE_LIMITED_ANSWER_DELAY_MS): without it the flooder gets
 *   refusals as fast as it asks, far above 32 callers / 250 ms;
 * - the read pause on a penalised flooder's gossip streams (node/context/gossip-read-pause.ts):
 *   without it the flooder's streams are read (and decoded, only to be dropped) throughout;
 * - "nothing else": the well-behaved peer is not in the throttled table, every one of its calls is
 *   answered and every one of its frames reaches the listener and the node's world model.
 */
import { join } from 'node:path'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { peerIdFromString } from '@libp2p/peer-id'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { callRpc } from '../node/rpc/rpc-client.ts'
import {
  GOSSIP_ORIGIN_FRAMES_BURST,
  GOSSIP_ORIGIN_FRAMES_PER_SECOND,
  RPC_RATE_BURST,
  RPC_RATE_LIMITED_ANSWER_DELAY_MS,
  RPC_RATE_PER_SECOND,
} from '../protocol/limits.ts'
import { rpcProtocolId } from '../protocol/mesh.ts'
import type { MeshHealth } from '../protocol/rpc/methods.ts'
import { loadOrCreateIdentity } from '../runtime/identity/device-identity.ts'
import { statePaths } from '../runtime/state/state-dir.ts'
import { TrustStore } from '../runtime/trust/trust-store.ts'
import {
  FLOOD_MESH,
  type FloodPeerProcess,
  floodPeerId,
  spawnFloodPeer,
  type WellBehavedPeers,
  wellBehavedPeers,
} from './helpers/flood-peer.ts'
import { cliJson, makeStateDir, type NodeProcess, runCli, startNode, stopAll } from './helpers/processes.ts'

/** How long the flood runs while the well-behaved peer keeps working. */
const FLOOD_MS = 10_000
/** Gap between the well-behaved peer's status calls and frames. */
const GOOD_INTERVAL_MS = 200
/** The flooder's `mesh.status` callers (helpers/flood-peer.ts RPC_FLOOD_CALLERS). */
const FLOOD_CALLERS = 32

let target: NodeProcess
let flooder: FloodPeerProcess | undefined
let peers: WellBehavedPeers
let flooderId: string
let goodId: string
let listenerId: string

beforeAll(async () => {
  const dir = await makeStateDir('flood-target')
  const keyFile = join(await makeStateDir('flooder'), 'flooder.key')
  flooderId = (await loadOrCreateIdentity(keyFile)).deviceId
  const goodKey = await generateKeyPair('Ed25519')
  const listenerKey = await generateKeyPair('Ed25519')
  goodId = floodPeerId(goodKey)
  listenerId = floodPeerId(listenerKey)
  const trust = await TrustStore.open(statePaths(dir).trustedPeers)
  await trust.add(flooderId, 'flooder')
  await trust.add(goodId, 'good')
  await trust.add(listenerId, 'listener')
  target = await startNode(dir, ['--name', 'hub', '--mesh-name', FLOOD_MESH.meshName])
  peers = await wellBehavedPeers({ good: goodKey, listener: listenerKey }, 'good', target)
  // Warm: the first call and frame open streams and settle the gossip mesh.
  await peers.statusCall()
  await peers.frameLatency()
  flooder = await spawnFloodPeer({
    keyFile,
    name: 'flooder',
    targetPort: target.port,
    targetDeviceId: target.deviceId,
    gossip: true,
    rpc: true,
  })
}, 90_000)

afterAll(async () => {
  await flooder?.stop()
  await peers?.stop()
  await stopAll()
})

describe('a trusted peer flooding gossip and RPC', () => {
  it('is throttled and scored down, and nothing of the well-behaved peer is refused', {
    timeout: 90_000,
  }, async () => {
    const floodStartedAt = Date.now()
    const statusMs: number[] = []
    const frameMs: number[] = []
    while (Date.now() - floodStartedAt < FLOOD_MS) {
      // Each throws (failing the test) if refused or not answered in time.
      statusMs.push(await peers.statusCall())
      frameMs.push(await peers.frameLatency())
      await new Promise((resolve) => setTimeout(resolve, GOOD_INTERVAL_MS))
    }
    const floodSeconds = (Date.now() - floodStartedAt) / 1000
    const tally = (flooder as FloodPeerProcess).tally()
    console.log(
      `flood ${floodSeconds.toFixed(1)} s: ${JSON.stringify(tally)}; good status p50 ${median(statusMs).toFixed(1)} ms, frame p50 ${median(frameMs).toFixed(1)} ms`,
    )

    const { health } = await cliJson<{ health: MeshHealth }>(['status', '--url', target.url], target.stateDir)
    const counters = health.counters
    const throttledIds = (health.throttledPeers ?? []).map((peer) => peer.deviceId)
    const flood = health.throttledPeers?.find((peer) => peer.deviceId === flooderId)

    // The flooder really flooded both ways.
    expect(tally.gossipBatches).toBeGreaterThan(1_000)
    expect(tally.rpcRefused).toBeGreaterThan(0)
    // Gossip: ignored over the limits, then scored down below gossipsub's graylist threshold (-80).
    expect(flood?.gossipMessages).toBeGreaterThan(0)
    expect(flood?.scoredDown).toBe(true)
    expect(flood?.gossipScore).toBeLessThan(-80)
    // ... and its gossip streams left unread while the penalty lasts: the flood waits in its own stack.
    expect(flood?.gossipReadsPaused).toBe(true)
    expect(counters['gossip.reads-paused.flood']).toBeGreaterThanOrEqual(1)
    // At most the frame budget of the flood's duration was verified and ingested (the good peer's
    // frames are the rest of frames.received).
    const flooderFramesIngested = (counters['frames.received'] ?? 0) - frameMs.length - 1
    expect(flooderFramesIngested).toBeLessThanOrEqual(
      GOSSIP_ORIGIN_FRAMES_BURST + GOSSIP_ORIGIN_FRAMES_PER_SECOND * (floodSeconds + 5),
    )
    // RPC: answered only within the rate limit, refused answers held back.
    expect(flood?.rpcRequests).toBeGreaterThan(0)
    expect(tally.rpcAnswered).toBeLessThanOrEqual(RPC_RATE_BURST + RPC_RATE_PER_SECOND * (floodSeconds + 5))
    const refusalsPerSecondCap = FLOOD_CALLERS / (RPC_RATE_LIMITED_ANSWER_DELAY_MS / 1000)
    expect(tally.rpcRefused / floodSeconds).toBeLessThanOrEqual(refusalsPerSecondCap * 1.2)

    // Nothing else: the well-behaved peers were never throttled, no other refusal or rejection.
    expect(throttledIds).toEqual([flooderId])
    for (const name of Object.keys(counters)) {
      if (name.startsWith('rpc.refused.')) expect(name).toBe('rpc.refused.RATE_LIMITED')
      expect(name.startsWith('frames.rejected.')).toBe(false)
    }
    const goodFrames = await callRpc(
      peers.good,
      peerIdFromString(target.deviceId),
      rpcProtocolId(FLOOD_MESH.generation),
      'mesh.world.query',
      { origin: goodId, limit: 1_000 },
    )
    expect(goodFrames.frames.length).toBe(frameMs.length + 1)

    const text = await runCli(['status', '--url', target.url], target.stateDir)
    expect(text.stdout).toContain('THROTTLED PEERS')
    expect(text.stdout).toMatch(new RegExp(`${flooderId}.*\\(scored down\\)`))
  })
})

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b)
  return sorted[Math.floor(sorted.length / 2)] ?? Number.NaN
}
