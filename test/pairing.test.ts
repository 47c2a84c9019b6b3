/**
 * Pairing with a one-time code over the Noise-secured stream, between real processes: a device joins
 * and both sides trust each other; an operator joins and receives a certificate; wrong, reused and
 * brute-forced codes are refused; while a window is open an unknown key still gets no RPC.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { connectCliClient } from '../node/cli/client-node.ts'
import { cliJson, makeStateDir, type NodeProcess, runCli, startNode, stopAll } from './helpers/processes.ts'

let cc: NodeProcess

beforeAll(async () => {
  cc = await startNode(await makeStateDir('cc'), ['--name', 'command-center', '--role', 'planner'])
})

afterAll(stopAll)

const openWindow = async (args: string[] = []) =>
  (await cliJson<{ code: string; deviceId: string }>(['pair', '--url', cc.url, ...args], cc.stateDir)).code

describe('pairing', () => {
  it('a device joins with the code; both sides trust each other; the code works once', async () => {
    const joiner = await makeStateDir('joiner')
    const joinerId = (await cliJson<{ deviceId: string }>(['identity'], joiner)).deviceId
    const code = await openWindow()

    // While the window is open, an unknown key gets connected but no RPC.
    const stranger = await connectCliClient(cc.url, joiner).catch((error: Error) => error)
    if (!(stranger instanceof Error)) {
      await expect(stranger.call('mesh.status', {})).rejects.toMatchObject({ code: 'UNAUTHORIZED' })
      await stranger.close()
    }

    const wrong = await runCli(['pair', 'join', '--url', cc.url, '--code', 'AAAA-AAAA'], joiner)
    expect(wrong.code).toBe(2)
    expect(wrong.stderr).toContain('pairing refused (wrong-code)')
    const joined = await runCli(
      ['pair', 'join', '--url', cc.url, '--code', code, '--name', 'field-7'],
      joiner,
    )
    expect(joined.code).toBe(0)
    expect(joined.stdout).toContain('paired with command-center')
    const ccTrust = await cliJson<{ peers: Array<{ deviceId: string; name?: string }> }>(
      ['trust', 'list'],
      cc.stateDir,
    )
    expect(ccTrust.peers).toContainEqual(expect.objectContaining({ deviceId: joinerId, name: 'field-7' }))
    const joinerTrust = await cliJson<{ peers: Array<{ deviceId: string }> }>(['trust', 'list'], joiner)
    expect(joinerTrust.peers.map((peer) => peer.deviceId)).toContain(cc.deviceId)

    const reused = await runCli(['pair', 'join', '--url', cc.url, '--code', code], await makeStateDir('late'))
    // A used window is closed: the command center no longer admits unknown keys at all.
    expect(reused.code).toBe(1)
    expect(reused.stderr).toContain('Is a pairing window open?')
  })

  it('an operator joins and receives a certificate signed by the command center', async () => {
    const carol = await makeStateDir('carol')
    const code = await openWindow(['--operator', 'carol', '--roles', 'operator'])
    expect((await runCli(['pair', 'join', '--url', cc.url, '--code', code, '--operator'], carol)).code).toBe(
      0,
    )
    const shown = await cliJson<{
      operatorId: string
      certificate: { body: { displayName: string; roles: string[]; issuerId: string } }
    }>(['operator', 'show'], carol)
    expect(shown.certificate.body).toMatchObject({
      displayName: 'carol',
      roles: ['operator'],
      issuerId: cc.deviceId,
    })
    // Carol's CLI key is now trusted by the command center, so she can reach it.
    expect((await runCli(['status', '--url', cc.url], carol)).code).toBe(0)
  })

  it("a stranger's five wrong codes lock out the stranger, not the admin's code", async () => {
    const code = await openWindow()
    const guesser = await makeStateDir('guesser')
    for (let attempt = 0; attempt < 5; attempt++) {
      const wrong = await runCli(['pair', 'join', '--url', cc.url, '--code', `WRNG-000${attempt}`], guesser)
      expect(wrong.stderr).toContain('pairing refused (wrong-code)')
    }
    // Over its limit, the guessing key is refused even with the right code…
    const late = await runCli(['pair', 'join', '--url', cc.url, '--code', code], guesser)
    expect(late.code).toBe(2)
    expect(late.stderr).toContain('pairing refused (peer-too-many-attempts)')
    // …while the real device, with its own key, still pairs with the admin's code.
    const device = await makeStateDir('real-device')
    const joined = await runCli(
      ['pair', 'join', '--url', cc.url, '--code', code, '--name', 'field-9'],
      device,
    )
    expect(joined.code).toBe(0)
    const health = (
      await cliJson<{ health: { counters: Record<string, number> } }>(
        ['status', '--url', cc.url],
        cc.stateDir,
      )
    ).health
    expect(health.counters['pairing.refused.wrong-code']).toBeGreaterThanOrEqual(5)
    expect(health.counters['pairing.refused.peer-too-many-attempts']).toBe(1)
  })
})
