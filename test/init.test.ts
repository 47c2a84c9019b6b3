/**
 * `clawmesh init` over real processes: a command center and a field node set up with one command
 * each (the field node pairing with the code the command center showed), then run from the files
 * init wrote; the field node obeys the command center it paired with and the mesh forms.
 */
import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { cliJson, makeStateDir, runCli, startNodeFromConfig, stopAll, waitFor } from './helpers/processes.ts'

afterAll(stopAll)

/** Loopback, a free port, no mDNS: what a test must change in a file written for a real site. */
const ON_LOOPBACK = { host: '127.0.0.1', port: 0, discovery: false }

async function writtenConfig(stateDir: string): Promise<Record<string, unknown>> {
  return JSON.parse(await readFile(join(stateDir, 'node.json'), 'utf8')) as Record<string, unknown>
}

describe('clawmesh init', () => {
  it('sets up a command center and a paired field node that then find each other', async () => {
    const ccDir = await makeStateDir('init-cc')
    const made = await runCli(
      ['init', '--command-center', '--name', 'ops-main', '--mesh-name', 'farm-a'],
      ccDir,
    )
    expect(made.code, made.stderr).toBe(0)
    expect(made.stdout).toContain('clawmesh-node --config')
    const ccConfig = await writtenConfig(ccDir)
    expect(ccConfig).toMatchObject({ name: 'ops-main', role: 'planner', meshName: 'farm-a' })
    const cc = await startNodeFromConfig(ccDir, { ...ccConfig, ...ON_LOOPBACK })

    const { code } = await cliJson<{ code: string }>(['pair', '--url', cc.url, '--json'], ccDir)
    const fieldDir = await makeStateDir('init-field')
    const joined = await runCli(
      ['init', '--field-node', '--name', 'field-1', '--mock', '--join', cc.url, '--code', code],
      fieldDir,
    )
    expect(joined.code, joined.stderr).toBe(0)
    expect(joined.stdout).toContain(`paired with ops-main (${cc.deviceId}) in mesh farm-a`)
    const fieldConfig = await writtenConfig(fieldDir)
    expect(fieldConfig).toMatchObject({
      name: 'field-1',
      role: 'field',
      meshName: 'farm-a',
      commandCenters: [cc.deviceId],
      peers: [`${cc.deviceId}=${cc.url}`],
      mockSensor: true,
      mockActuator: true,
    })
    const field = await startNodeFromConfig(fieldDir, { ...fieldConfig, ...ON_LOOPBACK })
    await waitFor('field-1 up at the command center', async () => {
      const peers = await cliJson<{ peers: Array<{ deviceId: string; state: string }> }>(
        ['peers', '--json', '--url', cc.url],
        ccDir,
      )
      return peers.peers.some((peer) => peer.deviceId === field.deviceId && peer.state === 'connected')
        ? true
        : undefined
    })
  })

  it('refuses to overwrite a configuration, and a command center that would join, with exit 2', async () => {
    const dir = await makeStateDir('init-twice')
    expect((await runCli(['init', '--command-center', '--name', 'a'], dir)).code).toBe(0)
    const again = await runCli(['init', '--command-center', '--name', 'b'], dir)
    expect(again.code).toBe(2)
    expect(again.stderr).toContain('pass --force to overwrite it')
    expect(await writtenConfig(dir)).toMatchObject({ name: 'a' })
    const joining = await runCli(
      [
        'init',
        '--command-center',
        '--name',
        'c',
        '--join',
        'ws://127.0.0.1:1',
        '--code',
        'AAAA-AAAA',
        '--force',
      ],
      dir,
    )
    expect(joining.code).toBe(2)
    expect((await runCli(['init', '--name', 'x'], await makeStateDir('init-none'))).code).toBe(2)
  })
})
