/**
 * The live half of the console's data: a gossipsub subscription to the context topic. Every batch is
 * verified in the browser (`decodeBatch`: origin signatures, mesh, generation) and its frames kept
 * only from origins the command center trusts. Counts accepted frames by the peer that handed them
 * over (gossip names it), which is how the WAN path shows its worth. Unsubscribes on cleanup.
 */
import { TopicValidatorResult } from '@libp2p/gossipsub'
import { type Accessor, createSignal, onCleanup } from 'solid-js'
import type { ConsoleConfig } from '../../../protocol/console-config.ts'
import { decodeBatch } from '../../../protocol/context/batch.ts'
import type { Frame } from '../../../protocol/context/frame.ts'
import { contextTopic } from '../../../protocol/mesh.ts'
import type { PeerEntry } from '../../../protocol/rpc/methods.ts'
import type { ConsoleNode } from '../mesh/browser-node.ts'
import { FRAME_RATE_WINDOW_MS } from './mesh-state.ts'

export interface LiveFrames {
  /** Accepted frames by the peer that forwarded them (command center, field node). */
  readonly framesFrom: Accessor<Readonly<Record<string, number>>>
}

export function createLiveFrames(
  node: ConsoleNode,
  config: ConsoleConfig,
  init: { isTrustedOrigin(origin: string): boolean; onFrames(frames: readonly Frame[]): void },
): LiveFrames {
  const [framesFrom, setFramesFrom] = createSignal<Readonly<Record<string, number>>>({})
  const topic = contextTopic(config)
  const pubsub = node.services.pubsub
  pubsub.topicValidators.set(topic, async (forwarder, message) => {
    const decoded = await decodeBatch(message.data, {
      meshName: config.meshName,
      generation: config.generation,
      now: Date.now(),
      isTrustedOrigin: init.isTrustedOrigin,
    })
    if (decoded.verdict === 'reject') return TopicValidatorResult.Reject
    const frames = decoded.frames.flatMap((verdict) => (verdict.verdict === 'accept' ? [verdict.frame] : []))
    if (frames.length === 0) return TopicValidatorResult.Ignore
    const from = forwarder.toString()
    setFramesFrom((current) => ({ ...current, [from]: (current[from] ?? 0) + frames.length }))
    init.onFrames(frames)
    return TopicValidatorResult.Accept
  })
  pubsub.subscribe(topic)
  onCleanup(() => {
    pubsub.unsubscribe(topic)
    pubsub.topicValidators.delete(topic)
  })
  return { framesFrom }
}

/** The console accepts frames whose origin its command center trusts (and the command center's). */
export function isTrustedOrigin(
  origin: string,
  commandCenterId: string,
  peers: readonly PeerEntry[],
): boolean {
  return origin === commandCenterId || peers.some((peer) => peer.deviceId === origin && peer.trusted)
}

/** Arrival times for the rate figures: the window's older arrivals dropped, these frames added. */
export function withArrivals(
  current: readonly { at: number; kind: string }[],
  frames: readonly Pick<Frame, 'kind'>[],
  now: number,
): { at: number; kind: string }[] {
  return [
    ...current.filter((arrival) => arrival.at >= now - FRAME_RATE_WINDOW_MS),
    ...frames.map((frame) => ({ at: now, kind: frame.kind })),
  ]
}

/** A proposal, approval or execution frame means the proposal list changed: re-read it at once. */
export function changesProposals(frames: readonly Pick<Frame, 'kind'>[]): boolean {
  return frames.some(
    (frame) => frame.kind === 'proposal' || frame.kind === 'approval' || frame.kind === 'execution',
  )
}
