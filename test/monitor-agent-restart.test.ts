/**
 * The monitor agent survives a restart: a real command center (planner, host operations) is given
 * `monitor-agent 5s`, stopped with SIGTERM and started again on the same state dir; it resumes the
 * agent from host-ops/monitor-agent.json and runs it, without being asked again. `monitor-agent off`
 * removes the file, and the next start leaves the agent off.
 */
import { readFile, stat } from 'node:fs/promises'
import { afterAll, expect, it } from 'vitest'
import { monitorAgentStatePath } from '../node/host-ops/fleet-surface.ts'
import {
  cliJson,
  makeStateDir,
  type NodeProcess,
  startNode,
  stopAll,
  waitFor,
  waitForPlannerLead,
} from './helpers/processes.ts'

const ARGS = ['--name', 'command-center', '--role', 'planner', '--host-ops']
/** The shortest interval allowed, and long enough for a few runs under a loaded machine. */
const INTERVAL_MS = 5_000
const RUN_WAIT_MS = 40_000

interface AgentStatus {
  running: boolean
  intervalMs?: number
  leading: boolean
  runs: number
}

const agent = (node: NodeProcess, arg: string) =>
  cliJson<AgentStatus>(['monitor-agent', arg, '--url', node.url], node.stateDir)

afterAll(async () => {
  await stopAll()
})

it('resumes the monitor agent after a restart, and stays off once turned off', async () => {
  const dir = await makeStateDir('monitor-restart')
  let node = await startNode(dir, ARGS)
  await waitForPlannerLead(node, dir)
  expect(await agent(node, '5s')).toMatchObject({ running: true, intervalMs: INTERVAL_MS })
  expect(JSON.parse(await readFile(monitorAgentStatePath(dir), 'utf8'))).toMatchObject({
    version: 1,
    intervalMs: INTERVAL_MS,
  })
  expect(await node.stop()).toBe(0)

  // Guard: start() reads the saved interval; without it the agent would be off here (runs 0).
  node = await startNode(dir, ARGS)
  expect(await agent(node, 'status')).toMatchObject({ running: true, intervalMs: INTERVAL_MS, runs: 0 })
  expect(node.output()).toContain('monitor agent resumed')
  await waitForPlannerLead(node, dir)
  await waitFor(
    'a monitor run after the restart',
    async () => ((await agent(node, 'status')).runs >= 1 ? true : undefined),
    RUN_WAIT_MS,
  )

  expect(await agent(node, 'off')).toMatchObject({ running: false })
  await expect(stat(monitorAgentStatePath(dir))).rejects.toMatchObject({ code: 'ENOENT' })
  expect(await node.stop()).toBe(0)
  node = await startNode(dir, ARGS)
  expect(await agent(node, 'status')).toMatchObject({ running: false, runs: 0 })
}, 150_000)
