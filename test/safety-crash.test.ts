/**
 * Crash safety of an approved proposal: the actuator is down when the approval arrives, then the
 * command center is killed (-9) while the proposal is executing. After both restart, the proposal
 * resumes and executes exactly once, and its outcome is visible.
 */
import { writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { DEMO_FARM_PATH } from '../node/site/site-model.ts'
import { cliJson, makeStateDir, runCli, startNode, stopAll, waitFor } from './helpers/processes.ts'

const VALVE = 'actuator:valve:zone-3'

afterAll(stopAll)

interface ProposalJson {
  state: string
  reason?: string
  proposal: { id: string }
}

describe('crash safety', () => {
  it('an approved proposal survives an unreachable actuator and a command-center kill -9, and runs once', async () => {
    const dirs = {
      cc: await makeStateDir('cc'),
      field: await makeStateDir('field'),
      bob: await makeStateDir('bob'),
    }
    const identity = (dir: string) => cliJson<{ deviceId: string; cliKeyId: string }>(['identity'], dir)
    const [cc, field, bob] = await Promise.all([identity(dirs.cc), identity(dirs.field), identity(dirs.bob)])
    await runCli(['trust', 'add', field.deviceId], dirs.cc)
    await runCli(['trust', 'add', bob.cliKeyId], dirs.cc)
    await runCli(['trust', 'add', cc.deviceId], dirs.field)
    const ccArgs = ['--name', 'command-center', '--role', 'planner', '--site', DEMO_FARM_PATH]
    let ccNode = await startNode(dirs.cc, ccArgs)
    const fieldArgs = [
      '--name',
      'field-1',
      '--field-node',
      '--command-center',
      cc.deviceId,
      '--peer',
      `${cc.deviceId}=${ccNode.url}`,
    ]
    let fieldNode = await startNode(dirs.field, fieldArgs)
    await runCli(['operator', 'enroll', '--name', 'alice', '--url', ccNode.url], dirs.cc)
    const issued = await runCli(
      ['operator', 'issue', bob.cliKeyId, '--name', 'bob', '--url', ccNode.url],
      dirs.cc,
    )
    await writeFile(join(dirs.bob, 'cert.json'), issued.stdout)
    await runCli(['operator', 'import', join(dirs.bob, 'cert.json')], dirs.bob)
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
  })
})
