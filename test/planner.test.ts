/**
 * The built-in planner across real processes: a command center (role planner, demo farm) and a field
 * node with mock sensors and actuators. `clawmesh ask` answers sensor questions from the world model
 * with the rule-based label; a request to open a valve becomes an L2 proposal authored by the
 * planner, citing observation frames, that moves nothing until an operator approves it (then the
 * valve opens); the same question asked at the field node is forwarded to the leader and answered by
 * it; answers are broadcast as agent_response / inference frames and the mode shows in mesh.status.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import {
  AWAITING_RECORDS,
  actuationRecords,
  EXECUTED_RECORDS,
  proposalState,
} from './helpers/actuation-records.ts'
import { type FarmSite, startFarmSite, waitForZoneObservations } from './helpers/farm-site.ts'
import type { AnswerJson, FrameJson } from './helpers/planner-flow.ts'
import { cliJson, type NodeProcess, stopAll, waitFor, waitForPlannerLead } from './helpers/processes.ts'

const VALVE = 'actuator:valve:zone-2'
let cc: NodeProcess
let field: NodeProcess
let dirs: FarmSite<'bob'>['dirs']
let ids: FarmSite<'bob'>['ids']

const ask = (text: string, url: string, dir: string) => cliJson<AnswerJson>(['ask', text, '--url', url], dir)
const valveOpen = async () => {
  const answer = await cliJson<AnswerJson>(['ask', 'is valve zone-2 open?', '--url', cc.url], dirs.cc)
  return /OPEN/.test(answer.answer.split('\n').find((line) => line.includes(VALVE)) ?? '')
}

beforeAll(async () => {
  const site = await startFarmSite({ operators: [{ name: 'bob', roles: 'operator' }] })
  ;({ cc, field, dirs, ids } = site)
  await waitForZoneObservations(site, 'zone-2')
  await waitForPlannerLead(cc, dirs.cc)
}, 90_000)

afterAll(stopAll)

describe('built-in planner over RPC', () => {
  it('answers a sensor question from the world model, labelled rule-based, citing the frame it read', async () => {
    const answer = await ask('what is the soil moisture in zone-2', cc.url, dirs.cc)
    expect(answer.planner).toBe('rule-based')
    expect(answer.ruleBased).toBe(true)
    expect(answer.answeredBy).toBe(ids.cc)
    expect(answer.error).toBeUndefined()
    expect(answer.answer).toMatch(/^Rule-based planner/)
    const { frames } = await cliJson<{ frames: FrameJson[] }>(
      ['world', '--url', cc.url, '--kind', 'observation', '--zone', 'zone-2', '--limit', '500'],
      dirs.cc,
    )
    // The value it quotes is a real soil-moisture reading of zone-2 from the field node.
    const quoted = Number(/soil-moisture ([\d.]+) %/.exec(answer.answer)?.[1])
    const readings = frames.filter((frame) => frame.data['metric'] === 'soil-moisture')
    expect(readings.map((frame) => frame.data['value'])).toContain(quoted)
    // The answer went out as an agent_response frame (T0) and its reasoning as an inference citing
    // the observation.
    const responses = await cliJson<{ frames: FrameJson[] }>(
      ['world', '--url', cc.url, '--kind', 'agent_response'],
      dirs.cc,
    )
    const response = responses.frames.find((frame) => frame.frameId === answer.responseFrameId)
    expect(response).toMatchObject({ origin: ids.cc, trust: { tier: 'T0' }, data: { text: answer.answer } })
    const inferences = await cliJson<{ frames: FrameJson[] }>(
      ['world', '--url', cc.url, '--kind', 'inference'],
      dirs.cc,
    )
    const cites = inferences.frames.flatMap((frame) => frame.data['cites'] as string[])
    expect(readings.some((frame) => cites.includes(frame.frameId))).toBe(true)
  })

  it('turns "open valve zone-2 for 5 minutes" into an L2 planner proposal that waits for an operator', async () => {
    expect(await valveOpen()).toBe(false)
    const answer = await ask('open valve zone-2 for 5 minutes', cc.url, dirs.cc)
    expect(answer.error).toBeUndefined()
    expect(answer.proposals).toHaveLength(1)
    const [record] = answer.proposals
    expect(record?.state).toBe('awaiting_approval')
    expect(record?.proposal).toMatchObject({
      capability: VALVE,
      operation: 'open',
      args: { durationSec: 300 },
      level: 'L2',
      author: { kind: 'planner', id: ids.cc },
      leaderTerm: 1,
    })
    // It cites measured observations of zone-2 (T1 sensor readings), never only model output.
    const evidence = record?.proposal.evidence ?? []
    expect(evidence.length).toBeGreaterThan(0)
    expect(evidence.every((ref) => ref.tier !== 'T0')).toBe(true)
    const { frames } = await cliJson<{ frames: FrameJson[] }>(
      ['world', '--url', cc.url, '--kind', 'observation', '--zone', 'zone-2', '--limit', '500'],
      dirs.cc,
    )
    for (const ref of evidence) expect(frames.map((frame) => frame.frameId)).toContain(ref.frameId)

    // Nothing moves while it waits. `ask` answers only once the runtime has decided: a proposal its
    // policy allowed would already be approved, dispatched and executed, so the records are final.
    const ref = { hash: record?.hash ?? '', id: record?.proposal.id ?? '' }
    const recordDirs = { commandCenter: dirs.cc, actuator: dirs.field }
    expect(await actuationRecords(ref, recordDirs)).toEqual(AWAITING_RECORDS)
    expect(await proposalState(cc.url, dirs.cc, ref.id)).toBe('awaiting_approval')
    expect(await valveOpen()).toBe(false)

    // An operator approves: now the runtime executes it and the valve opens.
    const approved = await cliJson<{ verdict: string }>(['approve', ref.id, '--url', cc.url], dirs.bob)
    expect(approved.verdict).toBe('allow')
    await waitFor('the proposal to complete after approval', async () =>
      (await proposalState(cc.url, dirs.cc, ref.id)) === 'completed' ? true : undefined,
    )
    expect(await valveOpen()).toBe(true)
    // The same records now show the move, once: what their silence above meant.
    expect(await actuationRecords(ref, recordDirs)).toEqual(EXECUTED_RECORDS)
  })

  it('input sent to the field node is forwarded to the leader and answered by it', async () => {
    // The field node's CLI key is its local admin; the field node forwards to the command center.
    const answer = await ask('what is the temperature in zone-1', field.url, dirs.field)
    expect(answer.answeredBy).toBe(ids.cc)
    expect(answer.planner).toBe('rule-based')
    expect(answer.answer).toMatch(/temperature/)
    const health = await cliJson<{ health: { counters: Record<string, number> } }>(
      ['status', '--url', field.url],
      dirs.field,
    )
    expect(health.health.counters['planner.forwarded']).toBeGreaterThanOrEqual(1)
  })

  it('reports its mode and backend in mesh.status and planner events in the event ring', async () => {
    const status = await cliJson<{
      planner?: {
        mode: string
        queueDepth: number
        backend: string
        isLeader: boolean
        leader?: { deviceId: string }
      }
      events: Array<{ type: string }>
    }>(['status', '--url', cc.url, '--events'], dirs.cc)
    expect(status.planner).toMatchObject({
      mode: 'idle',
      queueDepth: 0,
      backend: 'rule-based',
      isLeader: true,
      leader: { deviceId: ids.cc },
    })
    const types = new Set(status.events.map((event) => event.type))
    expect(types).toContain('planner.mode')
    expect(types).toContain('planner.answer')
    // The field node runs no session: no planner field in its status.
    const fieldStatus = await cliJson<{ planner?: unknown }>(['status', '--url', field.url], dirs.field)
    expect(fieldStatus.planner).toBeUndefined()
  })
})
