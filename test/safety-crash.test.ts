/**
 * Crash safety of an approved proposal: the actuator is down when the approval arrives, then the
 * command center is killed (-9) while the proposal is executing. After both restart, the proposal
 * resumes and executes exactly once, and its outcome is visible.
 *
 * Then, with the actuator holding each execution between its ledger's `started` record and the
 * device write (the test-only entry test/helpers/held-execution-node.ts): a kill -9 of the command center while
 * the actuator executes (the execution completes once; the restarted command center learns the
 * outcome), and a kill -9 of the actuator itself mid-execution (never re-run after its restart; the
 * proposal fails with the reason, visible in `proposals --json` and in the evidence log).
 */
import { afterAll, describe, expect, it } from 'vitest'
import { connectCliClient } from '../node/cli/client-node.ts'
import { INTERRUPTED_EXECUTION_DETAIL } from '../node/safety/constants.ts'
import { startFarmSite } from './helpers/farm-site.ts'
import { cliJson, runCli, startNode, stopAll, waitFor } from './helpers/processes.ts'

const VALVE = 'actuator:valve:zone-3'
/** Each test starts, kills and restarts several processes; on a shared 2-core machine that alone
 * can take a minute. */
const CRASH_TEST_TIMEOUT_MS = 150_000

afterAll(stopAll)

interface ProposalJson {
  state: string
  reason?: string
  proposal: { id: string }
}

describe('crash safety', () => {
  it(
    'an approved proposal survives an unreachable actuator and a command-center kill -9, and runs once',
    async () => {
      const site = await startFarmSite({ operators: [{ name: 'bob', roles: 'operator' }] })
      const { dirs, ccArgs, fieldArgs } = site
      let { cc: ccNode, field: fieldNode } = site
      await runCli(['operator', 'enroll', '--name', 'alice', '--url', ccNode.url], dirs.cc)
      await waitFor(
        'zone-3 observations at the command center',
        async () => {
          const world = await cliJson<{ frames: unknown[] }>(
            ['world', '--url', ccNode.url, '--zone', 'zone-3', '--kind', 'observation'],
            dirs.cc,
          )
          return world.frames.length > 0 ? true : undefined
        },
        20_000,
      )
      const { proposal } = await cliJson<{ proposal: ProposalJson }>(
        ['propose', VALVE, 'open', '--arg', 'durationSec=200', '--url', ccNode.url],
        dirs.cc,
      )

      // The actuator goes down before the approval arrives.
      const fieldPort = fieldNode.port
      await fieldNode.stop('SIGKILL')
      const approved = await cliJson<{ proposal: ProposalJson }>(
        ['approve', proposal.proposal.id, '--url', ccNode.url],
        dirs.bob,
      )
      expect(approved.proposal.state).toBe('executing')
      await waitFor('the command center to report the actuator unreachable', () =>
        ccNode.output().includes('unreachable') ? true : undefined,
      )

      // The command center dies while the proposal is executing; then both come back.
      const ccPort = ccNode.port
      await ccNode.stop('SIGKILL')
      fieldNode = await startNode(dirs.field, [...fieldArgs, '--port', String(fieldPort)])
      ccNode = await startNode(dirs.cc, [...ccArgs, '--port', String(ccPort)])
      expect(ccNode.output()).toContain(`resuming proposal ${proposal.proposal.id} (executing)`)

      const done = await waitFor(
        'the resumed proposal to complete',
        async () => {
          const { proposals } = await cliJson<{ proposals: ProposalJson[] }>(
            ['proposals', '--url', ccNode.url],
            dirs.cc,
          )
          const record = proposals.find((entry) => entry.proposal.id === proposal.proposal.id)
          return record?.state === 'completed' || record?.state === 'failed' ? record : undefined
        },
        45_000,
      )
      expect(done.state).toBe('completed')
      const evidence = await cliJson<{ entries: Array<{ type: string; data: { proposalId?: string } }> }>(
        ['evidence', 'list'],
        dirs.field,
      )
      const executions = evidence.entries.filter(
        (entry) => entry.type === 'execution' && entry.data.proposalId === proposal.proposal.id,
      )
      expect(executions).toHaveLength(1)
      expect((await runCli(['evidence', 'verify'], dirs.field)).code).toBe(0)
      expect((await runCli(['evidence', 'verify'], dirs.cc)).code).toBe(0)
    },
    CRASH_TEST_TIMEOUT_MS,
  )
})

interface EvidenceJson {
  entries: Array<{
    type: string
    data: { proposalId?: string; hash?: string; reason?: string; previous?: { detail?: string } }
  }>
}

/** A command center and a field node whose executions are held `holdMs` after `started`. */
async function meshWithHeldExecutions(holdMs: number) {
  // Only the field node starts through the test entry that holds executions.
  const site = await startFarmSite({
    operators: [{ name: 'bob', roles: 'operator' }],
    fieldHoldExecutionMs: holdMs,
  })
  await runCli(['operator', 'enroll', '--name', 'alice', '--url', site.cc.url], site.dirs.cc)
  return {
    dirs: site.dirs,
    ccArgs: site.ccArgs,
    fieldArgs: site.fieldArgs,
    ccNode: site.cc,
    fieldNode: site.field,
  }
}

async function proposeAndApprove(
  valve: string,
  zone: string,
  ccUrl: string,
  dirs: { cc: string; bob: string },
) {
  await waitFor(
    `${zone} observations at the command center`,
    async () => {
      const world = await cliJson<{ frames: unknown[] }>(
        ['world', '--url', ccUrl, '--zone', zone, '--kind', 'observation'],
        dirs.cc,
      )
      return world.frames.length > 0 ? true : undefined
    },
    20_000,
  )
  const { proposal } = await cliJson<{ proposal: ProposalJson & { hash: string } }>(
    ['propose', valve, 'open', '--arg', 'durationSec=300', '--url', ccUrl],
    dirs.cc,
  )
  // The approve call answers once the execution ends; here the process it talks to is killed first.
  void runCli(['approve', proposal.proposal.id, '--url', ccUrl], dirs.bob)
  return proposal
}

const proposalState = async (id: string, url: string, dir: string) => {
  const { proposals } = await cliJson<{ proposals: ProposalJson[] }>(['proposals', '--url', url], dir)
  const record = proposals.find((entry) => entry.proposal.id === id)
  return record?.state === 'completed' || record?.state === 'failed' ? record : undefined
}

const valveOpen = async (valve: string, url: string, dir: string) => {
  const client = await connectCliClient(url, dir)
  try {
    const invoked = await client.call('capability.invoke', { capability: valve, operation: 'state' })
    return (invoked.result as { open: boolean }).open
  } finally {
    await client.close()
  }
}

describe('kill -9 during execution', () => {
  it(
    'of the command center: the held execution completes once, and the restarted command center reports it',
    async () => {
      const mesh = await meshWithHeldExecutions(4_000)
      const valve = 'actuator:valve:zone-1'
      const proposal = await proposeAndApprove(valve, 'zone-1', mesh.ccNode.url, mesh.dirs)
      await waitFor('the actuator to hold the execution', () =>
        mesh.fieldNode.output().includes(`holding execution of ${proposal.proposal.id}`) ? true : undefined,
      )
      const ccPort = mesh.ccNode.port
      await mesh.ccNode.stop('SIGKILL')
      await waitFor('the actuator to finish the execution', () =>
        mesh.fieldNode.output().includes(`for proposal ${proposal.proposal.id}: completed`)
          ? true
          : undefined,
      )
      const ccNode = await startNode(mesh.dirs.cc, [...mesh.ccArgs, '--port', String(ccPort)])
      expect(ccNode.output()).toContain(`resuming proposal ${proposal.proposal.id} (executing)`)
      const done = await waitFor(
        'the restarted command center to learn the outcome',
        () => proposalState(proposal.proposal.id, ccNode.url, mesh.dirs.cc),
        45_000,
      )
      expect(done.state).toBe('completed')
      const evidence = await cliJson<EvidenceJson>(['evidence', 'list'], mesh.dirs.field)
      expect(
        evidence.entries.filter(
          (entry) => entry.type === 'execution' && entry.data.proposalId === proposal.proposal.id,
        ),
      ).toHaveLength(1)
      // The resumed dispatch was answered from the ledger, not executed again.
      expect(
        evidence.entries.filter((entry) => entry.type === 'refusal' && entry.data.hash === proposal.hash),
      ).toEqual([expect.objectContaining({ data: expect.objectContaining({ reason: 'replay' }) })])
      expect((await runCli(['evidence', 'verify'], mesh.dirs.field)).code).toBe(0)
      expect((await runCli(['evidence', 'verify'], mesh.dirs.cc)).code).toBe(0)
    },
    CRASH_TEST_TIMEOUT_MS,
  )

  it(
    'of the actuator: never executed after its restart, the proposal fails with the reason, visible in proposals and evidence',
    async () => {
      const mesh = await meshWithHeldExecutions(8_000)
      const valve = 'actuator:valve:zone-2'
      const proposal = await proposeAndApprove(valve, 'zone-2', mesh.ccNode.url, mesh.dirs)
      await waitFor('the actuator to hold the execution', () =>
        mesh.fieldNode.output().includes(`holding execution of ${proposal.proposal.id}`) ? true : undefined,
      )
      const fieldPort = mesh.fieldNode.port
      await mesh.fieldNode.stop('SIGKILL')
      // Restarted without the hold: were the command run again, it would execute at once.
      const fieldNode = await startNode(mesh.dirs.field, [...mesh.fieldArgs, '--port', String(fieldPort)])
      const done = await waitFor(
        'the command center to learn the interrupted outcome',
        () => proposalState(proposal.proposal.id, mesh.ccNode.url, mesh.dirs.cc),
        45_000,
      )
      expect(done).toMatchObject({ state: 'failed', reason: INTERRUPTED_EXECUTION_DETAIL })
      expect(fieldNode.output()).not.toContain(`for proposal ${proposal.proposal.id}`)
      expect(await valveOpen(valve, mesh.ccNode.url, mesh.dirs.cc)).toBe(false)
      const evidence = await cliJson<EvidenceJson>(['evidence', 'list'], mesh.dirs.field)
      expect(
        evidence.entries.filter(
          (entry) => entry.type === 'execution' && entry.data.proposalId === proposal.proposal.id,
        ),
      ).toHaveLength(0)
      expect(
        evidence.entries.find((entry) => entry.type === 'refusal' && entry.data.hash === proposal.hash)?.data
          .previous,
      ).toMatchObject({ detail: INTERRUPTED_EXECUTION_DETAIL })
      expect((await runCli(['evidence', 'verify'], mesh.dirs.field)).code).toBe(0)
    },
    CRASH_TEST_TIMEOUT_MS,
  )
})
