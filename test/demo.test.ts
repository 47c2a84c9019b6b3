/**
 * `clawmesh demo` as a newcomer runs it: one command starts the relay, the command center (serving
 * the console over HTTPS) and the field node as processes; it prints the console URL and a pairing
 * code; the field node's observations reach the command center's world model; the relay holds
 * reservations; SIGINT to the demo stops every process it started.
 */
import { execFile, spawn } from 'node:child_process'
import { readFile } from 'node:fs/promises'
import { request } from 'node:https'
import { join } from 'node:path'
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
    expect(config.relays).toHaveLength(1)

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

    // The relay is up and both nodes hold a reservation on it.
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
