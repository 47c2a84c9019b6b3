import { describe, expect, it } from 'vitest'
import { ClawMeshError } from '../../protocol/errors.ts'
import type { MessageForwardParams } from '../../protocol/planner.ts'
import type { PlannerAnswer } from '../../protocol/rpc/methods.ts'
import { Counters } from '../../runtime/counters.ts'
import type { RpcCallContext } from '../../runtime/rpc/rpc-server.ts'
import { TEST_ORIGIN, TEST_ORIGIN_2 } from '../../test/helpers/frames.ts'
import { observedLeader, type PlannerCandidate } from '../../test/helpers/leader-view.ts'
import { EventRing } from '../mesh/event-ring.ts'
import { PlannerRuntime } from './planner-runtime.ts'

const OPERATOR = '12D3KooWHtYsZ7PqQGmRuUSoeyG8FYnTvUz3VnQ5fvfzsWCngvXU'
const call = { callerId: OPERATOR } as RpcCallContext

function fieldNode(candidates: PlannerCandidate[]) {
  const forwarded: Array<{ leader: string; params: MessageForwardParams }> = []
  const counters = new Counters()
  const runtime = new PlannerRuntime({
    deviceId: TEST_ORIGIN,
    role: 'field',
    leaderView: observedLeader(() => candidates),
    backend: () => {
      throw new Error('a field node builds no backend')
    },
    tools: () => {
      throw new Error('a field node builds no tools')
    },
    publish: async () => {
      throw new Error('nothing to publish')
    },
    forward: async (leader, params) => {
      forwarded.push({ leader, params })
      return {
        answer: 'from the leader',
        planner: 'rule-based',
        ruleBased: true,
        proposals: [],
        answeredBy: leader,
      } satisfies PlannerAnswer
    },
    nameOf: () => undefined,
    events: new EventRing(10),
    counters,
    log: () => {},
  })
  return { runtime, forwarded, counters, handlers: runtime.handlers() }
}

describe('planner forwarding', () => {
  it('a node without a planner forwards to the best live planner, one hop, naming the asker', async () => {
    const { handlers, forwarded, runtime } = fieldNode([
      { deviceId: TEST_ORIGIN_2, role: 'standby-planner', connected: true },
      { deviceId: OPERATOR, role: 'planner', connected: false },
      { deviceId: '12D3KooWQYhTNQdmr3ArTeUHRYzFg94BKyTkoWBDWez9kSCVe2Xo', role: 'planner', connected: true },
    ])
    const answer = await handlers['planner.ask']({ text: 'status' }, call)
    expect(answer.answer).toBe('from the leader')
    expect(forwarded).toEqual([
      {
        leader: '12D3KooWQYhTNQdmr3ArTeUHRYzFg94BKyTkoWBDWez9kSCVe2Xo',
        params: { text: 'status', from: OPERATOR, hops: 1 },
      },
    ])
    expect(runtime.status()).toMatchObject({ backend: 'none', isLeader: false, leader: { term: 0 } })
  })

  it('with no planner known the caller gets NO_PLANNER, counted', async () => {
    const { handlers, counters } = fieldNode([{ deviceId: TEST_ORIGIN_2, role: 'field', connected: true }])
    await expect(handlers['planner.ask']({ text: 'status' }, call)).rejects.toMatchObject({
      name: ClawMeshError.NAME,
      code: 'NO_PLANNER',
    })
    expect(counters.get('planner.refused.no-leader')).toBe(1)
  })

  it('forwarded input reaching a node that does not lead is refused, never forwarded again', async () => {
    const { handlers, forwarded } = fieldNode([{ deviceId: TEST_ORIGIN_2, role: 'planner', connected: true }])
    await expect(
      handlers['mesh.message.forward']({ text: 'status', from: OPERATOR, hops: 1 }, call),
    ).rejects.toMatchObject({ code: 'NO_PLANNER' })
    expect(forwarded).toEqual([])
  })
})
