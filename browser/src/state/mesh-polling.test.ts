import type { SetStoreFunction } from 'solid-js/store'
import { describe, expect, it } from 'vitest'
import { ClawMeshError } from '../../../protocol/errors.ts'
import type { MeshEvent } from '../../../protocol/rpc/methods.ts'
import type { CommandCenterRpc } from '../mesh/command-center-rpc.ts'
import {
  appendEvents,
  BACKFILL_WINDOW_MS,
  backfillSince,
  eventsQuery,
  FIRST_EVENTS_LIMIT,
  ProposalEdits,
  plannerUnavailable,
  refreshProposals,
} from './mesh-polling.ts'
import { MAX_EVENTS, type MeshState, type ObservationPoint } from './mesh-state.ts'

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

describe('a proposal list answered before this console changed a proposal', () => {
  it('is not applied over the change (regression: a rejected card showed its approve button again)', async () => {
    const edits = new ProposalEdits()
    let answer: (value: { proposals: [] }) => void = () => {}
    const rpc = {
      call: () =>
        new Promise((resolve) => {
          answer = resolve
        }),
    } as unknown as CommandCenterRpc
    const writes: unknown[] = []
    const setState = ((...args: unknown[]) => {
      writes.push(args)
    }) as unknown as SetStoreFunction<MeshState>

    const inFlight = refreshProposals(rpc, setState, edits)
    edits.mark() // the reject's answer is applied while the list is on its way
    answer({ proposals: [] })
    await inFlight
    expect(writes).toHaveLength(0)

    const next = refreshProposals(rpc, setState, edits)
    answer({ proposals: [] })
    await next
    expect(writes).toHaveLength(1)
  })
})
