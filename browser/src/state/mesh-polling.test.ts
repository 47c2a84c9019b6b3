import { describe, expect, it } from 'vitest'
import { ClawMeshError } from '../../../protocol/errors.ts'
import type { MeshEvent } from '../../../protocol/rpc/methods.ts'
import {
  appendEvents,
  BACKFILL_WINDOW_MS,
  backfillSince,
  eventsQuery,
  FIRST_EVENTS_LIMIT,
  plannerUnavailable,
} from './mesh-polling.ts'
import { MAX_EVENTS, type ObservationPoint } from './mesh-state.ts'

const event = (seq: number): MeshEvent => ({ seq, at: seq, level: 'info', type: 't', message: 'm' })

describe('what the polls ask for', () => {
  it('the first events poll asks for the latest; later ones for everything after the last seen', () => {
    expect(eventsQuery(undefined)).toEqual({ limit: FIRST_EVENTS_LIMIT })
    expect(eventsQuery(0)).toEqual({ afterSeq: 0 })
    expect(eventsQuery(41)).toEqual({ afterSeq: 41 })
  })

  it('the backfill continues after the newest observation, or covers the charts’ window', () => {
    const now = 50 * 60_000
    expect(backfillSince([], now)).toBe(now - BACKFILL_WINDOW_MS)
    expect(backfillSince([{ at: 7 }, { at: 9 }] as ObservationPoint[], now)).toBe(9)
  })
})

describe('what the polls keep', () => {
  it('events are appended in order and bounded to the newest MAX_EVENTS', () => {
    const current = Array.from({ length: MAX_EVENTS }, (_, index) => event(index))
    const kept = appendEvents(current, [event(MAX_EVENTS), event(MAX_EVENTS + 1)])
    expect(kept).toHaveLength(MAX_EVENTS)
    expect(kept[0]?.seq).toBe(2)
    expect(kept.at(-1)?.seq).toBe(MAX_EVENTS + 1)
  })

  it('a command center without a planner says so; other failures keep their message', () => {
    expect(plannerUnavailable(new ClawMeshError('UNKNOWN_METHOD', 'planner.status'))).toBe(
      'planner not available on this command center',
    )
    expect(plannerUnavailable(new Error('timed out'))).toBe('planner status unavailable: timed out')
  })
})
