import { describe, expect, it } from 'vitest'
import type { Frame, LocalFrameFields } from '../../protocol/context/index.ts'
import { ClawMeshError } from '../../protocol/errors.ts'
import type { ProposalRecordWire } from '../../protocol/rpc/methods.ts'
import { Counters } from '../../runtime/counters.ts'
import { TEST_ORIGIN, testObservation } from '../../test/helpers/frames.ts'
import { makeProposalRecord } from '../../test/helpers/safety-fixtures.ts'
import { EventRing } from '../mesh/event-ring.ts'
import type { PlannerBackend, PlannerReply, PlannerRequest, PlannerTools } from './backend.ts'
import type { LeaderView } from './leader-view.ts'
import { soleLeader } from './leader-view.ts'
import { type PlannerClock, PlannerSession, type PlannerSessionInit } from './planner-session.ts'

const SELF = TEST_ORIGIN

/** Timers fire only when the test advances time. */
class FakeClock implements PlannerClock {
  time = 1_750_000_000_000
  #timers: Array<{ at: number; every?: number; callback: () => void; id: number }> = []
  #nextId = 1
  now = () => this.time
  setTimeout = (callback: () => void, ms: number) => this.#add(callback, ms)
  setInterval = (callback: () => void, ms: number) => this.#add(callback, ms, ms)
  clearTimeout = (handle: unknown) => this.#remove(handle)
  clearInterval = (handle: unknown) => this.#remove(handle)
  advance(ms: number): void {
    const until = this.time + ms
    for (;;) {
      const due = this.#timers.filter((timer) => timer.at <= until).sort((a, b) => a.at - b.at)[0]
      if (due === undefined) break
      this.time = due.at
      if (due.every === undefined) this.#remove(due.id)
      else due.at += due.every
      due.callback()
    }
    this.time = until
  }
  #add(callback: () => void, ms: number, every?: number): number {
    const id = this.#nextId++
    this.#timers.push({ at: this.time + ms, callback, id, ...(every === undefined ? {} : { every }) })
    return id
  }
  #remove(handle: unknown): void {
    this.#timers = this.#timers.filter((timer) => timer.id !== handle)
  }
}

/** A backend the test drives: each request waits until the test settles it. */
class ScriptedBackend implements PlannerBackend {
  readonly label = 'scripted'
  readonly ruleBased = false
  readonly requests: Array<{
    request: PlannerRequest
    tools: PlannerTools
    settle(reply: PlannerReply | Error): void
  }> = []
  respond(request: PlannerRequest, tools: PlannerTools): Promise<PlannerReply> {
    return new Promise((resolve, reject) => {
      this.requests.push({
        request,
        tools,
        settle: (reply) => (reply instanceof Error ? reject(reply) : resolve(reply)),
      })
    })
  }
}

const proposalRecord = (id: string): ProposalRecordWire =>
  makeProposalRecord({ hash: `h-${id}`, proposal: { id, evidence: [] }, receivedAt: 0, updatedAt: 0 })

function setup(overrides: Partial<PlannerSessionInit> & { leader?: LeaderView } = {}) {
  const clock = new FakeClock()
  const backend = new ScriptedBackend()
  const events = new EventRing(500)
  const counters = new Counters()
  const published: LocalFrameFields[] = []
  const proposalsCreated: string[] = []
  let nextFrame = 0
  const tools: PlannerTools = {
    queryWorld: async () => ({ frames: [], summary: '' }),
    listCapabilities: async () => [],
    listPeers: async () => [],
    readSensor: async () => ({}),
    createProposal: async (draft) => {
      proposalsCreated.push(draft.capability)
      return proposalRecord(`p-${proposalsCreated.length}`)
    },
  }
  const session = new PlannerSession({
    deviceId: SELF,
    backend,
    tools,
    leaderView: overrides.leader ?? soleLeader(SELF),
    publish: async (fields) => {
      published.push(fields)
      return { ...fields, frameId: (++nextFrame).toString(16).padStart(64, '0') } as unknown as Frame
    },
    events,
    counters,
    clock,
    requestTimeoutMs: 1_000,
    proactiveIntervalMs: 0,
    queueLimit: 3,
    ...overrides,
  })
  session.start()
  return { session, backend, clock, events, counters, published, proposalsCreated }
}

const settle = () => new Promise((resolve) => setTimeout(resolve, 0))
const modes = (events: EventRing) =>
  events
    .list()
    .filter((event) => event.type === 'planner.mode')
    .map((event) => event.message.split(',')[0])

describe('planner session', () => {
  it('answers operator input before proactive triggers and walks idle → thinking → tool → idle', async () => {
    const { session, backend, events, published } = setup()
    const first = session.ask('first question')
    await settle()
    expect(session.status().mode).toBe('thinking')
    // While the first runs: a threshold alert, then more operator input.
    session.observe(
      testObservation('zone-2', 'soil-moisture', 20, 1_750_000_000_000, {
        data: { zone: 'zone-2', metric: 'soil-moisture', value: 20, unit: '%', threshold: { low: 28 } },
      } as never),
    )
    const second = session.ask('second question')
    await settle()
    expect(session.status().queueDepth).toBe(2)

    const running = backend.requests[0]
    await running?.tools.queryWorld({})
    expect(modes(events)).toContain('planner tool (query_world)')
    running?.settle({ answer: 'one', citedFrameIds: ['a'.repeat(64)], proposals: [] })
    expect((await first).answer).toBe('one')
    await settle()
    // Operator input overtakes the proactive trigger that was queued before it.
    expect(backend.requests[1]?.request).toMatchObject({ text: 'second question', trigger: 'operator' })
    backend.requests[1]?.settle({ answer: 'two', citedFrameIds: [], proposals: [] })
    expect((await second).answer).toBe('two')
    await settle()
    expect(backend.requests[2]?.request.trigger).toBe('proactive')
    expect(backend.requests[2]?.request.proactive).toMatchObject({
      kind: 'threshold',
      bound: 'low',
      limit: 28,
    })
    backend.requests[2]?.settle({ answer: 'zone-2 is dry', citedFrameIds: [], proposals: [] })
    await settle()
    await settle()
    expect(session.status()).toMatchObject({ mode: 'idle', queueDepth: 0 })
    expect(modes(events).at(-1)).toBe('planner idle')
    // Announced: each request starting, each tool, the return to idle; not the steps in between.
    expect(modes(events).slice(0, 3)).toEqual([
      'planner thinking',
      'planner tool (query_world)',
      'planner queued',
    ])

    // Frames: human_input (T0) and agent_response for each operator answer; an inference citing the
    // frame the first answer used; the alert as an agent_response and a planner.alert event.
    const kinds = published.map((fields) => fields.kind)
    expect(kinds.filter((kind) => kind === 'human_input')).toHaveLength(2)
    expect(kinds.filter((kind) => kind === 'agent_response')).toHaveLength(3)
    const inference = published.find((fields) => fields.kind === 'inference')
    expect(inference).toMatchObject({ trust: { tier: 'T0' }, data: { text: 'one', cites: ['a'.repeat(64)] } })
    expect(published.every((fields) => fields.trust.tier === 'T0')).toBe(true)
    expect(events.list().filter((event) => event.type === 'planner.alert')).toHaveLength(1)
    expect(events.list().filter((event) => event.type === 'planner.answer')).toHaveLength(2)
  })

  it('refuses input beyond the queue limit and counts it', async () => {
    const { session, counters, events } = setup()
    const pending = [session.ask('a'), session.ask('b'), session.ask('c')]
    await settle()
    // One running, two queued; the limit is three waiting.
    pending.push(session.ask('d'))
    await settle()
    await expect(session.ask('e')).rejects.toMatchObject({ name: ClawMeshError.NAME, code: 'RATE_LIMITED' })
    expect(counters.get('planner.refused.queue-full')).toBe(1)
    expect(events.list().some((event) => event.type === 'planner.refused')).toBe(true)
    session.stop()
    for (const answer of await Promise.all(pending.slice(1))) expect(answer.error).toBeDefined()
  })

  it('a backend that never answers times out: error answer, error frame, back to idle', async () => {
    const { session, backend, clock, published, counters } = setup()
    const answer = session.ask('will you answer?')
    await settle()
    expect(backend.requests).toHaveLength(1)
    clock.advance(1_000)
    const result = await answer
    expect(result.error).toMatch(/no answer within 1 s/)
    expect(result.answer).toMatch(/could not answer.*Nothing was proposed or executed/s)
    expect(published.at(-1)).toMatchObject({ kind: 'agent_response', data: { error: true } })
    expect(counters.get('planner.requests.timed-out')).toBe(1)
    await settle()
    expect(session.status().mode).toBe('idle')
    // The abandoned request cannot propose any more.
    await expect(
      backend.requests[0]?.tools.createProposal({
        capability: 'actuator:valve:zone-1',
        operation: 'open',
        evidence: [],
        reason: 'late',
      }),
    ).rejects.toThrow()
  })

  it('a backend error is reported to the operator and the session stays usable', async () => {
    const { session, backend } = setup()
    const failing = session.ask('break')
    await settle()
    backend.requests[0]?.settle(new Error('provider returned 500'))
    const result = await failing
    expect(result.error).toBe('provider returned 500')
    expect(result.answer).toContain('provider returned 500')
    const next = session.ask('again')
    await settle()
    backend.requests[1]?.settle({ answer: 'fine', citedFrameIds: [], proposals: [] })
    expect((await next).answer).toBe('fine')
  })

  it('a backend that explains its own failure is quoted once, not wrapped in a second explanation', async () => {
    const { session, backend } = setup()
    const failing = session.ask('break')
    await settle()
    const explanation = 'The planner model failed: 500. Nothing was proposed.'
    backend.requests[0]?.settle({
      answer: explanation,
      citedFrameIds: [],
      proposals: [],
      error: 'provider_error: 500',
    })
    const result = await failing
    expect(result.error).toBe('provider_error: 500')
    expect(result.answer).toBe(explanation)
  })

  it('cancellation: the running request is aborted, queued input can be withdrawn', async () => {
    const { session, backend } = setup()
    const controller = new AbortController()
    const running = session.ask('long one')
    const queued = session.ask('queued one', { signal: controller.signal })
    await settle()
    controller.abort()
    expect((await queued).error).toMatch(/cancelled/)
    expect(session.cancel()).toBe(true)
    expect(backend.requests[0]?.request.signal.aborted).toBe(true)
    expect((await running).error).toMatch(/cancelled/)
    await settle()
    expect(backend.requests).toHaveLength(1)
    expect(session.status()).toMatchObject({ mode: 'idle', queueDepth: 0 })
  })

  it('a proposal created before a failure is reported, not hidden', async () => {
    const { session, backend } = setup()
    const answer = session.ask('open something')
    await settle()
    await backend.requests[0]?.tools.createProposal({
      capability: 'actuator:valve:zone-2',
      operation: 'open',
      evidence: [],
      reason: 'dry',
    })
    backend.requests[0]?.settle(new Error('model crashed'))
    const result = await answer
    expect(result.proposals.map((record) => record.proposal['id'])).toEqual(['p-1'])
    expect(result.answer).toMatch(/created 1 proposal\(s\), which await approval/)
  })
})

describe('threshold alerts', () => {
  const dry = (value: number, at: number) =>
    testObservation('zone-2', 'soil-moisture', value, at, {
      data: {
        zone: 'zone-2',
        metric: 'soil-moisture',
        value,
        unit: '%',
        sensor: 'soil-zone-2',
        threshold: { low: 28, high: 50 },
      },
    } as never)

  it('one alert per crossing, not one per reading; again only after recovery and the cooldown', async () => {
    const { session, backend, clock, counters } = setup()
    const proactive = () => backend.requests.filter((entry) => entry.request.trigger === 'proactive')
    const drain = async () => {
      for (let i = 0; i < 5; i++) {
        await settle()
        for (const entry of backend.requests)
          entry.settle({ answer: 'alert', citedFrameIds: [], proposals: [] })
      }
    }
    for (let i = 0; i < 20; i++) {
      clock.advance(2_000)
      session.observe(dry(25 - (i % 3) * 0.5, clock.now()))
    }
    await drain()
    expect(proactive()).toHaveLength(1)
    // Back just above the bound (inside the hysteresis margin) and down again: still one alert.
    session.observe(dry(28.5, clock.now()))
    session.observe(dry(26, clock.now()))
    await drain()
    expect(proactive()).toHaveLength(1)
    // Recovered properly, but the dip comes within the cooldown: suppressed and counted.
    session.observe(dry(35, clock.now()))
    clock.advance(60_000)
    session.observe(dry(25, clock.now()))
    await drain()
    expect(proactive()).toHaveLength(1)
    expect(counters.get('planner.alerts.suppressed.cooldown')).toBe(1)
    // After recovery and the cooldown, a new crossing alerts again.
    session.observe(dry(35, clock.now()))
    clock.advance(31 * 60_000)
    session.observe(dry(24, clock.now()))
    await drain()
    expect(proactive()).toHaveLength(2)
    expect(counters.get('planner.alerts.raised')).toBe(2)
  })

  it('a reading caught up from history raises no alert', async () => {
    const { session, backend, clock, counters } = setup()
    session.observe(dry(10, clock.now() - 10 * 60_000))
    await settle()
    expect(backend.requests).toHaveLength(0)
    expect(counters.get('planner.alerts.ignored.stale')).toBe(1)
  })

  it('a node that does not lead raises no alerts and runs no periodic checks', async () => {
    const notLeader: LeaderView = {
      leader: () => ({ deviceId: 'someone-else', term: 3 }),
      isLeader: () => false,
      onChange: () => () => {},
    }
    const { session, backend, clock } = setup({ leader: notLeader, proactiveIntervalMs: 60_000 })
    session.observe(dry(10, clock.now()))
    clock.advance(5 * 60_000)
    await settle()
    expect(backend.requests).toHaveLength(0)
  })

  it('the leader runs a periodic check on its interval; an empty answer publishes nothing', async () => {
    const { session, backend, clock, published } = setup({ proactiveIntervalMs: 60_000 })
    clock.advance(60_000)
    await settle()
    expect(backend.requests[0]?.request.proactive).toEqual({ kind: 'periodic' })
    backend.requests[0]?.settle({ answer: '', citedFrameIds: [], proposals: [] })
    await settle()
    await settle()
    expect(published).toHaveLength(0)
    expect(session.status().mode).toBe('idle')
  })
})
