/**
 * The CLI as docs/cli.md promises it, over real processes: usage errors exit 2 (commander's own
 * code is 1), help and the version exit 0, and `start --command-center` is a flag that makes this
 * node the command center, as operators of the earlier ClawMesh wrote it.
 */
import { execFile } from 'node:child_process'
import { promisify } from 'node:util'
import { afterAll, describe, expect, it } from 'vitest'
import { DEMO_FARM_PATH } from '../node/site/site-model.ts'
import { CLAWMESH_VERSION } from '../runtime/version.ts'
import { writeLoadRecorder } from './helpers/load-recorder.ts'
import {
  CLI,
  cliJson,
  makeStateDir,
  runCli,
  startExpectingFailure,
  startNode,
  stopAll,
} from './helpers/processes.ts'

afterAll(stopAll)

describe('clawmesh exit codes', () => {
  it('exits 2 on an unknown option, a missing argument and an excess argument, at any depth', async () => {
    const dir = await makeStateDir('usage')
    for (const args of [
      ['--bogus'],
      ['identity', 'extra'],
      ['trust', 'add'],
      ['trust', 'list', '--nope'],
      [],
    ]) {
      const result = await runCli(args, dir)
      expect(result.code, `clawmesh ${args.join(' ')}`).toBe(2)
    }
  })

  it('exits 0 for help and the version, and prints the version', async () => {
    const dir = await makeStateDir('usage')
    expect((await runCli(['--help'], dir)).code).toBe(0)
    expect((await runCli(['trust', '--help'], dir)).code).toBe(0)
    const version = await runCli(['--version'], dir)
    expect(version.code).toBe(0)
    expect(version.stdout.trim()).toBe(CLAWMESH_VERSION)
  })
})

describe('clawmesh --help', () => {
  // Start-up is most of a short command's time (issue #22): help lists every command from its index
  // and loads none of them, nor the mesh's schemas. A load hook records every module it loads.
  it('loads commander and the command index, not zod, libp2p or the protocol', async () => {
    const recorder = await writeLoadRecorder(await makeStateDir('help-loads'))
    const { stdout } = await promisify(execFile)(process.execPath, ['--import', recorder.hook, CLI, '--help'])
    expect(stdout).toContain('Usage: clawmesh')
    const loaded = (await recorder.loaded()).filter((url) => url.startsWith('file:'))
    expect(loaded.some((url) => url.includes('/node_modules/commander/'))).toBe(true)
    const unwanted = /\/node_modules\/(zod|@libp2p|libp2p)\/|\/protocol\//
    expect(loaded.filter((url) => unwanted.test(url))).toEqual([])
  })
})

describe('clawmesh start --command-center', () => {
  it('runs the command from the earlier guide: a planner command center with a model named', async () => {
    const dir = await makeStateDir('ops-main')
    const node = await startNode(dir, [
      '--name',
      'ops-main',
      '--role',
      'planner',
      '--command-center',
      '--pi-model',
      'anthropic/claude-sonnet-4-5-20250929',
    ])
    const status = await cliJson<{ role: string; name: string }>(['status', '--json', '--url', node.url], dir)
    expect(status).toMatchObject({ name: 'ops-main', role: 'planner' })
    // The text output names the version, the discovery mode and the planner's backend and queue.
    const text = await runCli(['status', '--url', node.url], dir)
    expect(text.stdout).toContain(`version    ${CLAWMESH_VERSION}`)
    expect(text.stdout).toContain('discovery  off; static peers 0')
    expect(text.stdout).toMatch(/planner {4}pi:anthropic\/claude-sonnet-4-5-20250929, \w+, queue 0/)
  })

  it('makes a node of the default role a planner, and still takes device IDs of command centers', async () => {
    const center = await makeStateDir('center')
    const centerId = (await cliJson<{ deviceId: string }>(['identity', '--json'], center)).deviceId
    const dir = await makeStateDir('cc')
    const node = await startNode(dir, ['--name', 'cc', '--command-center', '--command-center-id', centerId])
    const status = await cliJson<{ role: string }>(['status', '--json', '--url', node.url], dir)
    expect(status.role).toBe('planner')
    const field = await makeStateDir('field')
    const older = await startNode(field, [
      '--name',
      'field-9',
      '--role',
      'field',
      '--command-center',
      centerId,
    ])
    expect((await cliJson<{ role: string }>(['status', '--json', '--url', older.url], field)).role).toBe(
      'field',
    )
  })

  it('refuses --command-center with a role that cannot be one, exit 2', async () => {
    const dir = await makeStateDir('bad')
    const result = await startExpectingFailure(dir, ['--name', 'x', '--role', 'field', '--command-center'])
    expect(result.code).toBe(2)
    expect(result.stderr).toContain('--command-center makes this node a command center')
  })
})

describe('clawmesh start --field-node under any name', () => {
  it('serves the demo farm field devices as this node and says so', async () => {
    const dir = await makeStateDir('field-jetson')
    const node = await startNode(dir, [
      '--name',
      'field-jetson',
      '--role',
      'field',
      '--field-node',
      '--mock-sensor',
      '--mock-actuator',
    ])
    expect(node.output()).toContain('the demo farm assigns no devices to "field-jetson"')
    const status = await cliJson<{ capabilities: string[] }>(['status', '--json', '--url', node.url], dir)
    expect(status.capabilities).toEqual(
      expect.arrayContaining(['actuator:valve:zone-1', 'sensor:soil-moisture:zone-1']),
    )
  })

  it('says at start when its site assigns this node nothing to simulate', async () => {
    const dir = await makeStateDir('nobody')
    const node = await startNode(dir, ['--name', 'nobody', '--site', DEMO_FARM_PATH, '--mock-sensor'])
    expect(node.output()).toContain('the site assigns no sensors or actuators to a node named "nobody"')
  })
})
