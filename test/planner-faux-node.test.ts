/**
 * The Pi planner with pi-ai's faux provider (a scripted model that lives in this process) on a real
 * node: the command center runs here through `startClawMeshNode`, its backend injected with the
 * `plannerBackend` start option, over real loopback libp2p to a field node process with mock sensors
 * and actuators. Operator input arrives over RPC (`clawmesh ask`); the scripted model calls
 * `query_world`, then `create_proposal` at L2 citing the frame IDs the tool returned. The proposal
 * awaits approval, cites those frames with their world-model tiers, and the valve stays closed
 * until an operator approves with `clawmesh approve`.
 */
import {
  type Context,
  type FauxProviderRegistration,
  fauxAssistantMessage,
  fauxText,
  fauxToolCall,
  registerFauxProvider,
} from '@mariozechner/pi-ai'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type ClawMeshNode, startClawMeshNode } from '../node/clawmesh-node.ts'
import { parseNodeConfig } from '../node/config.ts'
import { createPiBackend } from '../node/planner/pi/pi-backend.ts'
import { DEMO_FARM_PATH } from '../node/site/site-model.ts'
import {
  AWAITING_RECORDS,
  actuationRecords,
  EXECUTED_RECORDS,
  proposalState,
} from './helpers/actuation-records.ts'
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
  cliJson,
  makeStateDir,
  type NodeProcess,
  runCli,
  startNode,
  stopAll,
  waitFor,
} from './helpers/processes.ts'

const ANSWER = 'Zone 2 reads dry. I proposed opening its valve for 4 minutes; it waits for your approval.'

let faux: FauxProviderRegistration
let cc: ClawMeshNode
let ccUrl: string
let field: NodeProcess
let dirs: { cc: string; field: string; bob: string }
let ids: { cc: string; field: string; bob: string }

/** The text of the newest tool result the model has been given. */
function lastToolResult(context: Context): string {
  const result = context.messages.filter((message) => message.role === 'toolResult').at(-1)
  if (result === undefined) throw new Error('the model has not been given a tool result')
  return result.content.map((part) => (part.type === 'text' ? part.text : '')).join('')
}

beforeAll(async () => {
  faux = registerFauxProvider()
  dirs = {
    cc: await makeStateDir('faux-cc'),
    field: await makeStateDir('faux-field'),
    bob: await makeStateDir('faux-bob'),
  }
  const identityOf = (dir: string) => cliJson<{ deviceId: string; cliKeyId: string }>(['identity'], dir)
  const [ccId, fieldId, bob] = await Promise.all([
    identityOf(dirs.cc),
    identityOf(dirs.field),
    identityOf(dirs.bob),
  ])
  ids = { cc: ccId.deviceId, field: fieldId.deviceId, bob: bob.cliKeyId }
  await runCli(['trust', 'add', ids.field, '--name', 'field-1'], dirs.cc)
  await runCli(['trust', 'add', ids.bob, '--name', 'bob'], dirs.cc)
  await runCli(['trust', 'add', ids.cc, '--name', 'command-center'], dirs.field)
  cc = await startClawMeshNode(
    parseNodeConfig(
      {
        name: 'command-center',
        role: 'planner',
        host: '127.0.0.1',
        port: 0,
        discovery: false,
        site: DEMO_FARM_PATH,
        stateDir: dirs.cc,
      },
      'test',
    ),
    { log: () => {}, plannerBackend: createPiBackend({ model: faux.getModel() }) },
  )
  ccUrl = `ws://127.0.0.1:${cc.listenAddrs()[0]?.split('/')[4]}`
  field = await startNode(dirs.field, [
    '--name',
    'field-1',
    '--field-node',
    '--site',
    DEMO_FARM_PATH,
    '--command-center',
    ids.cc,
    '--peer',
    `${ids.cc}=${ccUrl}`,
  ])
  await issueOperator(ccUrl, dirs.cc, { dir: dirs.bob, keyId: ids.bob, name: 'bob' })
  await waitFor(
    'observations of zone-2 at the command center',
    () => cc.world.query({ kind: 'observation', zone: 'zone-2' }).length > 0 || undefined,
    20_000,
  )
  // Only the leader proposes: wait until the election's start-up grace is over and it leads.
  await waitFor('the command center leading the planners', () => cc.election.isLeader() || undefined, 20_000)
}, 90_000)

afterAll(async () => {
  await stopAll()
  await cc?.stop()
  faux?.unregister()
})

describe('Pi planner with the faux provider on a real node', () => {
  it('queries the world, proposes L2 citing the frames it got, and nothing executes until an operator approves', async () => {
    expect(cc.planner.status()).toMatchObject({
      backend: `pi:${faux.getModel().provider}/${faux.getModel().id}`,
    })
    expect(await valveIsOpen(ccUrl, dirs.cc)).toBe(false)
    let cited: string[] = []
    faux.setResponses([
      fauxAssistantMessage(fauxToolCall('query_world', { ...QUERY_WORLD_ARGS }), { stopReason: 'toolUse' }),
      (context) => {
        cited = frameIdsToCite(lastToolResult(context))
        return fauxAssistantMessage(fauxToolCall('create_proposal', openValveProposal(cited)), {
          stopReason: 'toolUse',
        })
      },
      fauxAssistantMessage(fauxText(ANSWER)),
    ])
    const callsBefore = faux.state.callCount

    const answer = await cliJson<AnswerJson>(['ask', 'open the zone-2 valve', '--url', ccUrl], dirs.cc)

    expect(answer.error).toBeUndefined()
    expect(answer.answer).toBe(ANSWER)
    expect(answer).toMatchObject({ ruleBased: false, answeredBy: ids.cc })
    expect(faux.state.callCount - callsBefore).toBe(3)
    expect(faux.getPendingResponseCount()).toBe(0)
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
    // Exactly the frames query_world returned, each with the tier the world model gives it.
    expect(cited.length).toBeGreaterThan(0)
    expect(record.proposal.evidence.map((ref) => ref.frameId)).toEqual(cited)
    const { frames } = await cliJson<{ frames: FrameJson[] }>(
      ['world', '--url', ccUrl, '--kind', 'observation', '--zone', 'zone-2', '--limit', '500'],
      dirs.cc,
    )
    const tierOf = new Map(frames.map((frame) => [frame.frameId, frame.trust.tier]))
    for (const ref of record.proposal.evidence) expect(ref.tier).toBe(tierOf.get(ref.frameId))
    // The answer went out as an agent_response frame, its reasoning as an inference citing the frames.
    const inference = cc.world
      .query({ kind: 'inference', limit: 20 })
      .find((frame) =>
        cited.every((frameId) => (frame.data as { cites?: string[] }).cites?.includes(frameId)),
      )
    expect(inference).toBeDefined()

    // Nothing executes while it waits. `ask` answers only once the runtime has decided: a proposal
    // its policy allowed would already be approved, dispatched and executed, so the records are final.
    const ref = { hash: record.hash, id: record.proposal.id }
    const recordDirs = { commandCenter: dirs.cc, actuator: dirs.field }
    expect(await actuationRecords(ref, recordDirs)).toEqual(AWAITING_RECORDS)
    expect(cc.world.query({ kind: 'execution' }).length).toBe(0)
    expect(await proposalState(ccUrl, dirs.cc, ref.id)).toBe('awaiting_approval')
    expect(await valveIsOpen(ccUrl, dirs.cc)).toBe(false)

    const approved = await cliJson<{ verdict: string }>(['approve', ref.id, '--url', ccUrl], dirs.bob)
    expect(approved.verdict).toBe('allow')
    await waitFor(
      'the proposal to complete after approval',
      async () => (await proposalState(ccUrl, dirs.cc, ref.id)) === 'completed' || undefined,
    )
    expect(await valveIsOpen(ccUrl, dirs.cc)).toBe(true)
    // The same records now show the move, once: what their silence above meant.
    expect(await actuationRecords(ref, recordDirs)).toEqual(EXECUTED_RECORDS)
    expect(field.output()).toContain(`executed ${VALVE_ZONE_2} open for proposal ${record.proposal.id}`)
  })
})
