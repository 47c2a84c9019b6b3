/** The mesh's own methods: status, health, peers, inspect, events, world queries, frame catch-up and
 * capability calls. */

import { fitFramesToAnswer } from '../../../protocol/rpc/answer-budget.ts'
import type { MeshStatus } from '../../../protocol/rpc/methods.ts'
import type { RpcHandlers } from '../../../runtime/rpc/rpc-server.ts'
import type { NodeComponents } from '../../components.ts'
import { assessHealth } from '../../health/health.ts'
import { gossipScore } from '../../libp2p/create-node-libp2p.ts'
import { inspect } from '../../mesh/inspect.ts'

export type MeshHandlers = Pick<
  RpcHandlers,
  | 'mesh.status'
  | 'mesh.health'
  | 'mesh.peers'
  | 'mesh.inspect'
  | 'mesh.events'
  | 'mesh.world.query'
  | 'context.sync'
  | 'context.sync.ids'
  | 'context.sync.frames'
  | 'capability.invoke'
>

export function createMeshHandlers(
  components: Pick<
    NodeComponents,
    | 'context'
    | 'lag'
    | 'counters'
    | 'refusals'
    | 'throttled'
    | 'gossipReadPause'
    | 'peers'
    | 'libp2p'
    | 'world'
    | 'router'
    | 'events'
  >,
  status: () => MeshStatus,
): MeshHandlers {
  const { context, counters, world, events } = components
  return {
    'mesh.status': () => status(),
    'mesh.health': () => {
      const memory = process.memoryUsage()
      const { windowMs, cpuPressure } = context.publishing
      const throttledPeers = components.throttled.list().map((peer) => {
        const score = gossipScore(components.libp2p, peer.deviceId)
        const gossipReadsPaused = components.gossipReadPause.isPaused(peer.deviceId)
        return { ...peer, ...(score === undefined ? {} : { gossipScore: score }), gossipReadsPaused }
      })
      const health = assessHealth({
        eventLoopLagMs: components.lag.sampleP99Ms(),
        rssBytes: memory.rss,
        heapUsedBytes: memory.heapUsed,
        counters: counters.snapshot(),
        recentRefusals: components.refusals.recent(),
        publishing: { windowMs, cpuPressure: cpuPressure ?? null },
      })
      return throttledPeers.length === 0 ? health : { ...health, throttledPeers }
    },
    'mesh.peers': () => ({ peers: components.peers() }),
    'mesh.inspect': () => inspect(components.libp2p),
    'mesh.world.query': (params) => {
      const { summary, ...query } = params ?? {}
      const { frames, truncated } = fitFramesToAnswer(world.query(query))
      return {
        frames,
        ...(truncated ? { truncated } : {}),
        ...(summary === true ? { summary: world.summary({ now: Date.now() }) } : {}),
      }
    },
    'context.sync': (params) => ({ frames: context.framesForSync(params?.since, params?.limit) }),
    'context.sync.ids': (params) => context.heldFrameIds(params.since, params.until),
    'context.sync.frames': (params) => context.heldFramesById(params.frameIds),
    'capability.invoke': (params) => components.router.invoke(params),
    'mesh.events': (params) => ({
      events: events.list(params?.afterSeq, params?.limit),
      lastSeq: events.lastSeq,
    }),
  }
}
