/**
 * `clawmesh demo` as a newcomer runs it: one command starts the relay, the command center (serving
 * the console over HTTPS) and the field node as processes; it prints the console URL and a pairing
 * code; the field node's observations reach the command center's world model; the relay holds
 * reservations over WSS with its own certificate from the demo CA; SIGINT to the demo stops every process it started.
 */
import { execFile, spawn } from 'node:child_process'
import { X509Certificate } from 'node:crypto'
import { readFile } from 'node:fs/promises'
import { request } from 'node:https'
import { join } from 'node:path'
import { connect as connectTls } from 'node:tls'
import { promisify } from 'node:util'
import { afterAll, describe, expect, it } from 'vitest'
import { consoleConfigSchema } from '../protocol/console-config.ts'
import { CLI, cliJson, makeStateDir, waitFor } from './helpers/processes.ts'

const execFileAsync = promisify(execFile)

/** Pids of processes whose command line mentions the demo's (unique, temporary) directory. */
async function processesUsing(dir: string): Promise<number[]> {
  const { stdout } = await execFileAsync('ps', ['-eo', 'pid=,args='])
  return stdout
    .split('\n')
    .filter((line) => line.includes(dir) && !line.includes('ps -eo'))
    .map((line) => Number(line.trim().split(/\s+/)[0]))
}

function getJson(url: string, ca: string): Promise<unknown> {
  return new Promise((resolveGet, reject) => {
    request(url, { ca }, (response) => {
      let body = ''
      response.on('data', (chunk: Buffer) => (body += chunk.toString()))
      response.on('end', () => resolveGet(JSON.parse(body)))
    })
      .on('error', reject)
      .end()
  })
}

/** A TLS handshake with the relay's port: whether the chain verified against `ca` (or the system's
 * roots when undefined) for 127.0.0.1, and the certificate it presented. */
function tlsHandshake(
  port: number,
  ca: string | undefined,
): Promise<{ authorized: boolean; error?: string; certificate?: X509Certificate }> {
  return new Promise((resolveHandshake, reject) => {
    const socket = connectTls(
      { host: '127.0.0.1', port, ...(ca === undefined ? {} : { ca }), rejectUnauthorized: false },
      () => {
        const peer = socket.getPeerX509Certificate()
        resolveHandshake({
          authorized: socket.authorized,
          ...(socket.authorizationError === undefined ? {} : { error: String(socket.authorizationError) }),
          ...(peer === undefined ? {} : { certificate: peer }),
        })
        socket.end()
      },
    )
    socket.on('error', reject)
  })
}

describe('clawmesh demo', () => {
  const started: Array<ReturnType<typeof spawn>> = []
  afterAll(() => {
    for (const child of started) if (child.exitCode === null) child.kill('SIGKILL')
  })

  it('starts relay, command center with console and field node, prints URL and code, and Ctrl-C stops them all', async () => {
    const dir = await makeStateDir('demo')
    const demo = spawn(
      process.execPath,
      [CLI, 'demo', '--dir', dir, '--port', '0', '--https-port', '0', '--no-build'],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    )
    started.push(demo)
    let output = ''
    demo.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()))
    demo.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()))
    const exited = new Promise<number | null>((resolveExit) => demo.once('exit', resolveExit))

    const code = await waitFor(
      'the pairing code',
      () => /pairing code {4}([A-Z0-9]{4}-[A-Z0-9]{4})/.exec(output)?.[1],
      90_000,
    )
    expect(code).toMatch(/^[A-Z0-9]{4}-[A-Z0-9]{4}$/)
    const consoleUrl = /console {9}(https:\/\/localhost:\d+\/)/.exec(output)?.[1]
    expect(consoleUrl, output).toBeDefined()
    const commandCenterDir = join(dir, 'command-center')
    const ca = await readFile(join(commandCenterDir, 'tls', 'ca.crt'), 'utf8')

    // The console server answers over HTTPS trusted through the demo's CA.
    const config = consoleConfigSchema.parse(await getJson(`${consoleUrl}console-config.json`, ca))
    expect(config.siteName).toBe('Demo natural farm')
    // The relay is listed for consoles on WSS (a browser on an HTTPS page may not open ws://), and
    // the field node is reached through it on that address.
    expect(config.relays).toHaveLength(1)
    const relayAddress = config.relays[0] as string
    expect(relayAddress).toMatch(/^\/ip4\/127\.0\.0\.1\/tcp\/\d+\/tls\/ws\/p2p\/12D3KooW\w+$/)
    await waitFor('the field node in console-config', async () => {
      const current = consoleConfigSchema.parse(await getJson(`${consoleUrl}console-config.json`, ca))
      return current.fieldNodes.find((node) => node.name === 'field-1')
    }).then((fieldNode) =>
      expect(fieldNode.addrs[0]?.startsWith(`${relayAddress}/p2p-circuit/webrtc/`)).toBe(true),
    )
    expect(config.iceServers).toEqual([])

    // The relay answers over TLS with its own certificate, trusted through the demo's CA alone and
    // valid for the address consoles are given; it speaks no plain WS.
    const relayPort = Number(/\/tcp\/(\d+)\//.exec(relayAddress)?.[1])
    const relayTls = await tlsHandshake(relayPort, ca)
    expect(relayTls.authorized, relayTls.error).toBe(true)
    const relayCertificate = relayTls.certificate as X509Certificate
    expect(relayCertificate.checkIssued(new X509Certificate(ca))).toBe(true)
    expect(relayCertificate.checkIP('127.0.0.1')).toBe('127.0.0.1')
    const commandCenterCertificate = new X509Certificate(
      await readFile(join(commandCenterDir, 'tls', 'server.crt'), 'utf8'),
    )
    expect(relayCertificate.publicKey.equals(commandCenterCertificate.publicKey)).toBe(false)
    const withoutCa = await tlsHandshake(relayPort, undefined)
    expect(withoutCa.authorized).toBe(false)
    await expect(fetch(`http://127.0.0.1:${relayPort}/`)).rejects.toThrow()

    // The field node's sensor readings reach the command center's world model.
    const url = /command center {2}(ws:\/\/127\.0\.0\.1:\d+)/.exec(output)?.[1] as string
    const world = await waitFor(
      'field observations at the command center',
      async () => {
        const result = await cliJson<{ frames: Array<{ kind: string; originName: string }> }>(
          ['world', '--url', url],
          commandCenterDir,
        )
        return result.frames.some((frame) => frame.kind === 'observation' && frame.originName === 'field-1')
          ? result
          : undefined
      },
      30_000,
    )
    expect(world.frames.length).toBeGreaterThan(0)

    // The relay is up and both nodes hold a reservation on it: they dialled it over WSS, trusting
    // the demo CA (`--ca`).
    const health = /health (http:\/\/\S+)\)/.exec(output)?.[1] as string
    const relay = await waitFor(
      'two relay reservations',
      async () => {
        const body = (await (await fetch(health)).json()) as { status: string; reservations: number }
        return body.reservations >= 2 ? body : undefined
      },
      30_000,
    )
    expect(relay.status).toBe('ok')

    // The command center dialled the relay while it started; it still counts it as a connected
    // member (a connection opened before membership listened is taken in, hello checked).
    const peers = await cliJson<{ peers: Array<{ state: string; kind?: string }> }>(
      ['peers', '--url', url, '--json'],
      commandCenterDir,
    )
    expect(peers.peers.find((peer) => peer.kind === 'relay')?.state).toBe('connected')

    const before = await processesUsing(dir)
    expect(before.length).toBeGreaterThanOrEqual(4)
    demo.kill('SIGINT')
    expect(await exited).toBe(0)
    expect(output).toContain('demo stopped')
    expect(await processesUsing(dir)).toEqual([])
  }, 180_000)
})
