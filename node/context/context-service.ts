/**
 * Context frames on the mesh: publishing (frames a node publishes within a few milliseconds are
 * coalesced into one gossip message with one batch signature), validation of every gossip message
 * before it is accepted or forwarded, ingestion into the world model, and catch-up via
 * `context.sync` when a member (re)joins or is heard again after a silence (peer-contact.ts).
 *
 * Gossipsub verdicts: `Reject` (the forwarder misbehaves: malformed, forged, wrong mesh, oversized,
 * future-dated) lowers the forwarder's score; `Ignore` (stale, duplicate, untrusted origin, over the
 * per-peer or per-origin rate) drops the message without that penalty — a peer that keeps overrunning
 * the rates is scored down by the origin throttle instead (origin-throttle.ts). Every rejection is
 * counted per reason and per forwarding peer.
 */

import { TopicValidatorResult } from '@libp2p/gossipsub'
import type { PeerId } from '@libp2p/interface'
import { peerIdFromString } from '@libp2p/peer-id'
import type { FrameAuthorityVerdict } from '../../protocol/context/frame-authority.ts'
import {
  BATCH_MAX_FRAMES,
  type Frame,
  type FrameFields,
  readBatchEnvelope,
  sealBatch,
  verifyBatchEnvelope,
  verifyFrame,
} from '../../protocol/context/index.ts'
import { ClawMeshError } from '../../protocol/errors.ts'
import { contextTopic, type MeshIdentity, rpcProtocolId } from '../../protocol/mesh.ts'
import { fitFramesToAnswer } from '../../protocol/rpc/answer-budget.ts'
import type { Signer } from '../../protocol/signing.ts'
import type { Counters } from '../../runtime/counters.ts'
import { PeerLimiter } from '../../runtime/rpc/peer-limiter.ts'
import { ThrottledPeers } from '../health/throttled-peers.ts'
import type { NodeLibp2p } from '../libp2p/create-node-libp2p.ts'
import type { EventRing } from '../mesh/event-ring.ts'
import { callRpc } from '../rpc/rpc-client.ts'
import type { WorldModel } from '../world/world-model.ts'
import { fetchMissing, heldFramesById, listHeldIds, listMissing } from './catch-up.ts'
import {
  CONTEXT_SYNC_MAX_AGE_MS,
  CONTEXT_SYNC_MAX_FRAMES,
  GOSSIP_MESSAGES_PER_PEER_BURST,
  GOSSIP_MESSAGES_PER_PEER_PER_SECOND,
} from './constants.ts'
import { CpuPressure } from './cpu-pressure.ts'
import { OriginThrottle } from './origin-throttle.ts'
import { PeerContact } from './peer-contact.ts'
import { type EarlyBatchCounts, PublishCoalescer, pressureWindowMs } from './publish-coalescer.ts'

/** Clocks of field nodes drift; asking for a little more than strictly needed costs only duplicates. */
const SYNC_CLOCK_SKEW_MS = 5_000

export interface PublishOptions {
  readonly urgent?: boolean
  /** Called with the signed frame as soon as its batch is sealed, before the batch is sent: a
   * caller that logs the frame's ID (the actuator's evidence entry) need not wait for the send. */
  readonly onSealed?: ((frame: Frame) => void) | undefined
}

export type FrameListener = (frame: Frame) => void

export interface CatchUpResult {
  readonly received: number
  readonly ingested: number
  readonly rejected: number
  /** A catch-up from this peer was already running; this call asked nothing. */
  readonly running: boolean
}

interface PendingFrame {
  readonly fields: FrameFields
  readonly onSealed?: ((frame: Frame) => void) | undefined
  resolve(frame: Frame): void
  reject(error: unknown): void
}

export interface ContextServiceInit {
  libp2p: NodeLibp2p
  mesh: MeshIdentity
  signer: Signer
  displayName: string
  world: WorldModel
  counters: Counters
  events: EventRing
  isTrustedOrigin(deviceId: string): boolean
  /** When each peer was last heard (tests inject one with their own clock). */
  peerContact?: PeerContact
  /** What a received frame's origin may speak for, from this node's records (its name, the sensors
   * and actuators the site binds to it). Absent: every signed frame of a trusted origin is kept. */
  authority?(frame: Frame): FrameAuthorityVerdict
  log: (line: string) => void
  /** The machine's CPU pressure, which sets the coalescing window (tests inject one). */
  cpuPressure?: CpuPressure
  /** The per-origin gossip throttle (the node's, which also scores flooders down); a private one
   * with the default limits when absent. */
  throttle?: OriginThrottle
}

export class ContextService {
  readonly #init: ContextServiceInit
  readonly #topic: string
  readonly #listeners = new Set<FrameListener>()
  readonly #limiter = new PeerLimiter({
    ratePerSecond: GOSSIP_MESSAGES_PER_PEER_PER_SECOND,
    burst: GOSSIP_MESSAGES_PER_PEER_BURST,
    maxConcurrent: Number.MAX_SAFE_INTEGER,
  })
  readonly #throttle: OriginThrottle
  readonly #pressure: CpuPressure
  readonly #coalescer: PublishCoalescer<PendingFrame>
  /** When each peer was last heard: a catch-up from it asks for frames since then (a peer heard
   * again after a silence, or reconnecting). */
  readonly #contact: PeerContact
  /** Peers a catch-up is running from: a reconnect and the first gossip after it both ask for the
   * same gap, once is enough. */
  readonly #catchingUp = new Set<string>()
  /** Frame IDs a running catch-up has asked a peer for (catch-up.ts `fetchMissing`). */
  readonly #fetching = new Set<string>()
  #startupNewest: number | undefined
  /** Whether the last batch this node published reached no peer. */
  #unheard = false

  constructor(init: ContextServiceInit) {
    this.#init = init
    this.#topic = contextTopic(init.mesh)
    this.#pressure = init.cpuPressure ?? new CpuPressure()
    this.#contact = init.peerContact ?? new PeerContact()
    this.#throttle = init.throttle ?? new OriginThrottle({ throttled: new ThrottledPeers() })
    // The window grows while the machine is short of CPU and this node publishes many frames a
    // second (node/context/publish-coalescer.ts).
    this.#coalescer = new PublishCoalescer<PendingFrame>({
      send: (items) => void this.#publishBatch(items),
      windowMs: (framesPerSecond) => pressureWindowMs(this.#pressure.share(), framesPerSecond),
      maxItems: BATCH_MAX_FRAMES,
    })
  }

  /** The coalescing window the last published frame was held to, and the CPU pressure behind it
   * (undefined where the kernel does not report it). */
  get publishing(): {
    windowMs: number
    cpuPressure: number | undefined
    earlyBatches: EarlyBatchCounts
  } {
    return {
      windowMs: this.#coalescer.windowMs,
      cpuPressure: this.#pressure.share(),
      earlyBatches: this.#coalescer.earlyBatches,
    }
  }

  get topic(): string {
    return this.#topic
  }

  start(): void {
    const pubsub = this.#init.libp2p.services.pubsub
    pubsub.topicValidators.set(this.#topic, (peer, message) => this.#validate(peer, message.data))
    pubsub.subscribe(this.#topic)
    this.#startupNewest = this.#init.world.query({ limit: 1 })[0]?.timestamp
  }

  stop(): void {
    // Frames still waiting for their window go out now rather than being dropped.
    const queued = this.#coalescer.stop()
    if (queued.length > 0) void this.#publishBatch(queued)
    this.#init.libp2p.services.pubsub.topicValidators.delete(this.#topic)
  }

  onFrame(listener: FrameListener): () => void {
    this.#listeners.add(listener)
    return () => this.#listeners.delete(listener)
  }

  /** Publishes a frame from this node. Resolves with the signed frame once its batch is sent. */
  publish(fields: FrameFields, options: PublishOptions = {}): Promise<Frame> {
    // Frames go out at once when the node has been quiet for a coalescing window, else with the
    // next batch (node/context/publish-coalescer.ts). Urgent frames (an execution result someone is
    // waiting for) never wait for the window.
    return new Promise((resolve, reject) =>
      this.#coalescer.push({ fields, onSealed: options.onSealed, resolve, reject }, options.urgent === true),
    )
  }

  /** Frames to hand a reconnecting peer: bounded by count and age. */
  framesForSync(since: number | undefined, limit: number | undefined, now = Date.now()): Frame[] {
    const floor = Math.max(since ?? 0, now - CONTEXT_SYNC_MAX_AGE_MS)
    // Newest first while fitting the answer's byte budget, then oldest first on the wire.
    const newestFirst = this.#init.world.query({
      since: floor,
      limit: Math.min(limit ?? CONTEXT_SYNC_MAX_FRAMES, CONTEXT_SYNC_MAX_FRAMES),
    })
    return fitFramesToAnswer(newestFirst).frames.reverse()
  }

  /**
   * Catches up from a peer: asks it for the frames since `since` (by default since it was last
   * heard, or since the newest frame this node held at start) and re-verifies every frame
   * (signature, mesh, trust) before ingestion. Counted under `context.catchup.*` in `mesh.health`.
   * A catch-up already running from the peer answers `running` instead of asking twice.
   */
  async syncFrom(deviceId: string, since?: number): Promise<CatchUpResult> {
    if (this.#catchingUp.has(deviceId)) return { received: 0, ingested: 0, rejected: 0, running: true }
    this.#catchingUp.add(deviceId)
    this.#init.counters.increment('context.catchup.runs')
    try {
      const result = await this.#sync(
        deviceId,
        since ?? this.#contact.lastHeard(deviceId) ?? this.#startupNewest,
      )
      this.#init.counters.increment('context.catchup.frames', result.ingested)
      return result
    } catch (error) {
      this.#init.counters.increment('context.catchup.failed')
      throw error
    } finally {
      this.#catchingUp.delete(deviceId)
    }
  }

  async #sync(deviceId: string, since: number | undefined): Promise<CatchUpResult> {
    const newest = since === undefined ? undefined : Math.max(0, since - SYNC_CLOCK_SKEW_MS)
    const peer = peerIdFromString(deviceId)
    const protocol = rpcProtocolId(this.#init.mesh.generation)
    const counts = { received: 0, ingested: 0, rejected: 0 }
    const now = Date.now()
    const take = async (candidate: unknown, asked?: ReadonlySet<string>) => {
      counts.received++
      const verdict = await verifyFrame(candidate, {
        ...this.#init.mesh,
        now,
        maxPastMs: CONTEXT_SYNC_MAX_AGE_MS,
        isTrustedOrigin: this.#init.isTrustedOrigin,
        isDuplicate: (frameId) => this.#init.world.has(frameId),
      })
      if (verdict.verdict === 'accept') {
        if (asked !== undefined && !asked.has(verdict.frame.frameId)) {
          counts.rejected++
          this.#init.counters.increment('context.sync.rejected.unasked')
          return
        }
        if (!this.#authorised(verdict.frame, deviceId)) {
          counts.rejected++
          return
        }
        if (this.#ingest(verdict.frame)) counts.ingested++
      } else if (verdict.verdict === 'reject') {
        counts.rejected++
        this.#init.counters.increment(`context.sync.rejected.${verdict.reason}`)
      }
    }

    let listing: Awaited<ReturnType<typeof listMissing>>
    try {
      listing = await listMissing(
        { ids: (params) => callRpc(this.#init.libp2p, peer, protocol, 'context.sync.ids', params) },
        newest,
        (frameId) => this.#init.world.has(frameId),
      )
    } catch (error) {
      if (!(error instanceof ClawMeshError && error.code === 'UNKNOWN_METHOD')) throw error
      // An older peer: one `context.sync`, the newest frames that fit its answer.
      this.#init.counters.increment('context.catchup.fallback')
      const result = await callRpc(
        this.#init.libp2p,
        peer,
        protocol,
        'context.sync',
        newest === undefined
          ? { limit: CONTEXT_SYNC_MAX_FRAMES }
          : { since: newest, limit: CONTEXT_SYNC_MAX_FRAMES },
      )
      for (const candidate of result.frames) await take(candidate)
      return { ...counts, running: false }
    }
    this.#init.counters.increment('context.catchup.listed', listing.listed)
    this.#init.counters.increment('context.catchup.held', listing.listed - listing.missing.length)
    if (listing.cut) this.#init.counters.increment('context.catchup.cut')
    // IDs this catch-up asks for are claimed, so a catch-up from another peer at the same time (a
    // node joining hears all its peers at once) does not fetch them too.
    const claimed: string[] = []
    try {
      await fetchMissing(
        {
          frames: (frameIds) =>
            callRpc(this.#init.libp2p, peer, protocol, 'context.sync.frames', { frameIds }),
        },
        listing.missing,
        take,
        (frameId) => {
          if (this.#init.world.has(frameId) || this.#fetching.has(frameId)) return false
          this.#fetching.add(frameId)
          claimed.push(frameId)
          return true
        },
      )
    } finally {
      for (const frameId of claimed) this.#fetching.delete(frameId)
    }
    return { ...counts, running: false }
  }

  /** Answers `context.sync.ids`: a page of the IDs of held frames in the window (catch-up.ts). */
  heldFrameIds(since: number | undefined, until: number | undefined, now = Date.now()) {
    return listHeldIds(this.#init.world, {
      since: Math.max(since ?? 0, now - CONTEXT_SYNC_MAX_AGE_MS),
      until,
    })
  }

  /** Answers `context.sync.frames`: the asked frames held, within the catch-up's age (catch-up.ts). */
  heldFramesById(frameIds: readonly string[], now = Date.now()) {
    return heldFramesById(this.#init.world, frameIds, now - CONTEXT_SYNC_MAX_AGE_MS)
  }

  /** A gossip message from `forwarder` arrived: if it had been silent long enough to have been cut
   * off, what it published meanwhile is asked for (peer-contact.ts). */
  #heard(forwarder: string): void {
    const contact = this.#contact.heard(forwarder)
    if (!contact.gap) return
    this.#init.counters.increment('context.catchup.after-silence')
    this.syncFrom(forwarder, contact.since)
      .then((sync) => {
        if (sync.ingested > 0) {
          this.#init.log(`caught up ${sync.ingested} frames from ${forwarder} after a silence`)
        }
      })
      .catch((error: Error) =>
        this.#init.log(`context.sync from ${forwarder} after a silence failed: ${error.message}`),
      )
  }

  async #publishBatch(pending: PendingFrame[]): Promise<void> {
    try {
      const { bytes, frames } = await sealBatch(
        this.#init.signer,
        pending.map((item) => item.fields),
      )
      for (const frame of frames) this.#ingest(frame)
      for (const [index, item] of pending.entries()) item.onSealed?.(frames[index] as Frame)
      const { recipients } = await this.#init.libp2p.services.pubsub.publish(this.#topic, bytes)
      this.#init.counters.increment('frames.published', frames.length)
      this.#init.counters.increment('frames.published.batches')
      this.#noteAudience(recipients.length, frames.length)
      for (const [index, item] of pending.entries()) item.resolve(frames[index] as Frame)
    } catch (error) {
      this.#init.counters.increment('frames.publish.failed', pending.length)
      for (const item of pending) item.reject(error)
    }
  }

  /** gossipsub accepts a publish with no one to send it to (a lone node still records its own
   * frames), so a node that lost every gossip link would go on publishing into nothing unnoticed.
   * Frames sent to no peer are counted, and the change from heard to unheard (and back) is an
   * event. */
  #noteAudience(recipients: number, frames: number): void {
    const unheard = recipients === 0
    if (unheard) this.#init.counters.increment('frames.published.unheard', frames)
    if (unheard === this.#unheard) return
    this.#unheard = unheard
    this.#init.events.push(
      unheard
        ? {
            level: 'warn',
            type: 'frames.unheard',
            message: 'published frames reached no peer: this node has no gossip link for its context topic',
          }
        : { level: 'info', type: 'frames.heard', message: 'published frames reach peers again' },
    )
  }

  /** A signed frame whose origin speaks beyond what this node's records allow it is refused:
   * counted, reported, never ingested. The gossip message is then ignored rather than rejected
   * (no score penalty): an honest forwarder with other records may have passed it on. */
  #authorised(frame: Frame, forwarder: string): boolean {
    const verdict = this.#init.authority?.(frame)
    if (verdict === undefined || verdict.verdict === 'accept') return true
    this.#init.counters.increment(`frames.rejected.${verdict.reason}`)
    this.#init.counters.increment(`frames.rejected.from.${frame.origin}`)
    this.#init.events.push({
      level: 'warn',
      type: `frames.rejected.${verdict.reason}`,
      message: `refused a ${frame.kind} frame of ${frame.origin} (via ${forwarder}): ${verdict.detail}`,
      peer: frame.origin,
    })
    return false
  }

  #ingest(frame: Frame): boolean {
    if (!this.#init.world.ingest(frame)) return false
    for (const listener of this.#listeners) listener(frame)
    return true
  }

  async #validate(peer: PeerId, data: Uint8Array): Promise<TopicValidatorResult> {
    const forwarder = peer.toString()
    this.#heard(forwarder)
    const admission = this.#limiter.admit(forwarder)
    if (!admission.admitted) {
      this.#init.counters.increment('frames.ignored.rate-limited')
      this.#throttle.forwarderOverrun(forwarder)
      return TopicValidatorResult.Ignore
    }
    admission.release()
    const read = readBatchEnvelope(data)
    // The origin throttle runs on the envelope alone: no frame or signature of an ignored batch is
    // checked.
    const throttled =
      read.verdict === 'read'
        ? this.#throttle.admit(read.envelope.origin, read.envelope.frames.length, forwarder)
        : undefined
    if (throttled?.verdict === 'ignore') {
      this.#init.counters.increment(`frames.ignored.origin-throttled.${throttled.reason}`)
      return TopicValidatorResult.Ignore
    }
    const decoded =
      read.verdict === 'read'
        ? await verifyBatchEnvelope(read.envelope, {
            ...this.#init.mesh,
            now: Date.now(),
            isTrustedOrigin: this.#init.isTrustedOrigin,
            isDuplicate: (frameId) => this.#init.world.has(frameId),
          })
        : ({ verdict: 'reject', reason: read.reason, frames: [] } as const)
    if (decoded.verdict === 'reject') {
      const reason =
        decoded.reason ?? decoded.frames.find((frame) => frame.verdict === 'reject')?.reason ?? 'malformed'
      this.#init.counters.increment(`frames.rejected.${reason}`)
      // Per forwarder too, so an operator sees in mesh.health which peer sends junk.
      this.#init.counters.increment(`frames.rejected.from.${forwarder}`)
      this.#init.events.push({
        level: 'warn',
        type: `frames.rejected.${reason}`,
        message: `rejected a gossip message relayed by ${forwarder}: ${reason}`,
        peer: forwarder,
      })
      return TopicValidatorResult.Reject
    }
    let accepted = 0
    for (const verdict of decoded.frames) {
      if (verdict.verdict === 'accept') {
        if (this.#authorised(verdict.frame, forwarder) && this.#ingest(verdict.frame)) accepted++
      } else {
        this.#init.counters.increment(
          `frames.${verdict.verdict === 'reject' ? 'rejected' : 'ignored'}.${verdict.reason}`,
        )
      }
    }
    this.#init.counters.increment('frames.received', accepted)
    return accepted > 0 ? TopicValidatorResult.Accept : TopicValidatorResult.Ignore
  }
}
