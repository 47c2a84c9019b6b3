/**
 * What a node asks a peer for when it catches up (context-service.ts `syncFrom`), and what it
 * answers when asked.
 *
 * Two steps: list the IDs of the frames the peer holds in the window, newest first, a page at a time
 * (`context.sync.ids`); then fetch only the ones this node lacks (`context.sync.frames`), in as many
 * calls as the answers' byte budget needs. One `context.sync` call, as before, answers the newest
 * frames that fit one answer (RPC_ANSWER_FRAMES_MAX_BYTES: 50–300 frames, depending on their batch
 * proofs): a node heard again after a silence got back mostly frames it already held, and the older
 * part of the gap it had missed was cut. A peer that does not know the two methods (an older node)
 * is asked with `context.sync` as before (counted as `context.catchup.fallback`).
 *
 * What a peer lists is only a hint of what to ask for: every frame it then sends is re-verified by
 * the caller (context-service.ts), a frame that was not asked for is refused and counted, and every
 * loop here is bounded by named limits whatever the peer answers.
 */
import type { Frame } from '../../protocol/context/frame.ts'
import {
  CONTEXT_SYNC_FETCH_IDS_MAX,
  CONTEXT_SYNC_ID_PAGES,
  CONTEXT_SYNC_IDS_PER_PAGE,
  CONTEXT_SYNC_MAX_FRAMES,
  RPC_ANSWER_FRAMES_MAX_BYTES,
} from '../../protocol/limits.ts'
import type { ContextSyncIdsResult } from '../../protocol/rpc/methods.ts'
import type { Unverified } from '../../protocol/rpc/signed.ts'
import type { WorldModel } from '../world/world-model.ts'

/** The two calls, to one peer. */
export interface CatchUpCalls {
  ids(params: { since?: number; until?: number }): Promise<ContextSyncIdsResult>
  frames(frameIds: string[]): Promise<{ frames: Unverified<Frame>[]; through: number }>
}

export interface MissingFrames {
  /** IDs this node lacks, newest first, at most CONTEXT_SYNC_MAX_FRAMES. */
  readonly missing: string[]
  /** IDs the peer listed (each once). */
  readonly listed: number
  /** The peer had more in the window than CONTEXT_SYNC_ID_PAGES pages list, or this node lacks more
   * than CONTEXT_SYNC_MAX_FRAMES of them: the oldest part of the window was not asked for. */
  readonly cut: boolean
}

/** Lists what the peer holds since `since` (newest first) and keeps the IDs this node lacks. */
export async function listMissing(
  calls: Pick<CatchUpCalls, 'ids'>,
  since: number | undefined,
  holds: (frameId: string) => boolean,
): Promise<MissingFrames> {
  const listed = new Set<string>()
  const missing: string[] = []
  let until: number | undefined
  let cut = false
  for (let page = 0; page < CONTEXT_SYNC_ID_PAGES; page++) {
    const answer = await calls.ids({
      ...(since === undefined ? {} : { since }),
      ...(until === undefined ? {} : { until }),
    })
    for (const frameId of answer.frameIds) {
      if (listed.has(frameId)) continue
      listed.add(frameId)
      if (!holds(frameId)) missing.push(frameId)
    }
    if (missing.length >= CONTEXT_SYNC_MAX_FRAMES) {
      return { missing: missing.slice(0, CONTEXT_SYNC_MAX_FRAMES), listed: listed.size, cut: true }
    }
    if (!answer.more || answer.oldest === undefined) return { missing, listed: listed.size, cut }
    // The next page starts at the oldest timestamp listed (its frames may come again). A full page
    // of one millisecond would be asked forever: then the page after it, and what that millisecond
    // held beyond the page is not asked for.
    const stuck = until !== undefined && answer.oldest >= until
    if (stuck) cut = true
    const next = stuck ? (until as number) - 1 : answer.oldest
    if (next < 0 || (since !== undefined && next < since)) return { missing, listed: listed.size, cut }
    until = next
  }
  return { missing, listed: listed.size, cut: true }
}

/**
 * Fetches `missing` from the peer and hands each frame it sends to `take` (which verifies and
 * ingests it). An ID is asked for only if `wanted` says so when its turn comes: a catch-up from
 * another peer running at the same time (a node that joins hears all its peers at once) may have
 * fetched or claimed it meanwhile. Asks for CONTEXT_SYNC_FETCH_IDS_MAX IDs at a time and again for
 * what an answer did not cover; stops when an answer covers nothing (the peer no longer holds them,
 * or misbehaves).
 */
export async function fetchMissing(
  calls: Pick<CatchUpCalls, 'frames'>,
  missing: readonly string[],
  take: (candidate: Unverified<Frame>, asked: ReadonlySet<string>) => Promise<void>,
  wanted: (frameId: string) => boolean = () => true,
): Promise<{ received: number; calls: number }> {
  let received = 0
  let callsMade = 0
  let cursor = 0
  /** Wanted and not yet covered by an answer. */
  let ask: string[] = []
  // Each call covers at least one asked ID or ends the loop, so this bounds the calls too.
  for (;;) {
    while (ask.length < CONTEXT_SYNC_FETCH_IDS_MAX && cursor < missing.length) {
      const frameId = missing[cursor++] as string
      if (wanted(frameId)) ask.push(frameId)
    }
    if (ask.length === 0) break
    const answer = await calls.frames(ask)
    callsMade++
    const asked = new Set(ask)
    for (const candidate of answer.frames) await take(candidate, asked)
    received += answer.frames.length
    const through = Math.min(answer.through, ask.length)
    if (through <= 0) break
    ask = ask.slice(through)
  }
  return { received, calls: callsMade }
}

/** The answer to `context.sync.ids`: IDs of held frames in [since, until], newest first. */
export function listHeldIds(
  world: Pick<WorldModel, 'query'>,
  window: { since: number; until?: number | undefined },
): ContextSyncIdsResult {
  const frames = world.query({
    since: window.since,
    ...(window.until === undefined ? {} : { until: window.until }),
    limit: CONTEXT_SYNC_IDS_PER_PAGE,
  })
  const oldest = frames.at(-1)?.timestamp
  return {
    frameIds: frames.map((frame) => frame.frameId),
    ...(oldest === undefined ? {} : { oldest }),
    more: frames.length >= CONTEXT_SYNC_IDS_PER_PAGE,
  }
}

const encoder = new TextEncoder()

/** The answer to `context.sync.frames`: the asked frames held and not older than `floor`, in the
 * asked order, while they fit `maxBytes`; `through` says how many asked IDs that covers. */
export function heldFramesById(
  world: Pick<WorldModel, 'get'>,
  frameIds: readonly string[],
  floor: number,
  maxBytes: number = RPC_ANSWER_FRAMES_MAX_BYTES,
): { frames: Frame[]; through: number } {
  const frames: Frame[] = []
  let used = 0
  for (const [index, frameId] of frameIds.entries()) {
    const frame = world.get(frameId)
    if (frame === undefined || frame.timestamp < floor) continue
    // +1 for the comma between array members.
    used += encoder.encode(JSON.stringify(frame)).length + 1
    if (used > maxBytes) return { frames, through: index }
    frames.push(frame)
  }
  return { frames, through: frameIds.length }
}
