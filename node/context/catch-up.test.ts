/**
 * The catch-up's two steps between two real world models: the asking side runs listMissing and
 * fetchMissing, the answering side answers with listHeldIds and heldFramesById, the functions the
 * node's `context.sync.ids` and `context.sync.frames` handlers call. Over the wire, with frames
 * re-verified: test/context-propagation.test.ts and test/faults/partition.test.ts.
 */
import { describe, expect, it } from 'vitest'
import type { Frame } from '../../protocol/context/frame.ts'
import {
  CONTEXT_SYNC_FETCH_IDS_MAX,
  CONTEXT_SYNC_ID_PAGES,
  CONTEXT_SYNC_IDS_PER_PAGE,
  CONTEXT_SYNC_MAX_FRAMES,
} from '../../protocol/limits.ts'
import { fitFramesToAnswer } from '../../protocol/rpc/answer-budget.ts'
import type { Unverified } from '../../protocol/rpc/signed.ts'
import { testObservation } from '../../test/helpers/frames.ts'
import { WorldModel } from '../world/world-model.ts'
import { type CatchUpCalls, fetchMissing, heldFramesById, listHeldIds, listMissing } from './catch-up.ts'

const T = 1_750_000_000_000
const STEP_MS = 10

/** `count` readings 10 ms apart, with a note that makes each ~600 bytes as a batch proof would. */
function readings(count: number): Frame[] {
  return Array.from({ length: count }, (_, index) =>
    testObservation(`zone-${index % 4}`, 'soil-moisture', index, T + index * STEP_MS, {
      note: 'x'.repeat(300),
    }),
  )
}

/** The answering side as its handlers answer, counting the calls and the frames it sends. */
function peerHolding(world: WorldModel) {
  const sent = { idCalls: 0, frameCalls: 0, frames: 0 }
  const calls: CatchUpCalls = {
    ids: async ({ since, until }) => {
      sent.idCalls++
      return listHeldIds(world, { since: since ?? 0, until })
    },
    frames: async (frameIds) => {
      sent.frameCalls++
      const answer = heldFramesById(world, frameIds, 0)
      sent.frames += answer.frames.length
      return answer as unknown as { frames: Unverified<Frame>[]; through: number }
    },
  }
  return { calls, sent }
}

async function catchUp(asker: WorldModel, calls: CatchUpCalls, since: number | undefined) {
  const listing = await listMissing(calls, since, (frameId) => asker.has(frameId))
  await fetchMissing(calls, listing.missing, async (candidate) => {
    asker.ingest(candidate as unknown as Frame)
  })
  return listing
}

describe('catching up a gap larger than one answer', () => {
  it('fetches every frame of the gap and none of the frames it held (regression: the newest that fit one answer, the gap cut)', async () => {
    const all = readings(3_000)
    const peer = new WorldModel()
    for (const frame of all) peer.ingest(frame)
    // The asker heard the peer until frame 600, then nothing for 15 s, then again from frame 2,100.
    const asker = new WorldModel()
    for (const frame of [...all.slice(0, 600), ...all.slice(2_100)]) asker.ingest(frame)
    const { calls, sent } = peerHolding(peer)

    // What one `context.sync` answer would have carried: the newest frames that fit, all held.
    const oneAnswer = fitFramesToAnswer(peer.query({ since: T + 100 * STEP_MS, limit: 1_000 }))
    expect(oneAnswer.truncated).toBe(true)
    expect(oneAnswer.frames.every((frame) => asker.has(frame.frameId))).toBe(true)

    // Since the last frame heard, less the clock-skew margin (5 s: 500 frames back).
    const listing = await catchUp(asker, calls, T + 100 * STEP_MS)
    expect(listing).toMatchObject({ listed: 2_900, cut: false })
    expect(listing.missing).toHaveLength(1_500)
    expect(all.every((frame) => asker.has(frame.frameId))).toBe(true)
    expect(sent.frames).toBe(1_500)
    expect(sent.idCalls).toBe(Math.ceil(2_900 / CONTEXT_SYNC_IDS_PER_PAGE))
    // 1,500 frames of ~600 bytes: more calls than the 500-ID requests alone, for the byte budget.
    expect(sent.frameCalls).toBeGreaterThanOrEqual(Math.ceil(1_500 / CONTEXT_SYNC_FETCH_IDS_MAX))
  })

  it('a node that holds everything is sent no frame', async () => {
    const all = readings(1_500)
    const peer = new WorldModel()
    const asker = new WorldModel()
    for (const frame of all) {
      peer.ingest(frame)
      asker.ingest(frame)
    }
    const { calls, sent } = peerHolding(peer)
    const listing = await catchUp(asker, calls, T)
    expect(listing).toMatchObject({ listed: 1_500, missing: [], cut: false })
    expect(sent).toMatchObject({ frameCalls: 0, frames: 0 })
  })

  it('a joining node with nothing asks for the newest CONTEXT_SYNC_MAX_FRAMES and says the rest was cut', async () => {
    const all = readings(2_500)
    const peer = new WorldModel()
    for (const frame of all) peer.ingest(frame)
    const asker = new WorldModel()
    const { calls } = peerHolding(peer)
    const listing = await catchUp(asker, calls, undefined)
    expect(listing.cut).toBe(true)
    expect(asker.historySize).toBe(CONTEXT_SYNC_MAX_FRAMES)
    expect(all.slice(-CONTEXT_SYNC_MAX_FRAMES).every((frame) => asker.has(frame.frameId))).toBe(true)
  })
})

describe('bounded whatever the peer answers', () => {
  it('a page of one millisecond is not asked for again and again', async () => {
    const peer = new WorldModel()
    for (let index = 0; index < CONTEXT_SYNC_IDS_PER_PAGE + 200; index++)
      peer.ingest(testObservation('zone-1', 'soil-moisture', index, T))
    const { calls, sent } = peerHolding(peer)
    const listing = await listMissing(calls, undefined, () => false)
    expect(sent.idCalls).toBe(3) // the page, the same page again, then before that millisecond
    expect(listing).toMatchObject({ listed: CONTEXT_SYNC_IDS_PER_PAGE, cut: true })
  })

  it('a peer that always says there is more is asked CONTEXT_SYNC_ID_PAGES times', async () => {
    let page = 0
    const listing = await listMissing(
      {
        ids: async () => {
          page++
          const frameId = page.toString(16).padStart(64, '0')
          return { frameIds: [frameId], oldest: T - page, more: true }
        },
      },
      undefined,
      () => true,
    )
    expect(page).toBe(CONTEXT_SYNC_ID_PAGES)
    expect(listing).toMatchObject({ listed: CONTEXT_SYNC_ID_PAGES, missing: [], cut: true })
  })

  it('an answer that covers none of the asked IDs ends the fetch; one that claims more is clamped', async () => {
    const missing = Array.from({ length: 1_200 }, (_, index) => index.toString(16).padStart(64, '0'))
    let asked = 0
    const nothing = await fetchMissing(
      {
        frames: async () => {
          asked++
          return { frames: [], through: 0 }
        },
      },
      missing,
      async () => {},
    )
    expect(nothing).toEqual({ received: 0, calls: 1 })
    const askedSizes: number[] = []
    const claimed = await fetchMissing(
      {
        frames: async (frameIds) => {
          askedSizes.push(frameIds.length)
          return { frames: [], through: 1_000_000 }
        },
      },
      missing,
      async () => {},
    )
    expect(claimed.calls).toBe(3)
    expect(askedSizes).toEqual([CONTEXT_SYNC_FETCH_IDS_MAX, CONTEXT_SYNC_FETCH_IDS_MAX, 200])
    expect(asked).toBe(1)
  })
})

describe('the answers', () => {
  it('frames by ID come in the asked order, within the byte budget, and `through` covers what was skipped', () => {
    const all = readings(10)
    const world = new WorldModel()
    for (const frame of all) world.ingest(frame)
    const unknown = 'f'.repeat(64)
    const ids = [all[3], all[1], undefined, all[7]].map((frame) => frame?.frameId ?? unknown)
    expect(heldFramesById(world, ids, 0)).toEqual({ frames: [all[3], all[1], all[7]], through: 4 })
    // Older than the floor: not sent, and covered.
    expect(heldFramesById(world, ids, T + 5 * STEP_MS)).toEqual({ frames: [all[7]], through: 4 })
    const oneFrameBytes = new TextEncoder().encode(JSON.stringify(all[3])).length + 1
    // Two frames fit: the ID not held after them is covered too, the third frame is left for the next call.
    expect(heldFramesById(world, ids, 0, oneFrameBytes * 2)).toEqual({
      frames: [all[3], all[1]],
      through: 3,
    })
  })

  it('IDs are listed newest first within the window, and a full page says there is more', () => {
    const all = readings(CONTEXT_SYNC_IDS_PER_PAGE + 5)
    const world = new WorldModel()
    for (const frame of all) world.ingest(frame)
    const page = listHeldIds(world, { since: T })
    expect(page.more).toBe(true)
    expect(page.frameIds[0]).toBe(all.at(-1)?.frameId)
    expect(page.oldest).toBe(T + 5 * STEP_MS)
    const rest = listHeldIds(world, { since: T, until: page.oldest })
    expect(rest).toEqual({
      frameIds: all
        .slice(0, 6)
        .reverse()
        .map((frame) => frame.frameId),
      oldest: T,
      more: false,
    })
    expect(listHeldIds(world, { since: T + 10_000_000 })).toEqual({ frameIds: [], more: false })
  })
})
