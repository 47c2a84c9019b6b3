/**
 * The catch-up over the wire, in this process: two real libp2p nodes on loopback WebSockets, the
 * answering node's RPC server with the context service's own handlers, and `syncFrom` on the asking
 * node, which re-verifies every signed frame it is sent. A node that lacks part of what its peer
 * published gets exactly that part, however many answers it takes; a frame it did not ask for is
 * refused and counted; an older peer without the listing methods is asked with `context.sync`.
 */
import { afterAll, describe, expect, it } from 'vitest'
import type { Frame, FrameFields } from '../../protocol/context/index.ts'
import { PROTOCOL_GENERATION, rpcProtocolId } from '../../protocol/mesh.ts'
import { Counters } from '../../runtime/counters.ts'
import { type RpcHandlers, startRpcServer } from '../../runtime/rpc/rpc-server.ts'
import {
  CONTEXT_TEST_MESH,
  type ContextNode,
  startContextNode,
  stopContextNodes,
} from '../../test/helpers/context-node.ts'

const mesh = CONTEXT_TEST_MESH
const startNode = (name: string) => startContextNode(name)
type Node = ContextNode

/** The node's RPC server with the catch-up handlers the node serves (node/rpc/handlers/mesh.ts), or
 * the ones given. */
async function serveCatchUp(node: Node, handlers?: Partial<RpcHandlers>) {
  const answered = { frameCalls: 0, frames: 0 }
  await startRpcServer({
    libp2p: node.libp2p,
    protocol: rpcProtocolId(PROTOCOL_GENERATION),
    counters: new Counters(),
    authorize: async () => 'peer',
    handlers: handlers ?? {
      'context.sync': (params) => ({ frames: node.service.framesForSync(params?.since, params?.limit) }),
      'context.sync.ids': (params) => node.service.heldFrameIds(params.since, params.until),
      'context.sync.frames': (params) => {
        answered.frameCalls++
        const answer = node.service.heldFramesById(params.frameIds)
        answered.frames += answer.frames.length
        return answer
      },
    },
  })
  return answered
}

function reading(value: number): FrameFields {
  return {
    ...mesh,
    kind: 'observation',
    originName: 'field',
    data: { zone: `zone-${value % 8}`, metric: 'soil-moisture', value, unit: '%' },
    trust: { tier: 'T1', sources: [`sensor:soil-moisture:zone-${value % 8}`] },
  }
}

/** Publishes `count` frames on a node no one hears yet: they are in its world model only. */
async function publishAlone(node: Node, count: number): Promise<Frame[]> {
  return Promise.all(Array.from({ length: count }, (_, index) => node.service.publish(reading(index))))
}

afterAll(stopContextNodes)

describe('catching up from a peer over the wire', () => {
  it('fetches the frames it lacks, in several answers, and not the ones it holds', async () => {
    const peer = await startNode('peer')
    const answered = await serveCatchUp(peer)
    const frames = await publishAlone(peer, 600)
    const asker = await startNode('asker')
    // The asker heard the first and last 100 before and after its silence.
    for (const frame of [...frames.slice(0, 100), ...frames.slice(500)]) asker.world.ingest(frame)
    await asker.libp2p.dial(peer.libp2p.getMultiaddrs())

    const result = await asker.service.syncFrom(peer.deviceId, Date.now() - 60_000)
    expect(result).toMatchObject({ received: 400, ingested: 400, rejected: 0 })
    expect(frames.every((frame) => asker.world.has(frame.frameId))).toBe(true)
    expect(asker.counters.get('context.catchup.listed')).toBe(600)
    expect(asker.counters.get('context.catchup.held')).toBe(200)
    expect(asker.counters.get('context.catchup.fallback')).toBe(0)
    // Each frame carries its batch's proof (up to 64 frame IDs): 400 of them fill several answers.
    expect(answered.frameCalls).toBeGreaterThan(1)
  })

  it('catching up from two peers at once, fetches each frame it lacks once', async () => {
    const first = await startNode('first-peer')
    const second = await startNode('second-peer')
    const answeredFirst = await serveCatchUp(first)
    const answeredSecond = await serveCatchUp(second)
    const frames = await publishAlone(first, 400)
    for (const frame of frames) second.world.ingest(frame)
    const asker = await startNode('joining')
    await asker.libp2p.dial(first.libp2p.getMultiaddrs())
    await asker.libp2p.dial(second.libp2p.getMultiaddrs())

    const results = await Promise.all([
      asker.service.syncFrom(first.deviceId),
      asker.service.syncFrom(second.deviceId),
    ])
    expect(frames.every((frame) => asker.world.has(frame.frameId))).toBe(true)
    expect(answeredFirst.frames + answeredSecond.frames).toBe(400)
    expect(results[0].ingested + results[1].ingested).toBe(400)
  })

  it('refuses a frame it did not ask for, and counts it', async () => {
    const peer = await startNode('pushy-peer')
    const frames = await publishAlone(peer, 20)
    const [extra, ...asked] = frames as [Frame, ...Frame[]]
    await serveCatchUp(peer, {
      'context.sync.ids': () => ({ frameIds: asked.map((frame) => frame.frameId), more: false }),
      // A peer that sends a frame more than it was asked for: signed, valid, and not asked.
      'context.sync.frames': (params) => {
        const answer = peer.service.heldFramesById(params.frameIds)
        return { frames: [...answer.frames, extra], through: answer.through }
      },
    })
    const asker = await startNode('asker-2')
    await asker.libp2p.dial(peer.libp2p.getMultiaddrs())
    const result = await asker.service.syncFrom(peer.deviceId)
    expect(result).toMatchObject({ received: 20, ingested: 19, rejected: 1 })
    expect(asker.world.has(extra.frameId)).toBe(false)
    expect(asker.counters.get('context.sync.rejected.unasked')).toBe(1)
  })

  it('asks an older peer, which lists nothing, with context.sync', async () => {
    const peer = await startNode('older-peer')
    await serveCatchUp(peer, {
      'context.sync': (params) => ({ frames: peer.service.framesForSync(params?.since, params?.limit) }),
    })
    const frames = await publishAlone(peer, 30)
    const asker = await startNode('asker-3')
    await asker.libp2p.dial(peer.libp2p.getMultiaddrs())
    const result = await asker.service.syncFrom(peer.deviceId)
    expect(result).toMatchObject({ received: 30, ingested: 30 })
    expect(frames.every((frame) => asker.world.has(frame.frameId))).toBe(true)
    expect(asker.counters.get('context.catchup.fallback')).toBe(1)
  })
})
