/**
 * The Pi backend against pi-ai's faux provider (a scripted model) and a PlannerTools that records
 * every call: the model's tool calls reach the mesh tools with the scripted arguments, the reply
 * cites the frames and carries the proposal, and failures come back as replies, never throws.
 */
import {
  type FauxProviderRegistration,
  fauxAssistantMessage,
  fauxText,
  fauxToolCall,
  registerFauxProvider,
} from '@mariozechner/pi-ai'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { Counters } from '../../../runtime/counters.ts'
import { FRAME_A, FRAME_B, recordingTools } from '../../../test/helpers/recording-planner-tools.ts'
import type { PlannerRequest } from '../backend.ts'
import { PI_MAX_TURNS } from './constants.ts'
import { createPiBackend, PI_COUNTERS } from './pi-backend.ts'

function request(text: string, overrides: Partial<PlannerRequest> = {}) {
  const events: string[] = []
  const tokens: string[] = []
  const value: PlannerRequest = {
    text,
    trigger: 'operator',
    operator: { id: 'op-1', name: 'Ana' },
    signal: new AbortController().signal,
    onToolStart: (name) => events.push(`start:${name}`),
    onToolEnd: (name) => events.push(`end:${name}`),
    onToken: (delta) => tokens.push(delta),
    ...overrides,
  }
  return { value, events, tokens }
}

let faux: FauxProviderRegistration

beforeEach(() => {
  faux = registerFauxProvider()
})
afterEach(() => {
  faux.unregister()
})

describe('Pi backend with the faux provider', () => {
  it('queries the world, creates an L2 proposal with the cited frames, and streams the answer', async () => {
    const proposalArgs = {
      capability: 'actuator:valve:zone-2',
      operation: 'open',
      args: { durationMinutes: 5 },
      level: 'L2',
      evidence: [FRAME_A, FRAME_B],
      reason: 'zone-2 soil moisture is 11–12 %, below the 20 % threshold',
    }
    faux.setResponses([
      fauxAssistantMessage(fauxToolCall('query_world', { zone: 'zone-2', kind: 'observation', limit: 5 }), {
        stopReason: 'toolUse',
      }),
      fauxAssistantMessage(fauxToolCall('create_proposal', proposalArgs), { stopReason: 'toolUse' }),
      fauxAssistantMessage(
        fauxText(
          'Zone 2 is dry (11–12 %). I proposed opening its valve for 5 minutes; it awaits your approval.',
        ),
      ),
    ])
    const tools = recordingTools()
    const backend = createPiBackend({ model: faux.getModel() })
    const { value, events, tokens } = request('zone 2 looks dry, water it for 5 minutes')

    const reply = await backend.respond(value, tools)

    expect(reply.error).toBeUndefined()
    expect(tools.calls).toEqual([
      { tool: 'queryWorld', args: { zone: 'zone-2', kind: 'observation', limit: 5, summary: true } },
      { tool: 'createProposal', args: proposalArgs },
    ])
    expect(reply.proposals.map((proposal) => proposal.hash)).toEqual(['f'.repeat(64)])
    expect(reply.proposals[0]?.proposal['level']).toBe('L2')
    expect(reply.citedFrameIds).toEqual([FRAME_A, FRAME_B])
    expect(reply.answer).toBe(
      'Zone 2 is dry (11–12 %). I proposed opening its valve for 5 minutes; it awaits your approval.',
    )
    expect(tokens.join('')).toBe(reply.answer)
    expect(events).toEqual([
      'start:query_world',
      'end:query_world',
      'start:create_proposal',
      'end:create_proposal',
    ])
    expect(backend.label).toBe(`pi:${faux.getModel().provider}/${faux.getModel().id}`)
    expect(backend.ruleBased).toBe(false)
  })

  it('gives the model the world frames and the proposal outcome as tool results', async () => {
    const seen: string[] = []
    faux.setResponses([
      fauxAssistantMessage(fauxToolCall('query_world', { zone: 'zone-2' }), { stopReason: 'toolUse' }),
      (context) => {
        const last = context.messages.at(-1)
        if (last?.role === 'toolResult') seen.push(JSON.stringify(last.content))
        return fauxAssistantMessage('done')
      },
    ])
    await createPiBackend({ model: faux.getModel() }).respond(request('status?').value, recordingTools())
    expect(seen).toHaveLength(1)
    expect(seen[0]).toContain(FRAME_A)
    expect(seen[0]).toContain('zone-2 moisture 11–12 %')
  })

  it('refuses tool arguments outside the schema before any mesh tool runs, and counts it', async () => {
    faux.setResponses([
      fauxAssistantMessage(
        fauxToolCall('create_proposal', {
          capability: 'actuator:valve:zone-2',
          operation: 'open',
          evidence: ['not-a-frame-id'],
          reason: 'x',
        }),
        { stopReason: 'toolUse' },
      ),
      fauxAssistantMessage(fauxToolCall('read_sensor', { capability: 'actuator:valve:zone-2' }), {
        stopReason: 'toolUse',
      }),
      fauxAssistantMessage('I could not create the proposal.'),
    ])
    const tools = recordingTools()
    const counters = new Counters()
    const reply = await createPiBackend({ model: faux.getModel(), counters }).respond(
      request('open valve zone 2').value,
      tools,
    )
    expect(tools.calls).toEqual([])
    expect(reply.proposals).toEqual([])
    expect(reply.error).toBeUndefined()
    expect(counters.get(PI_COUNTERS.toolErrors)).toBe(2)
  })

  it('stops a model that keeps calling tools at the turn limit and says so', async () => {
    faux.setResponses(
      Array.from({ length: PI_MAX_TURNS + 2 }, () =>
        fauxAssistantMessage(fauxToolCall('list_peers', {}), { stopReason: 'toolUse' }),
      ),
    )
    const counters = new Counters()
    const tools = recordingTools()
    const reply = await createPiBackend({ model: faux.getModel(), counters }).respond(
      request('hi').value,
      tools,
    )
    expect(reply.error).toMatch(/^turn_limit: /)
    expect(tools.calls).toHaveLength(PI_MAX_TURNS)
    expect(counters.get(PI_COUNTERS.turnLimits)).toBe(1)
  })

  it('returns a provider error as a reply with the key redacted', async () => {
    const apiKey = 'sk-test-0123456789abcdefghij'
    faux.setResponses([
      fauxAssistantMessage([], {
        stopReason: 'error',
        errorMessage: `401 Incorrect API key provided: ${apiKey}`,
      }),
    ])
    const counters = new Counters()
    const reply = await createPiBackend({ model: faux.getModel(), apiKey, counters }).respond(
      request('status?').value,
      recordingTools(),
    )
    expect(reply.error).toMatch(/^provider_error: /)
    expect(reply.answer).toContain('failed')
    expect(reply.answer).toContain('credential set')
    expect(`${reply.answer}${reply.error}`).not.toContain(apiKey)
    expect(`${reply.answer}${reply.error}`).not.toContain(apiKey.slice(0, 12))
    expect(counters.get(PI_COUNTERS.providerErrors)).toBe(1)
  })

  it('times out a tool that never returns and replies with a timeout error', async () => {
    faux.setResponses([fauxAssistantMessage(fauxToolCall('list_peers', {}), { stopReason: 'toolUse' })])
    const tools = recordingTools()
    tools.listPeers = () => new Promise(() => {})
    const counters = new Counters()
    const reply = await createPiBackend({ model: faux.getModel(), timeoutMs: 1_000, counters }).respond(
      request('peers?').value,
      tools,
    )
    expect(reply.error).toMatch(/^timeout: /)
    expect(reply.answer).toContain('did not answer within 1 s')
    expect(counters.get(PI_COUNTERS.timeouts)).toBe(1)
  })

  it('returns promptly with a cancelled reply when the session aborts', async () => {
    faux.setResponses([fauxAssistantMessage(fauxToolCall('list_peers', {}), { stopReason: 'toolUse' })])
    const tools = recordingTools()
    const controller = new AbortController()
    tools.listPeers = () => {
      controller.abort()
      return new Promise(() => {})
    }
    const { value, events } = request('peers?', { signal: controller.signal })
    const reply = await createPiBackend({ model: faux.getModel() }).respond(value, tools)
    expect(reply.error).toMatch(/^cancelled: /)
    // Nothing reaches the session after respond returned.
    const before = events.length
    await new Promise((resolve) => setTimeout(resolve, 50))
    expect(events.length).toBe(before)
  })
})
