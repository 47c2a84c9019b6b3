/**
 * `clawmesh tui` in a real terminal: tmux runs it in an 80×24 pane against a real farm site (a
 * command center and a field node with mock actuators). Alice proposes opening a valve; Bob, in the
 * TUI, selects it, presses `a`, confirms the L2 with `y`, and the valve opens on the field node,
 * as the node reports it. Keys are sent and the screen captured the way a person over SSH would
 * see it (`tmux send-keys`, `tmux capture-pane`).
 */
import { execFile } from 'node:child_process'
import { promisify } from 'node:util'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { connectCliClient } from '../node/cli/client-node.ts'
import { type FarmSite, startFarmSite, waitForZoneObservations } from './helpers/farm-site.ts'
import { CLI, cliJson, makeStateDir, runCli, stopAll, waitFor } from './helpers/processes.ts'

const execFileAsync = promisify(execFile)
const VALVE = 'actuator:valve:zone-2'
/** A tmux server of this test's own, so it never touches anyone's sessions. */
const SOCKET = `clawmesh-tui-${process.pid}`
const SESSION = 'tui'

let site: FarmSite<'bob'>

const tmux = async (...args: string[]) => (await execFileAsync('tmux', ['-L', SOCKET, ...args])).stdout
const screen = (session = SESSION) => tmux('capture-pane', '-p', '-t', session)

async function screenShowing(text: string, session = SESSION): Promise<string> {
  return waitFor(`the TUI to show "${text}"`, async () => {
    const shown = await screen(session)
    return shown.includes(text) ? shown : undefined
  })
}

beforeAll(async () => {
  const version = await execFileAsync('tmux', ['-V']).catch(() => undefined)
  if (version === undefined)
    throw new Error('this test drives a real terminal with tmux: install it (apt-get install tmux)')
  site = await startFarmSite({ operators: [{ name: 'bob', roles: 'operator' }] })
  const enrolled = await runCli(
    ['operator', 'enroll', '--name', 'alice', '--roles', 'operator,admin', '--url', site.cc.url],
    site.dirs.cc,
  )
  expect(enrolled.code).toBe(0)
  await waitForZoneObservations(site, 'zone-2')
}, 90_000)

afterAll(async () => {
  await tmux('kill-server').catch(() => undefined)
  await stopAll()
})

describe('clawmesh tui in tmux', () => {
  it('approves a pending proposal with keys and the valve opens', async () => {
    const created = await cliJson<{ proposal: { proposal: { id: string; level: string } } }>(
      ['propose', VALVE, 'open', '--arg', 'durationSec=300', '--url', site.cc.url],
      site.dirs.cc,
    )
    const { id, level } = created.proposal.proposal
    expect(level).toBe('L2')

    // Ink draws only a final frame when it believes it runs in CI, so the pane runs without CI (and
    // without SSH_CONNECTION, which would change the link approvals claim).
    await tmux(
      'new-session',
      '-d',
      '-s',
      SESSION,
      '-x',
      '80',
      '-y',
      '24',
      `env -u CI -u SSH_CONNECTION CLAWMESH_STATE_DIR='${site.dirs.bob}' '${process.execPath}' '${CLI}' tui --url '${site.cc.url}'; sleep 30`,
    )
    const first = await screenShowing(`L2 open ${VALVE}`)
    expect(first).toContain('command-center (planner)')
    expect(first).toContain('field-1 connected')
    expect(first.split('\n').every((line) => line.length <= 80)).toBe(true)

    await tmux('send-keys', '-t', SESSION, 'a')
    await screenShowing(`Approve L2 open ${VALVE}? y approves`)
    await tmux('send-keys', '-t', SESSION, 'y')
    const decided = await screenShowing(`approval of ${id}: allow`)
    expect(decided).toContain('approval of')

    const client = await connectCliClient(site.cc.url, site.dirs.cc)
    try {
      await waitFor('the valve to open', async () => {
        const { result } = await client.call('capability.invoke', { capability: VALVE, operation: 'state' })
        return (result as { open: boolean }).open ? true : undefined
      })
      const { proposal } = await client.call('proposal.get', { id })
      expect(proposal.approvals.map((approval) => approval.body.operatorCertificate.body.operatorId)).toEqual(
        [site.ids.bob],
      )
    } finally {
      await client.close()
    }

    await tmux('send-keys', '-t', SESSION, 'q')
    await waitFor('the TUI to quit', async () => ((await screen()).includes('L2 open') ? undefined : true))
  })

  it('! then capital Y stops every actuator: the open valve closes and is latched', async () => {
    const client = await connectCliClient(site.cc.url, site.dirs.cc)
    try {
      const valveOpen = async () =>
        (
          (await client.call('capability.invoke', { capability: VALVE, operation: 'state' })).result as {
            open: boolean
          }
        ).open
      expect(await valveOpen()).toBe(true)
      await tmux(
        'new-session',
        '-d',
        '-s',
        'stop',
        '-x',
        '80',
        '-y',
        '24',
        `env -u CI -u SSH_CONNECTION CLAWMESH_STATE_DIR='${site.dirs.bob}' '${process.execPath}' '${CLI}' tui --url '${site.cc.url}'; sleep 30`,
      )
      await screenShowing('field-1 connected', 'stop')
      await tmux('send-keys', '-t', 'stop', '!')
      await screenShowing('EMERGENCY STOP every actuator', 'stop')
      // A lowercase y is not enough for the stop.
      await tmux('send-keys', '-t', 'stop', 'y')
      await screenShowing('? help', 'stop')
      // Had it gone, the message line would say so at once (the stop is sent before any answer).
      expect(await screen('stop')).not.toMatch(/EMERGENCY STOP sent|STOPPED|STOP INCOMPLETE/)
      expect(await valveOpen()).toBe(true)
      await tmux('send-keys', '-t', 'stop', '!')
      await screenShowing('EMERGENCY STOP every actuator', 'stop')
      await tmux('send-keys', '-t', 'stop', 'Y')
      await screenShowing('STOPPED:', 'stop')
      expect(await valveOpen()).toBe(false)
      const { latches } = await cliJson<{ latches: Array<{ capability: string; operatorId: string }> }>(
        ['estop', 'status', '--url', site.field.url],
        site.dirs.field,
      )
      expect(latches).toContainEqual(expect.objectContaining({ capability: VALVE, operatorId: site.ids.bob }))
    } finally {
      await client.close()
    }
  })

  it('start --tui shows the node it starts, and q stops that node', async () => {
    const dir = await makeStateDir('tui-start')
    await tmux(
      'new-session',
      '-d',
      '-s',
      'start',
      '-x',
      '80',
      '-y',
      '24',
      `env -u CI -u SSH_CONNECTION CLAWMESH_STATE_DIR='${dir}' '${process.execPath}' '${CLI}' start --name solo --role planner --port 0 --no-discovery --tui; echo "node exited $?"; sleep 30`,
    )
    const shown = await screenShowing('solo (planner) · mesh clawmesh', 'start')
    // The header also carries the planner's mode (the leader is elected a moment after start).
    expect(shown).toMatch(/planner (idle|thinking) \(rule-based, (leader|follower)\)/)
    await tmux('send-keys', '-t', 'start', 'q')
    await screenShowing('node exited 0', 'start')
    expect(await screen('start')).toContain('stopping solo')
  })
})
