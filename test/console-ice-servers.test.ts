/**
 * TURN credentials go to paired operators only, with a real command center process configured with
 * a STUN and a TURN server: `/console-config.json`, which anyone who reaches the console port can
 * load, carries the STUN URL and no TURN server or credential; an operator paired with the command
 * center gets the full list over its Noise-authenticated link (`console.iceServers`); a trusted key
 * that is not an operator is refused.
 */
import { readFile } from 'node:fs/promises'
import { request } from 'node:https'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { connectCliClient } from '../node/cli/client-node.ts'
import { consoleConfigSchema } from '../protocol/console-config.ts'
import type { MeshHealth } from '../protocol/rpc/methods.ts'
import {
  cliJson,
  makeStateDir,
  type NodeProcess,
  runCli,
  startNodeFromConfig,
  stopAll,
  waitFor,
} from './helpers/processes.ts'

const STUN = 'stun:stun.farm.example:3478'
const TURN = { urls: ['turn:turn.farm.example:3478'], username: 'console-user', credential: 'turn-s3cret' }

let cc: NodeProcess
let consolePort: number
let caPem: string
/** A state dir whose CLI key the command center trusts as a plain device, not an operator. */
let deviceDir: string

function getText(port: number, path: string, ca: string): Promise<{ status: number; body: string }> {
  return new Promise((resolveGet, reject) => {
    const req = request({ host: '127.0.0.1', servername: 'localhost', port, path, ca }, (res) => {
      let body = ''
      res.on('data', (chunk: Buffer) => (body += chunk.toString()))
      res.on('end', () => resolveGet({ status: res.statusCode ?? 0, body }))
    })
    req.on('error', reject)
    req.end()
  })
}

beforeAll(async () => {
  const dir = await makeStateDir('ice-cc')
  deviceDir = await makeStateDir('ice-device')
  const deviceCliKey = (await cliJson<{ cliKeyId: string }>(['identity'], deviceDir)).cliKeyId
  expect((await runCli(['trust', 'add', deviceCliKey, '--name', 'a-device'], dir)).code).toBe(0)
  cc = await startNodeFromConfig(dir, {
    name: 'command-center',
    role: 'planner',
    tls: 'on',
    httpsPort: 0,
    iceServers: [STUN, TURN],
  })
  consolePort = await waitFor('the console line', () => {
    const port = /console {4}https:\/\/[^:]+:(\d+)\//.exec(cc.output())?.[1]
    return port === undefined ? undefined : Number(port)
  })
  caPem = await readFile(join(dir, 'tls', 'ca.crt'), 'utf8')
}, 60_000)

afterAll(stopAll)

describe('ICE servers for consoles', () => {
  it('console-config.json, served before pairing, holds the STUN URL and no TURN server or credential', async () => {
    const response = await getText(consolePort, '/console-config.json', caPem)
    expect(response.status).toBe(200)
    expect(consoleConfigSchema.parse(JSON.parse(response.body)).iceServers).toEqual([{ urls: [STUN] }])
    for (const secret of ['turn:', TURN.username, TURN.credential, 'credential', 'username'])
      expect(response.body).not.toContain(secret)
  })

  it('a paired operator gets the TURN credentials over its authenticated link; a trusted device key is refused', async () => {
    const carol = await makeStateDir('ice-carol')
    const { code } = await cliJson<{ code: string }>(
      ['pair', '--url', cc.url, '--operator', 'carol', '--roles', 'operator', '--no-qr'],
      cc.stateDir,
    )
    const joined = await runCli(['pair', 'join', '--url', cc.url, '--code', code, '--operator'], carol)
    expect(joined.code, joined.stderr).toBe(0)
    const operator = await connectCliClient(cc.url, carol)
    try {
      expect(await operator.call('console.iceServers', {})).toEqual({ iceServers: [{ urls: [STUN] }, TURN] })
    } finally {
      await operator.close()
    }

    const notOperator = await connectCliClient(cc.url, deviceDir)
    try {
      await expect(notOperator.call('console.iceServers', {})).rejects.toMatchObject({ code: 'FORBIDDEN' })
    } finally {
      await notOperator.close()
    }
    const { health } = await cliJson<{ health: MeshHealth }>(['status', '--url', cc.url], cc.stateDir)
    expect(health.counters['rpc.refused.FORBIDDEN']).toBe(1)
  })
})
