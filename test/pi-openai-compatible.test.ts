/**
 * The Pi backend against a local OpenAI-compatible server (the `--pi-base-url` path for
 * llama.cpp, Ollama, vLLM), over real HTTP on loopback with streamed SSE chunks: the same
 * query-then-propose flow as with the faux provider, what the server received (model, declared
 * tools, the tool result fed back), and how an HTTP 500, a rejected key and a silent server end.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import type { PlannerRequest } from '../node/planner/backend.ts'
import { createPiBackend, PI_COUNTERS } from '../node/planner/pi/pi-backend.ts'
import { Counters } from '../runtime/counters.ts'
import { type FakeOpenAiServer, startFakeOpenAiServer } from './helpers/fake-openai-server.ts'
import { FRAME_A, FRAME_B, recordingTools } from './helpers/recording-planner-tools.ts'

function request(text: string): { value: PlannerRequest; tokens: string[]; tools: string[] } {
  const tokens: string[] = []
  const tools: string[] = []
  return {
    tokens,
    tools,
    value: {
      text,
      trigger: 'operator',
      operator: { id: 'op-1', name: 'Ana' },
      signal: new AbortController().signal,
      onToolStart: (name) => tools.push(name),
      onToolEnd: () => {},
      onToken: (delta) => tokens.push(delta),
    },
  }
}

let server: FakeOpenAiServer

beforeEach(async () => {
  server = await startFakeOpenAiServer()
})
afterEach(async () => {
  await server.close()
})

describe('Pi backend through --pi-base-url (OpenAI-compatible server on loopback)', () => {
  it('queries the world and creates an L2 proposal through streamed tool calls', async () => {
    const proposal = {
      capability: 'actuator:valve:zone-2',
      operation: 'open',
      args: { durationMinutes: 5 },
      level: 'L2',
      evidence: [FRAME_A],
      reason: 'zone-2 soil moisture is 12 %',
    }
    server.script([
      { toolCall: { name: 'query_world', arguments: { zone: 'zone-2', metric: 'soil_moisture' } } },
      { toolCall: { name: 'create_proposal', arguments: proposal } },
      { text: 'Zone 2 is at 12 %. Opening its valve for 5 minutes awaits your approval.' },
    ])
    const tools = recordingTools()
    const backend = createPiBackend({
      model: 'local/qwen2.5-7b-instruct',
      baseUrl: server.baseUrl,
      apiKey: 'local-test-key',
    })
    const { value, tokens, tools: started } = request('water zone 2 for 5 minutes')

    const reply = await backend.respond(value, tools)

    expect(reply.error).toBeUndefined()
    expect(backend.label).toBe('pi:local/qwen2.5-7b-instruct')
    expect(tools.calls).toEqual([
      { tool: 'queryWorld', args: { zone: 'zone-2', metric: 'soil_moisture', limit: 20, summary: true } },
      { tool: 'createProposal', args: proposal },
    ])
    expect(started).toEqual(['query_world', 'create_proposal'])
    expect(reply.proposals).toHaveLength(1)
    expect(reply.citedFrameIds).toEqual([FRAME_A, FRAME_B])
    expect(reply.answer).toBe('Zone 2 is at 12 %. Opening its valve for 5 minutes awaits your approval.')
    expect(tokens.length).toBeGreaterThan(1)
    expect(tokens.join('')).toBe(reply.answer)

    // What the server received: three streamed requests for the configured model, the five tools
    // declared, the system prompt's safety model, and the tool results fed back.
    expect(server.requests).toHaveLength(3)
    for (const received of server.requests) {
      expect(received.body.model).toBe('qwen2.5-7b-instruct')
      expect(received.body.stream).toBe(true)
      expect(received.authorization).toBe('Bearer local-test-key')
      expect(received.body.tools?.map((tool) => tool.function.name).sort()).toEqual([
        'create_proposal',
        'list_capabilities',
        'list_peers',
        'query_world',
        'read_sensor',
      ])
    }
    const first = server.requests[0]!.body.messages
    expect(first[0]).toMatchObject({ role: 'system' })
    expect(String(first[0]!['content'])).toContain('You propose; humans approve')
    expect(JSON.stringify(first[1])).toContain('water zone 2 for 5 minutes')
    const second = server.requests[1]!.body.messages
    const worldResult = second.find((message) => message['role'] === 'tool')
    expect(worldResult).toBeDefined()
    expect(JSON.stringify(worldResult)).toContain(FRAME_A)
    const third = server.requests[2]!.body.messages
    const proposalResult = third.filter((message) => message['role'] === 'tool').at(-1)
    expect(JSON.stringify(proposalResult)).toContain('awaiting_approval')
  })

  it('turns an HTTP 500 into an error reply and returns', async () => {
    server.script([
      { status: 500, message: 'model crashed' },
      { status: 500, message: 'model crashed' },
    ])
    const counters = new Counters()
    const reply = await createPiBackend({ model: 'local/m', baseUrl: server.baseUrl, counters }).respond(
      request('status?').value,
      recordingTools(),
    )
    expect(reply.error).toMatch(/^provider_error: /)
    expect(reply.error).toContain('500')
    expect(reply.answer).toContain('pi:local/m failed')
    expect(reply.proposals).toEqual([])
    expect(counters.get(PI_COUNTERS.providerErrors)).toBe(1)
  })

  it('never repeats a rejected key, even when the server echoes it', async () => {
    const apiKey = 'sk-local-secret-4f9a8b7c6d5e4f3a2b1c'
    server.script([{ status: 401, message: `Incorrect API key provided: ${apiKey}` }])
    const reply = await createPiBackend({ model: 'local/m', baseUrl: server.baseUrl, apiKey }).respond(
      request('status?').value,
      recordingTools(),
    )
    expect(server.requests[0]?.authorization).toBe(`Bearer ${apiKey}`)
    expect(reply.error).toMatch(/^provider_error: 401/)
    expect(reply.answer).toContain('clawmesh credential set local/api-key')
    const visible = JSON.stringify(reply)
    expect(visible).not.toContain(apiKey)
    expect(visible).not.toContain(apiKey.slice(-10))
  })

  it('times out a server that never answers and returns', async () => {
    server.script([{ hang: true }, { hang: true }])
    const counters = new Counters()
    const reply = await createPiBackend({
      model: 'local/m',
      baseUrl: server.baseUrl,
      timeoutMs: 1_500,
      counters,
    }).respond(request('status?').value, recordingTools())
    expect(reply.error).toMatch(/^timeout: /)
    expect(reply.answer).toContain('did not answer within 2 s')
    expect(server.requests.length).toBeGreaterThanOrEqual(1)
    expect(counters.get(PI_COUNTERS.timeouts)).toBe(1)
  })
})
