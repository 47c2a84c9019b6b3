/**
 * Identity and trust survive restarts, and a damaged state file stops the node with a clear error
 * instead of being silently replaced.
 */
import { readFile, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import {
  deviceIdOf,
  makeStateDir,
  runCli,
  startExpectingFailure,
  startNode,
  stopAll,
} from './helpers/processes.ts'

afterAll(stopAll)

describe('state persistence', () => {
  it('a restarted node keeps its device ID and its identity file is private', async () => {
    const dir = await makeStateDir('restart')
    const first = await startNode(dir, ['--name', 'n'])
    expect(await first.stop()).toBe(0)
    const second = await startNode(dir, ['--name', 'n'])
    expect(second.deviceId).toBe(first.deviceId)
    const { stat } = await import('node:fs/promises')
    expect((await stat(join(dir, 'identity', 'device.json'))).mode & 0o777).toBe(0o600)
  })

  it('a corrupt device.json is a clear startup error and is not overwritten', async () => {
    const dir = await makeStateDir('corrupt-id')
    await deviceIdOf(dir)
    const path = join(dir, 'identity', 'device.json')
    await writeFile(path, '{"version":1,"type":"Ed25519","deviceId":"12D3KooW')
    const result = await startExpectingFailure(dir, ['--name', 'n'])
    expect(result.code).toBe(1)
    expect(result.stderr).toContain(`device identity at ${path} is not valid JSON`)
    expect(await readFile(path, 'utf8')).toBe('{"version":1,"type":"Ed25519","deviceId":"12D3KooW')
  })

  it('a device.json whose key does not match its recorded ID is refused', async () => {
    const [dir, otherDir] = await Promise.all([makeStateDir('mismatch'), makeStateDir('other')])
    await deviceIdOf(dir)
    const otherId = await deviceIdOf(otherDir)
    const path = join(dir, 'identity', 'device.json')
    const file = JSON.parse(await readFile(path, 'utf8'))
    await writeFile(path, JSON.stringify({ ...file, deviceId: otherId }))
    const result = await startExpectingFailure(dir, ['--name', 'n'])
    expect(result.code).toBe(1)
    expect(result.stderr).toContain(`records ID ${otherId} but its key belongs to`)
  })

  it('a corrupt trusted-peers.json is a clear error for the node and the CLI, and is not overwritten', async () => {
    const dir = await makeStateDir('corrupt-trust')
    const peer = await deviceIdOf(await makeStateDir('peer'))
    expect((await runCli(['trust', 'add', peer], dir)).code).toBe(0)
    const path = join(dir, 'mesh', 'trusted-peers.json')
    const broken = (await readFile(path, 'utf8')).replace(peer, 'not-a-device-id')
    await writeFile(path, broken)
    const start = await startExpectingFailure(dir, ['--name', 'n'])
    expect(start.code).toBe(1)
    expect(start.stderr).toContain(`trust store at ${path} is invalid (peers.0.deviceId`)
    const add = await runCli(['trust', 'add', peer], dir)
    expect(add.code).toBe(1)
    expect(await readFile(path, 'utf8')).toBe(broken)
  })

  it('trust list/remove round-trip and an invalid device ID is refused with a clear message', async () => {
    const dir = await makeStateDir('trust-cli')
    const peer = await deviceIdOf(await makeStateDir('peer'))
    await runCli(['trust', 'add', peer, '--name', 'pump-house'], dir)
    const listed = JSON.parse((await runCli(['trust', 'list', '--json'], dir)).stdout)
    expect(listed.peers).toEqual([expect.objectContaining({ deviceId: peer, name: 'pump-house' })])
    expect((await runCli(['trust', 'remove', peer], dir)).stdout).toContain('removed')
    expect(JSON.parse((await runCli(['trust', 'list', '--json'], dir)).stdout).peers).toEqual([])
    const invalid = await runCli(['trust', 'add', '12D3KooWnotreally'], dir)
    expect(invalid.code).toBe(2)
    expect(invalid.stderr).toContain('is not a device ID')
  })

  it('an unknown start flag is an error, never ignored', async () => {
    const result = await startExpectingFailure(await makeStateDir('flags'), ['--name', 'n', '--no-such-flag'])
    expect(result.code).not.toBe(0)
    expect(result.stderr).toContain("unknown option '--no-such-flag'")
  })
})
