/**
 * The Pi planner through real nodes and `--pi-base-url`: a command center process
 * (`--role planner --pi-model local/NAME --pi-base-url …`, demo farm) whose model is a fake
 * OpenAI-compatible server on loopback (real HTTP, streamed SSE chunks, tool calls), and a field
 * node process with mock sensors and actuators. `clawmesh ask` reaches the model, which queries the
 * world and proposes opening the zone-2 valve citing the frames it was given; the proposal waits
 * for an operator and the valve stays closed until `clawmesh approve`. A provider error and a
 * provider that never answers come back as error answers with the session idle and the node
 * healthy. The local API key, set with `clawmesh credential set`, reaches the server and nothing
 * else: no process output, answer, status, world frame or evidence entry captured here holds it.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { connectCliClient } from '../node/cli/client-node.ts'
import { DEMO_FARM_PATH } from '../node/site/site-model.ts'
import { WORLD_QUERY_MAX_LIMIT } from '../protocol/limits.ts'
import type { RpcResult } from '../protocol/rpc/methods.ts'
import {
  AWAITING_RECORDS,
  actuationRecords,
  EXECUTED_RECORDS,
  proposalState,
} from './helpers/actuation-records.ts'
import {
  type FakeOpenAiServer,
  type RecordedRequest,
  startFakeOpenAiServer,
} from './helpers/fake-openai-server.ts'
import {
  type AnswerJson,
  type FrameJson,
  frameIdsToCite,
  issueOperator,
  OPEN_DURATION_SEC,
  openValveProposal,
  QUERY_WORLD_ARGS,
  VALVE_ZONE_2,
  valveIsOpen,
} from './helpers/planner-flow.ts'
import {
  type CliResult,
  makeStateDir,
  type NodeProcess,
  runCli,
  startNode,
  stopAll,
  waitFor,
  waitForPlannerLead,
} from './helpers/processes.ts'

const MODEL = 'local/qwen2.5-7b-instruct'
/** Looks like a real key; long and unique enough that any leak of it, or of its tail, is found. */
const SECRET = 'sk-local-9f8e7d6c5b4a39281706f5e4d3c2b1a0'
/** The timeout node's answer budget: the floor `--pi-timeout-ms` accepts is 1 s. */
const TIMEOUT_MS = 1_500
const ANSWER = 'Zone 2 reads dry. I proposed opening its valve for 4 minutes; it waits for your approval.'

let server: FakeOpenAiServer
let cc: NodeProcess
let field: NodeProcess
/** A second command center whose budget is TIMEOUT_MS, for the provider that never answers. */
let slowCc: NodeProcess
let dirs: { cc: string; field: string; bob: string; slowCc: string }
let ids: { cc: string; field: string; bob: string }
/** Everything the CLI printed during this file, checked for the secret at the end. */
const captured: string[] = []
const fileStartedAt = Date.now()
/** Frames read per world query in the leak check: a few seconds of three nodes, far below the RPC limit. */
const WORLD_WINDOW_MS = 5_000

async function cli(args: string[], dir: string): Promise<CliResult> {
  const result = await runCli(args, dir)
  captured.push(result.stdout, result.stderr)
  return result
}
async function json<T>(args: string[], dir: string): Promise<T> {
  const result = await cli([...args, '--json'], dir)
  if (result.code !== 0)
    throw new Error(`clawmesh ${args.join(' ')} failed (${result.code}): ${result.stderr}`)
  return JSON.parse(result.stdout) as T
}
async function rpcJson<M extends 'planner.status' | 'mesh.health'>(
  url: string,
  dir: string,
  method: M,
): Promise<RpcResult<M>> {
  const client = await connectCliClient(url, dir)
  try {
    const result = (await client.call(method as 'planner.status', {})) as RpcResult<M>
    captured.push(JSON.stringify(result))
    return result
  } finally {
    await client.close()
  }
}

/** Every frame in a node's world model since this file started, captured. Read in time windows: one
 * query for all of them outgrows the RPC message limit once the nodes have run a minute or two. */
async function captureWorld(url: string, dir: string): Promise<number> {
  const client = await connectCliClient(url, dir)
  let count = 0
  try {
    for (let since = fileStartedAt; since <= Date.now(); since += WORLD_WINDOW_MS) {
      const until = since + WORLD_WINDOW_MS - 1
      const result = await client.call('mesh.world.query', { since, until, limit: WORLD_QUERY_MAX_LIMIT })
      captured.push(JSON.stringify(result))
      count += result.frames.length
    }
    return count
  } finally {
    await client.close()
  }
}

/** The text of the newest `tool` message in a chat-completions request (what a tool returned). */
function lastToolResult(request: RecordedRequest): string {
  const message = request.body.messages.filter((candidate) => candidate['role'] === 'tool').at(-1)
  if (message === undefined) throw new Error('the request carries no tool result')
  const content = message['content']
  if (typeof content === 'string') return content
  return (content as Array<{ text?: string }>).map((part) => part.text ?? '').join('')
}

beforeAll(async () => {
  server = await startFakeOpenAiServer()
  dirs = {
    cc: await makeStateDir('pi-cc'),
    field: await makeStateDir('pi-field'),
    bob: await makeStateDir('pi-bob'),
    slowCc: await makeStateDir('pi-slow-cc'),
  }
  const identityOf = (dir: string) => json<{ deviceId: string; cliKeyId: string }>(['identity'], dir)
  const [ccId, fieldId, bob] = await Promise.all([
    identityOf(dirs.cc),
    identityOf(dirs.field),
    identityOf(dirs.bob),
  ])
  ids = { cc: ccId.deviceId, field: fieldId.deviceId, bob: bob.cliKeyId }
  await cli(['trust', 'add', ids.field, '--name', 'field-1'], dirs.cc)
  await cli(['trust', 'add', ids.bob, '--name', 'bob'], dirs.cc)
  await cli(['trust', 'add', ids.cc, '--name', 'command-center'], dirs.field)
  for (const dir of [dirs.cc, dirs.slowCc]) {
    expect((await cli(['credential', 'set', 'local/api-key', SECRET], dir)).code).toBe(0)
  }
  cc = await startNode(dirs.cc, [
    '--name',
    'command-center',
    '--role',
    'planner',
    '--site',
    DEMO_FARM_PATH,
    '--pi-model',
    MODEL,
    '--pi-base-url',
    server.baseUrl,
  ])
  field = await startNode(dirs.field, [
    '--name',
    'field-1',
    '--field-node',
    '--site',
    DEMO_FARM_PATH,
    '--command-center',
    ids.cc,
    '--peer',
    `${ids.cc}=${cc.url}`,
  ])
  slowCc = await startNode(dirs.slowCc, [
    '--name',
    'slow-center',
    '--role',
    'planner',
    '--pi-model',
    MODEL,
    '--pi-base-url',
    server.baseUrl,
    '--pi-timeout-ms',
    String(TIMEOUT_MS),
  ])
  await issueOperator(cc.url, dirs.cc, { dir: dirs.bob, keyId: ids.bob, name: 'bob' })
  await Promise.all([waitForPlannerLead(cc, dirs.cc), waitForPlannerLead(slowCc, dirs.slowCc)])
  await waitFor(
    'observations of zone-2 at the command center',
    async () =>
      (
        await json<{ frames: unknown[] }>(
          ['world', '--url', cc.url, '--kind', 'observation', '--zone', 'zone-2'],
          dirs.cc,
        )
      ).frames.length > 0 || undefined,
    20_000,
  )
}, 120_000)

afterAll(async () => {
  await stopAll()
  await server.close()
})

describe('Pi planner on a real node, model behind --pi-base-url', () => {
  it('the start banner names the model and where its key comes from, never the key', () => {
    expect(cc.output()).toContain(`pi:${MODEL} at ${server.baseUrl} (key from credential local/api-key)`)
  })

  it('asks the model, which queries the world and proposes L2 citing those frames; nothing opens until approval', async () => {
    expect(await valveIsOpen(cc.url, dirs.cc)).toBe(false)
    let cited: string[] = []
    server.requests.length = 0
    server.script([
      { toolCall: { name: 'query_world', arguments: { ...QUERY_WORLD_ARGS } } },
      (request) => {
        cited = frameIdsToCite(lastToolResult(request))
        return { toolCall: { name: 'create_proposal', arguments: openValveProposal(cited) } }
      },
      { text: ANSWER },
    ])

    const answer = await json<AnswerJson>(['ask', 'open the zone-2 valve', '--url', cc.url], dirs.cc)

    expect(answer.error).toBeUndefined()
    expect(answer.answer).toBe(ANSWER)
    expect(answer).toMatchObject({ planner: `pi:${MODEL}`, ruleBased: false, answeredBy: ids.cc })
    // The model was really asked, three times, with the key and the operator's words.
    expect(server.requests).toHaveLength(3)
    expect(server.requests.every((request) => request.authorization === `Bearer ${SECRET}`)).toBe(true)
    expect(JSON.stringify(server.requests[0]?.body.messages)).toContain('open the zone-2 valve')

    expect(answer.proposals).toHaveLength(1)
    const record = answer.proposals[0]!
    expect(record.state).toBe('awaiting_approval')
    expect(record.proposal).toMatchObject({
      capability: VALVE_ZONE_2,
      operation: 'open',
      args: { durationSec: OPEN_DURATION_SEC },
      level: 'L2',
      author: { kind: 'planner', id: ids.cc },
    })
    // It cites exactly the frames query_world gave the model, with the tiers the world model holds.
    expect(cited.length).toBeGreaterThan(0)
    expect(record.proposal.evidence.map((ref) => ref.frameId)).toEqual(cited)
    const { frames } = await json<{ frames: FrameJson[] }>(
      ['world', '--url', cc.url, '--kind', 'observation', '--zone', 'zone-2', '--limit', '500'],
      dirs.cc,
    )
    const tierOf = new Map(frames.map((frame) => [frame.frameId, frame.trust.tier]))
    for (const ref of record.proposal.evidence) expect(ref.tier).toBe(tierOf.get(ref.frameId))
    expect(record.proposal.evidence.every((ref) => ref.tier === 'T1')).toBe(true)

    // Nothing moves while it waits. `ask` answers only once the runtime has decided: a proposal its
    // policy allowed would already be approved, dispatched and executed, so the records are final.
    const ref = { hash: record.hash, id: record.proposal.id }
    const recordDirs = { commandCenter: dirs.cc, actuator: dirs.field }
    expect(await actuationRecords(ref, recordDirs, json)).toEqual(AWAITING_RECORDS)
    expect(await proposalState(cc.url, dirs.cc, ref.id, json)).toBe('awaiting_approval')
    expect(await valveIsOpen(cc.url, dirs.cc)).toBe(false)

    const approved = await json<{ verdict: string }>(['approve', ref.id, '--url', cc.url], dirs.bob)
    expect(approved.verdict).toBe('allow')
    await waitFor(
      'the proposal to complete after approval',
      async () => (await proposalState(cc.url, dirs.cc, ref.id, json)) === 'completed' || undefined,
    )
    expect(await valveIsOpen(cc.url, dirs.cc)).toBe(true)
    // The same records now show the move, once: what their silence above meant.
    expect(await actuationRecords(ref, recordDirs, json)).toEqual(EXECUTED_RECORDS)
  })

  it('observation 2 (issue 14): the model cannot auto-run L1 — not on the T3-labelled config frame, not on real readings', async () => {
    const { frames: configs } = await json<{ frames: FrameJson[] }>(
      ['world', '--url', cc.url, '--kind', 'capability_update'],
      dirs.cc,
    )
    const config = configs.find((frame) => frame.origin === ids.cc)
    expect(config?.trust.tier).toBe('T3')
    const { frames: readings } = await json<{ frames: FrameJson[] }>(
      ['world', '--url', cc.url, '--kind', 'observation', '--zone', 'zone-2'],
      dirs.cc,
    )
    const l1 = (evidence: string[]) => ({
      ...openValveProposal(evidence),
      operation: 'open-short',
      args: { durationSec: 60 },
      level: 'L1',
    })
    for (const [evidence, code] of [
      [[config?.frameId ?? ''], 'llm-only-evidence'],
      [readings.slice(0, 3).map((frame) => frame.frameId), 'l1-author-not-permitted'],
    ] as const) {
      server.requests.length = 0
      server.script([
        { toolCall: { name: 'create_proposal', arguments: l1([...evidence]) } },
        { text: 'done' },
      ])
      const answer = await json<AnswerJson>(['ask', 'water zone-2 now', '--url', cc.url], dirs.cc)
      expect(answer.proposals).toEqual([])
      expect(lastToolResult(server.requests[1]!)).toContain(code)
    }
  })

  it('a provider error (HTTP 500) comes back as an error answer; the session is idle and the node healthy', async () => {
    // The server echoes the key in its error body, as some proxies do: it must not travel further.
    const failure = { status: 500, message: `upstream model crashed (key ${SECRET})` }
    server.script([failure, failure, failure])

    const result = await cli(['ask', 'how dry is zone-2?', '--url', cc.url, '--json'], dirs.cc)
    const answer = JSON.parse(result.stdout) as AnswerJson

    expect(answer.error).toMatch(/^provider_error: /)
    expect(answer.error).toContain('500')
    expect(answer.answer).toContain(`pi:${MODEL} failed`)
    expect(answer.proposals).toEqual([])
    expect(await rpcJson(cc.url, dirs.cc, 'planner.status')).toMatchObject({ mode: 'idle', queueDepth: 0 })
    expect((await rpcJson(cc.url, dirs.cc, 'mesh.health')).status).not.toBe('unhealthy')

    // The session takes the next question: the node kept working.
    server.script([{ text: 'Zone 2 is fine.' }])
    const next = await json<AnswerJson>(['ask', 'and now?', '--url', cc.url], dirs.cc)
    expect(next.error).toBeUndefined()
    expect(next.answer).toBe('Zone 2 is fine.')
  })

  it('a provider that never answers times out within --pi-timeout-ms; the session is idle and the node healthy', async () => {
    server.script([{ hang: true }, { hang: true }, { hang: true }])

    const answer = await json<AnswerJson>(['ask', 'status?', '--url', slowCc.url], dirs.slowCc)

    expect(answer.error).toMatch(/^timeout: /)
    expect(answer.answer).toContain('did not answer within 2 s')
    expect(answer.proposals).toEqual([])
    expect(await rpcJson(slowCc.url, dirs.slowCc, 'planner.status')).toMatchObject({
      mode: 'idle',
      queueDepth: 0,
    })
    expect((await rpcJson(slowCc.url, dirs.slowCc, 'mesh.health')).status).not.toBe('unhealthy')
    server.script([{ text: 'Back again.' }])
    expect((await json<AnswerJson>(['ask', 'status?', '--url', slowCc.url], dirs.slowCc)).answer).toBe(
      'Back again.',
    )
  })

  it('the key set with `credential set` appears in no output captured in this file', async () => {
    // What an operator or auditor can look at: status, every world frame, the evidence logs and
    // credential listings, on top of everything the CLI and the three nodes printed so far.
    await Promise.all(
      [
        [cc.url, dirs.cc],
        [field.url, dirs.field],
        [slowCc.url, dirs.slowCc],
      ].map(async ([url, dir]) => {
        const outputs = [
          await cli(['status', '--url', url!, '--events', '--json'], dir!),
          await cli(['evidence', 'list', '--json'], dir!),
          await cli(['credential', 'list', '--json'], dir!),
        ]
        for (const output of outputs) expect(output.code, output.stderr).toBe(0)
        expect(await captureWorld(url!, dir!)).toBeGreaterThan(0)
      }),
    )
    const everything = [...captured, cc.output(), field.output(), slowCc.output()].join('\n')
    // The check itself works: the error answers and the frames were captured.
    expect(everything).toContain('provider_error')
    expect(everything).toContain('agent_response')
    expect(everything).not.toContain(SECRET)
    expect(everything).not.toContain(SECRET.slice(-12))
  })
})
