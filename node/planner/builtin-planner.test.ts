import { beforeAll, describe, expect, it } from 'vitest'
import { ClawMeshError } from '../../protocol/errors.ts'
import { testFrame, testObservation } from '../../test/helpers/frames.ts'
import { makeProposalRecord } from '../../test/helpers/safety-fixtures.ts'
import { DEMO_FARM_PATH, loadSiteFile, type SiteModel } from '../site/site-model.ts'
import { WorldModel } from '../world/world-model.ts'
import type { PlannerRequest, PlannerTools, ProposalDraft } from './backend.ts'
import { BuiltinPlanner, durationOf, parseRequest } from './builtin-planner.ts'

const NOW = 1_750_000_000_000
let site: SiteModel

beforeAll(async () => {
  site = await loadSiteFile(DEMO_FARM_PATH)
})

describe('built-in planner grammar', () => {
  it.each([
    ['status', { kind: 'status' }],
    ['How is the farm?', { kind: 'status' }],
    ['zones', { kind: 'zones' }],
    ['what is the soil moisture in zone-2', { kind: 'reading', metric: 'soil-moisture', zone: 'zone-2' }],
    ['Soil moisture zone 3?', { kind: 'reading', metric: 'soil-moisture', zone: 'zone-3' }],
    ["what's the temperature in the greenhouse", { kind: 'reading', metric: 'temperature', zone: 'zone-3' }],
    ['what is the water level of the pond', { kind: 'reading', metric: 'water-level' }],
    ['zone-4', { kind: 'reading', zone: 'zone-4' }],
    ['which valves are open', { kind: 'actuators', actuator: 'valve' }],
    ['is valve zone-2 open?', { kind: 'actuators', actuator: 'valve', zone: 'zone-2' }],
    ['any alarms?', { kind: 'alarms' }],
    ['peers', { kind: 'peers' }],
    ['list capabilities', { kind: 'capabilities' }],
    [
      'open valve zone-2 for 5 minutes',
      { kind: 'actuate', actuator: 'valve', action: 'open', zone: 'zone-2', durationSec: 300 },
    ],
    [
      'Please water zone 1 for 90 s',
      { kind: 'actuate', actuator: 'valve', action: 'open', zone: 'zone-1', durationSec: 90 },
    ],
    ['close valve zone-1', { kind: 'actuate', actuator: 'valve', action: 'close', zone: 'zone-1' }],
    ['stop pump', { kind: 'actuate', actuator: 'pump', action: 'stop' }],
    ['start the pump for 10 min', { kind: 'actuate', actuator: 'pump', action: 'start', durationSec: 600 }],
    ['help', { kind: 'help' }],
    ['sing me a song', { kind: 'unknown' }],
  ] as const)('%s', (text, intent) => {
    expect(parseRequest(text, site)).toEqual(intent)
  })

  it('reads durations but never the number of a zone', () => {
    expect(durationOf('open valve zone-2 for 5 minutes')).toBe(300)
    expect(durationOf('open valve zone-2')).toBeUndefined()
    expect(durationOf('run for 2h')).toBe(7_200)
    expect(durationOf('for 1.5 min')).toBe(90)
  })
})

function fixture() {
  const world = new WorldModel()
  const drafts: ProposalDraft[] = []
  const soil = testObservation('zone-2', 'soil-moisture', 24.5, NOW - 4_000, {
    data: {
      zone: 'zone-2',
      metric: 'soil-moisture',
      value: 24.5,
      unit: '%',
      sensor: 'soil-zone-2',
      threshold: { low: 28, high: 50 },
      alarm: true,
    },
  } as never)
  const older = testObservation('zone-2', 'soil-moisture', 30, NOW - 60_000, {
    data: { zone: 'zone-2', metric: 'soil-moisture', value: 30, unit: '%', sensor: 'soil-zone-2' },
  } as never)
  const temperature = testObservation('zone-2', 'temperature', 21.3, NOW - 3_000)
  const guess = testFrame({
    kind: 'inference',
    data: { text: 'zone-2 looks dry', cites: [] },
    trust: { tier: 'T0', sources: [] },
  })
  const orchard = testObservation('zone-1', 'temperature', 19, NOW - 3_000)
  for (const frame of [older, soil, temperature, guess, orchard]) world.ingest(frame)
  const capabilities = [
    'sensor:soil-moisture:zone-2',
    'actuator:valve:zone-1',
    'actuator:valve:zone-2',
    'actuator:pump:zone-4',
  ]
  let refuse: ClawMeshError | undefined
  const tools: PlannerTools = {
    queryWorld: async ({ summary: _summary, ...query }) => ({
      frames: world.query(query),
      summary: world.summary({ now: NOW }),
    }),
    listCapabilities: async () =>
      capabilities.map((capability) => ({
        capability,
        providers: [{ deviceId: 'field', name: 'field-1', local: false }],
      })),
    listPeers: async () => [],
    readSensor: async (capability) => ({ open: capability === 'actuator:valve:zone-1', until: NOW + 60_000 }),
    createProposal: async (draft) => {
      if (refuse !== undefined) throw refuse
      drafts.push(draft)
      return makeProposalRecord({
        proposal: {
          id: 'p-1',
          capability: draft.capability,
          ...(draft.level === undefined ? {} : { level: draft.level }),
        },
        receivedAt: NOW,
        updatedAt: NOW,
      })
    },
  }
  const planner = new BuiltinPlanner({ site, now: () => NOW })
  const ask = (text: string) =>
    planner.respond(
      {
        text,
        trigger: 'operator',
        signal: new AbortController().signal,
        onToolStart: () => {},
        onToolEnd: () => {},
      } as PlannerRequest,
      tools,
    )
  return {
    planner,
    tools,
    ask,
    drafts,
    soil,
    temperature,
    guess,
    refuseWith: (error: ClawMeshError) => (refuse = error),
  }
}

describe('built-in planner answers', () => {
  it('answers a reading from the latest observation and cites it', async () => {
    const { ask, soil } = fixture()
    const reply = await ask('what is the soil moisture in zone-2')
    expect(reply.answer).toMatch(
      /^Rule-based planner: zone-2 \(Vegetable beds\) soil-moisture 24\.5 % \(low 28, high 50\) OUT OF BAND, 4s ago/,
    )
    expect(reply.citedFrameIds).toEqual([soil.frameId])
    expect(reply.proposals).toEqual([])
  })

  it('turns an explicit request into a proposal with the manifest operation, bounded args, L2 and measured evidence', async () => {
    const { ask, drafts, soil, temperature, guess } = fixture()
    const reply = await ask('open valve zone-2 for 5 minutes')
    expect(drafts).toEqual([
      {
        capability: 'actuator:valve:zone-2',
        operation: 'open',
        args: { durationSec: 300 },
        level: 'L2',
        evidence: [soil.frameId, temperature.frameId],
        reason: 'operator asked to open actuator:valve:zone-2 for 300 s',
      },
    ])
    expect(drafts[0]?.evidence).not.toContain(guess.frameId)
    expect(reply.proposals).toHaveLength(1)
    expect(reply.answer).toMatch(/proposal p-1, level L2/)
    expect(reply.answer).toMatch(/awaiting approval: nothing moves until an operator approves it/)
    expect(reply.citedFrameIds).toEqual([soil.frameId, temperature.frameId])
  })

  it('"close valve" is proposed at L2, never as an operation that runs without an operator', async () => {
    const { ask, drafts } = fixture()
    expect((await ask('close valve zone-3')).answer).toMatch(/no live node offers actuator:valve:zone-3/)
    await ask('close valve zone-1')
    expect(drafts[0]).toMatchObject({
      capability: 'actuator:valve:zone-1',
      operation: 'close',
      args: {},
      level: 'L2',
    })
  })

  it('asks for a duration, refuses one outside the manifest, and proposes nothing then', async () => {
    const { ask, drafts } = fixture()
    expect((await ask('open valve zone-2')).answer).toMatch(/for how long\?.*1–600 s/)
    expect((await ask('open valve zone-2 for 2 hours')).answer).toMatch(
      /7200 s is outside what actuator:valve:zone-2 "open" allows \(1–600 s\)/,
    )
    expect((await ask('open valve zone-9 for 1 minute')).answer).toMatch(
      /no live node offers actuator:valve:zone-9/,
    )
    expect(drafts).toEqual([])
  })

  it('a refusal from the safety core is reported, with its code', async () => {
    const { ask, refuseWith } = fixture()
    refuseWith(new ClawMeshError('POLICY_DENIED', 'sender refused: no evidence'))
    const reply = await ask('open valve zone-2 for 1 minute')
    expect(reply.answer).toMatch(
      /safety core refused .* POLICY_DENIED: sender refused: no evidence\. Nothing will run\./,
    )
    expect(reply.proposals).toEqual([])
  })

  it('reads valve states live and lists what it understands for anything else', async () => {
    const { ask } = fixture()
    const valves = await ask('which valves are open')
    expect(valves.answer).toMatch(/1 of 2 valves open/)
    expect(valves.answer).toMatch(/actuator:valve:zone-1: OPEN until/)
    const unknown = await ask('sing me a song')
    expect(unknown.answer).toMatch(/did not understand "sing me a song"/)
    expect(unknown.answer).toContain('open valve zone-2 for 5 minutes')
  })

  it('words a threshold alert with a suggestion and proposes nothing on its own', async () => {
    const { planner, tools, soil, drafts } = fixture()
    const reply = await planner.respond(
      {
        text: 'threshold crossing',
        trigger: 'proactive',
        proactive: { kind: 'threshold', frame: soil as never, bound: 'low', limit: 28 },
        signal: new AbortController().signal,
        onToolStart: () => {},
        onToolEnd: () => {},
      },
      tools,
    )
    expect(reply.answer).toMatch(
      /^Rule-based planner alert: .*below its low threshold 28 %\. Suggestion: "open valve zone-2 for 5 minutes"/,
    )
    expect(reply.citedFrameIds).toEqual([soil.frameId])
    expect(drafts).toEqual([])
  })
})
