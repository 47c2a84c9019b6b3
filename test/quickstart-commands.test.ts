/**
 * The earlier ClawMesh's quick-start commands, each run as written (issue 21): operators who know
 * them must not hit walls. Real processes; device IDs, ports and secrets are the only substitutions
 * (a test cannot listen on 18789 or reach relay.example.com, and `sha256:ABCDEF...` stands for a
 * full pin). Commands for surfaces not built yet (--telegram, --tui) are not here.
 */
import { afterAll, describe, expect, it } from 'vitest'
import {
  cliJson,
  deviceIdOf,
  makeStateDir,
  type NodeProcess,
  runCli,
  startNode,
  stopAll,
} from './helpers/processes.ts'

afterAll(stopAll)

const PIN = `sha256:${'ab'.repeat(32)}`

async function statusOf(node: NodeProcess): Promise<Record<string, unknown>> {
  return cliJson(['status', '--json', '--url', node.url], node.stateDir)
}

describe('quick-start commands of the earlier ClawMesh', () => {
  it('starts nodes as the guide writes them', async () => {
    const devNode = await startNode(await makeStateDir('dev-node'), [
      '--name',
      'dev-node',
      '--capability',
      'channel:clawmesh',
    ])
    expect(await statusOf(devNode)).toMatchObject({ name: 'dev-node', capabilities: ['channel:clawmesh'] })

    const edge = await startNode(await makeStateDir('edge-a'), [
      '--name',
      'edge-a',
      '--capability',
      'sensor:mock',
    ])
    expect(await statusOf(edge)).toMatchObject({ name: 'edge-a', capabilities: ['sensor:mock'] })

    const relayId = await deviceIdOf(await makeStateDir('relay'))
    const wan = await startNode(await makeStateDir('wan-node'), [
      '--name',
      'wan-node',
      '--no-discovery',
      '--peer',
      `${relayId}=https://relay.example.com/mesh|${PIN}|relay`,
    ])
    expect(await statusOf(wan)).toMatchObject({
      discovery: 'off',
      staticPeers: [{ deviceId: relayId, label: 'relay', tls: 'tls-pinned' }],
    })

    const prod = await startNode(await makeStateDir('ops-main'), [
      '--name',
      'ops-main',
      '--mesh-name',
      'bhoomi-prod',
      '--role',
      'planner',
    ])
    expect(await statusOf(prod)).toMatchObject({ meshName: 'bhoomi-prod', role: 'planner' })
  })

  it('runs the read, trust, gateway and credential commands as written', async () => {
    const dir = await makeStateDir('operator')
    const node = await startNode(dir, ['--name', 'ops-main', '--role', 'planner'])
    const ok = async (args: string[]) => {
      const result = await runCli(args, dir)
      expect(result.code, `clawmesh ${args.join(' ')}: ${result.stderr}`).toBe(0)
      return result.stdout
    }
    expect(await ok(['status', '--url', node.url, '--events'])).toContain('ops-main (planner)')
    await ok(['gateway-connect', '--url', node.url])
    expect(await ok(['gateways'])).toContain(node.url.replace(/^ws:\/\//, ''))
    // With the gateway saved, the bare commands reach the node.
    await ok(['peers'])
    await ok(['world'])
    expect(await ok(['identity'])).toContain(node.deviceId)
    const other = await deviceIdOf(await makeStateDir('other'))
    await ok(['trust', 'add', other])
    expect(await ok(['trust', 'list'])).toContain(other)
    await ok(['trust', 'remove', other])
    expect(await ok(['trust', 'list'])).not.toContain(other)
    await ok(['credential', 'set', 'provider/anthropic', 'sk-ant-test-0000'])
    await ok(['credential', 'set', 'channel/telegram', '123456:test-token'])
    const listed = await ok(['credential', 'list'])
    expect(listed).toContain('provider/anthropic')
    expect(listed).toContain('channel/telegram')
    expect(listed).not.toContain('sk-ant-test-0000')
    // A credential that was never set is reported with the command that sets it.
    const missing = await runCli(['credential', 'get', 'provider/google'], dir)
    expect(missing.stderr).toContain('clawmesh credential set provider/google')
  })
})
