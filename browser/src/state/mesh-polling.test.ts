import { createRoot } from 'solid-js'
import { createStore, type SetStoreFunction } from 'solid-js/store'
import { describe, expect, it } from 'vitest'
import { ClawMeshError } from '../../../protocol/errors.ts'
import type { MeshEvent, ProposalRecordWire } from '../../../protocol/rpc/methods.ts'
import type { CommandCenterRpc } from '../mesh/command-center-rpc.ts'
import { createRefusal } from './command-center-refusal.ts'
import {
  appendEvents,
  BACKFILL_WINDOW_MS,
  backfillSince,
  createMeshPolling,
  eventsQuery,
  FIRST_EVENTS_LIMIT,
  ProposalEdits,
  plannerUnavailable,
  refreshProposals,
} from './mesh-polling.ts'
import { emptyMeshState, MAX_EVENTS, type MeshState, type ObservationPoint } from './mesh-state.ts'

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

describe('a poll whose proposal list was asked for before this console changed a proposal', () => {
  const record = (state: string) => ({ hash: 'h1', state }) as unknown as ProposalRecordWire

  it('leaves the changed proposal as it is, and the next poll applies its list', async () => {
    const held: ((value: { proposals: ProposalRecordWire[] }) => void)[] = []
    const answers: Record<string, unknown> = {
      'mesh.status': { deviceId: 'cc' },
      'mesh.peers': { peers: [] },
      'mesh.events': { events: [], lastSeq: 0 },
      'mesh.health': {},
      'mesh.world.query': { frames: [] },
      'console.iceServers': { iceServers: [] },
    }
    const rpc = {
      call: (method: string) =>
        method === 'proposal.list'
          ? new Promise((resolve) => held.push(resolve))
          : Promise.resolve(answers[method]),
      plannerStatus: () => Promise.resolve({ model: 'offline' }),
    } as unknown as CommandCenterRpc
    const edits = new ProposalEdits()
    const [state, setState] = createStore<MeshState>(emptyMeshState())
    setState('proposals', [record('awaiting_approval')])
    const polling = createRoot((dispose) => {
      const made = createMeshPolling({
        rpc,
        state,
        setState,
        proposalEdits: edits,
        bindings: new Map(),
        refusal: createRefusal(),
        isConnected: () => true,
        stillPaired: () => true,
        acceptIceServers: async () => {},
        saveSnapshot: async () => {},
      })
      return { ...made, dispose }
    })

    const first = polling.pollNow()
    expect(held).toHaveLength(1)
    // The reject's answer is applied while the poll's list (read before the reject) is on its way.
    edits.mark()
    setState('proposals', [record('rejected')])
    held[0]?.({ proposals: [record('awaiting_approval')] })
    await first
    expect(state.freshAt).toBeGreaterThan(0) // the rest of the poll was applied
    expect(state.proposals.map((entry) => (entry as unknown as { state: string }).state)).toEqual([
      'rejected',
    ])

    const second = polling.pollNow()
    held[1]?.({ proposals: [record('completed')] })
    await second
    expect(state.proposals.map((entry) => (entry as unknown as { state: string }).state)).toEqual([
      'completed',
    ])
    polling.dispose()
  })
})
