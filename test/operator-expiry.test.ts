/**
 * An operator is trusted only as long as their certificate: once it expires the command center
 * refuses the operator's RPC on a connection that is still open, refuses new connections from the
 * key (counted), and gossip graylists it (the same trust check). Real processes, a 15 s certificate.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { connectCliClient } from '../node/cli/client-node.ts'
import { cliJson, makeStateDir, type NodeProcess, runCli, startNode, stopAll } from './helpers/processes.ts'

let cc: NodeProcess

beforeAll(async () => {
  cc = await startNode(await makeStateDir('cc'), ['--name', 'command-center', '--role', 'planner'])
})

afterAll(stopAll)

describe('operator certificate expiry', () => {
  it('the command center refuses an operator whose certificate expired, on open and new connections', async () => {
    const operator = await makeStateDir('short-lived-operator')
    const opened = await cliJson<{ code: string }>(
      ['pair', '--url', cc.url, '--operator', 'dora', '--cert-ttl', '0.25'],
      cc.stateDir,
    )
    const joined = await runCli(
      ['pair', 'join', '--url', cc.url, '--code', opened.code, '--operator'],
      operator,
    )
    expect(joined.code).toBe(0)
    const shown = await cliJson<{ certificate: { body: { expiresAt: number } } }>(
      ['operator', 'show'],
      operator,
    )
    const expiresAt = shown.certificate.body.expiresAt
    const trusted = await cliJson<{ peers: Array<{ name?: string; kind?: string; expiresAt?: number }> }>(
      ['trust', 'list'],
      cc.stateDir,
    )
    expect(trusted.peers).toContainEqual(
      expect.objectContaining({ name: 'dora', kind: 'operator', expiresAt }),
    )

    const client = await connectCliClient(cc.url, operator)
    try {
      expect((await client.call('mesh.status', {})).name).toBe('command-center')
      await new Promise((resolve) => setTimeout(resolve, Math.max(0, expiresAt - Date.now()) + 500))
      await expect(client.call('mesh.status', {})).rejects.toMatchObject({ code: 'UNAUTHORIZED' })
    } finally {
      await client.close()
    }
    const again = await runCli(['status', '--url', cc.url], operator)
    expect(again.code).not.toBe(0)
    const admin = await connectCliClient(cc.url, cc.stateDir)
    try {
      const health = await admin.call('mesh.health', {})
      expect(health.counters['connections.refused.operator-expired']).toBeGreaterThan(0)
    } finally {
      await admin.close()
    }
  }, 60_000)
})
