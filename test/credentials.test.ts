/**
 * `clawmesh credential` through the real CLI process, and the key in use by a started planner node
 * against a fake OpenAI-compatible server: the file is 0600, values are printed only by
 * `get --reveal`, and the secret appears in no other output captured here — `set`, `list`, `get`,
 * `delete`, the `start` log with the credential in use, and the error the planner returns when the
 * server rejects (and echoes) the key.
 */
import { spawn } from 'node:child_process'
import { readFile, stat } from 'node:fs/promises'
import { join } from 'node:path'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { CredentialStore } from '../node/credentials/credential-store.ts'
import { piBackendFromConfig } from '../node/planner/pi/from-config.ts'
import { type FakeOpenAiServer, startFakeOpenAiServer } from './helpers/fake-openai-server.ts'
import { CLI, type CliResult, makeStateDir, runCli, startNode, stopAll } from './helpers/processes.ts'
import { recordingTools } from './helpers/recording-planner-tools.ts'

const SECRET = 'sk-local-Zq7Wm3Rt9Yp2Lx8Kv4Nb6Hd1'
const captured: string[] = []

function capture(result: CliResult): CliResult {
  captured.push(result.stdout, result.stderr)
  return result
}

/** Runs the CLI with `input` piped to stdin (how `credential set NAME` reads a secret). */
async function runCliWithInput(args: string[], stateDir: string, input: string): Promise<CliResult> {
  const child = spawn(process.execPath, [CLI, ...args], {
    env: { ...process.env, CLAWMESH_STATE_DIR: stateDir },
    stdio: ['pipe', 'pipe', 'pipe'],
  })
  let stdout = ''
  let stderr = ''
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()))
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()))
  child.stdin.end(input)
  const code = await new Promise<number>((resolve) => child.once('exit', (exit) => resolve(exit ?? 1)))
  return { code, stdout, stderr }
}

let server: FakeOpenAiServer

beforeAll(async () => {
  server = await startFakeOpenAiServer()
})
afterEach(async () => {
  await stopAll()
})
afterAll(async () => {
  await server.close()
  // The secret never appears in anything a person saw during these tests (the one `--reveal`
  // output, which exists to print it, is not captured here).
  for (const output of captured) expect(output).not.toContain(SECRET)
})

describe('clawmesh credential', () => {
  it('set (from stdin) / get / list / delete through the CLI, file mode 0600', async () => {
    const dir = await makeStateDir('credentials')
    const set = capture(await runCliWithInput(['credential', 'set', 'local/api-key'], dir, `${SECRET}\n`))
    expect(set.code).toBe(0)
    expect(set.stdout).toContain(`stored local/api-key (${SECRET.length} characters)`)

    const path = join(dir, 'credentials.json')
    expect((await stat(path)).mode & 0o777).toBe(0o600)
    expect(await readFile(path, 'utf8')).toContain(SECRET)

    const list = capture(await runCli(['credential', 'list'], dir))
    expect(list.code).toBe(0)
    expect(list.stdout).toMatch(new RegExp(`local/api-key\\s+\\S+\\s+${SECRET.length} chars`))
    const listJson = capture(await runCli(['credential', 'list', '--json'], dir))
    expect(JSON.parse(listJson.stdout)).toEqual({
      credentials: [{ name: 'local/api-key', setAt: expect.any(String), length: SECRET.length }],
    })

    const get = capture(await runCli(['credential', 'get', 'local/api-key'], dir))
    expect(get.stdout).toContain(`local/api-key is set (${SECRET.length} characters`)
    const reveal = await runCli(['credential', 'get', 'local/api-key', '--reveal'], dir)
    expect(reveal.stdout).toBe(`${SECRET}\n`)

    const bad = capture(await runCli(['credential', 'set', 'Not A Name', SECRET], dir))
    expect(bad.code).toBe(2)
    expect(bad.stderr).toContain('is not a credential name')

    const removed = capture(await runCli(['credential', 'delete', 'local/api-key'], dir))
    expect(removed.stdout).toContain('deleted local/api-key')
    const missing = capture(await runCli(['credential', 'get', 'local/api-key'], dir))
    expect(missing.code).toBe(2)
    expect(missing.stderr).toContain('clawmesh credential set local/api-key')
    expect(await readFile(path, 'utf8')).not.toContain(SECRET)
  })

  it('a planner node names the credential it uses, never its value, and a rejected key stays hidden', async () => {
    const dir = await makeStateDir('planner-key')
    capture(await runCli(['credential', 'set', 'local/api-key', SECRET], dir))
    const node = await startNode(dir, [
      '--name',
      'planner',
      '--role',
      'planner',
      '--pi-model',
      'local/qwen-test',
      '--pi-base-url',
      server.baseUrl,
    ])
    const log = node.output()
    captured.push(log)
    expect(log).toContain(
      `planner model  pi:local/qwen-test at ${server.baseUrl} (key from credential local/api-key)`,
    )
    await node.stop()
    captured.push(node.output())

    // The backend the node's planner builds from the same configuration and store, against a
    // server that rejects the key and echoes it back in its error.
    server.script([{ status: 401, message: `Incorrect API key provided: ${SECRET}` }])
    const credentials = await CredentialStore.open(join(dir, 'credentials.json'))
    const backend = piBackendFromConfig(
      { piModel: 'local/qwen-test', piBaseUrl: server.baseUrl },
      credentials,
    )
    const reply = await backend!.respond(
      {
        text: 'status?',
        trigger: 'operator',
        signal: new AbortController().signal,
        onToolStart: () => {},
        onToolEnd: () => {},
      },
      recordingTools(),
    )
    expect(server.requests.at(-1)?.authorization).toBe(`Bearer ${SECRET}`)
    expect(reply.error).toMatch(/^provider_error: 401/)
    captured.push(JSON.stringify(reply))
  })

  it('start refuses a local model without a base URL, with a message that says what to give', async () => {
    const dir = await makeStateDir('planner-bad')
    const result = capture(
      await runCli(['start', '--name', 'p', '--no-discovery', '--port', '0', '--pi-model', 'local/x'], dir),
    )
    expect(result.code).toBe(2)
    expect(result.stderr).toContain('--pi-base-url')
  })
})
