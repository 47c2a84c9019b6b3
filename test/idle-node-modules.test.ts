/**
 * What an idle node loads (docs/memory.md): a plain `clawmesh start` (no relay, no Telegram, no TLS,
 * no console) must not load the WebRTC transport, grammy, the X.509 issuing stack or the console
 * server — each is loaded only when configured. A real node process, with a module hook
 * (module.registerHooks) recording every module it loads; the test fails when one of those imports
 * is made eager again (the guards: the dynamic imports in create-node-libp2p.ts, open-telegram.ts,
 * tls-material.ts and serve-console.ts), and reports RSS at ready. The same node shows the memory
 * levers of bin/memory-levers.js: the launcher relaunched it in place (same PID) with a 1 MiB young
 * generation and two malloc arenas.
 */
import { type ChildProcessByStdio, spawn } from 'node:child_process'
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { delimiter, dirname, join, resolve } from 'node:path'
import type { Readable } from 'node:stream'
import { afterAll, expect, it } from 'vitest'

const root = resolve(import.meta.dirname, '..')
const dirs: string[] = []
afterAll(async () => {
  for (const dir of dirs) await rm(dir, { recursive: true, force: true })
})

/** Resolves when node process `child` prints its WebSocket listening address; rejects if it exits. */
function untilListening(child: ChildProcessByStdio<null, Readable, null>): Promise<void> {
  return new Promise<void>((resolveReady, reject) => {
    let output = ''
    child.stdout.on('data', (chunk: Buffer) => {
      output += chunk.toString()
      if (/listening\s+\/ip4\/127\.0\.0\.1\/tcp\/\d+\/ws/.test(output)) resolveReady()
    })
    child.once('exit', (code) => reject(new Error(`node exited ${code}: ${output}`)))
  })
}

/** Module paths an idle node must not load, and the configuration that would load each. */
const LAZY_MODULES = [
  ['@libp2p/webrtc/', '--relay'],
  ['node-datachannel', '--relay'],
  ['/grammy/', '--telegram'],
  ['@peculiar/x509', 'clawmesh cert / --tls on'],
  ['node/console/console-server.ts', 'TLS on a command center'],
  ['node/telegram/telegram-surface.ts', '--telegram'],
] as const

it('an idle node without relay, Telegram or TLS loads none of their modules', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'clawmesh-idle-modules-'))
  dirs.push(dir)
  const log = join(dir, 'modules.txt')
  const hook = join(dir, 'hook.mjs')
  await writeFile(
    hook,
    `import module from 'node:module'
import { appendFileSync } from 'node:fs'
module.registerHooks({ load(url, context, next) { appendFileSync(${JSON.stringify(log)}, url + '\\n'); return next(url, context) } })
`,
  )
  const child = spawn(
    process.execPath,
    [
      '--import',
      hook,
      join(root, 'bin/clawmesh.js'),
      'start',
      '--name',
      'idle',
      '--host',
      '127.0.0.1',
      '--port',
      '0',
    ],
    { env: { ...process.env, CLAWMESH_STATE_DIR: join(dir, 'state') }, stdio: ['ignore', 'pipe', 'inherit'] },
  )
  try {
    await untilListening(child)
    const status = await readFile(`/proc/${child.pid}/status`, 'utf8').catch(() => '')
    const rssKiB = Number(/VmRSS:\s+(\d+) kB/.exec(status)?.[1] ?? Number.NaN)
    console.log(`idle node RSS at ready: ${(rssKiB / 1024).toFixed(1)} MiB`)
    // Pins the relaunch of `clawmesh start` (bin/clawmesh.js → relaunchWithMemoryLevers): the process
    // spawned is the node, now running with both levers.
    const commandLine = (await readFile(`/proc/${child.pid}/cmdline`, 'utf8')).split('\0')
    const environment = (await readFile(`/proc/${child.pid}/environ`, 'utf8')).split('\0')
    expect(commandLine).toContain('--max-semi-space-size=1')
    expect(environment).toContain('MALLOC_ARENA_MAX=2')
    const loaded = (await readFile(log, 'utf8')).split('\n')
    // The hook itself works: the node's own code is recorded.
    expect(loaded.some((url) => url.endsWith('node/clawmesh-node.ts'))).toBe(true)
    const eager = LAZY_MODULES.filter(([path]) => loaded.some((url) => url.includes(path)))
    expect(eager.map(([path, when]) => `${path} (needed only with ${when})`)).toEqual([])
  } finally {
    child.kill('SIGKILL')
  }
})

it('`clawmesh-node` run as a command gets the young-generation lever from its #! line, without a relaunch', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'clawmesh-shebang-'))
  dirs.push(dir)
  const config = join(dir, 'node.json')
  await writeFile(config, JSON.stringify({ name: 'shebang', host: '127.0.0.1', port: 0, discovery: false }))
  // As a service runs it: the bin file itself, its `#!/usr/bin/env -S node …` line finding this Node.
  const environment: NodeJS.ProcessEnv = { ...process.env, CLAWMESH_STATE_DIR: join(dir, 'state') }
  delete environment['MALLOC_ARENA_MAX']
  delete environment['NODE_OPTIONS']
  environment['PATH'] = `${dirname(process.execPath)}${delimiter}${process.env['PATH'] ?? ''}`
  const child = spawn(join(root, 'bin/clawmesh-node.js'), ['--config', config], {
    env: environment,
    stdio: ['ignore', 'pipe', 'inherit'],
  })
  try {
    await untilListening(child)
    const commandLine = (await readFile(`/proc/${child.pid}/cmdline`, 'utf8')).split('\0')
    const processEnvironment = (await readFile(`/proc/${child.pid}/environ`, 'utf8')).split('\0')
    expect(commandLine).toContain('--max-semi-space-size=1')
    // relaunchWithMemoryLevers adds MALLOC_ARENA_MAX when it relaunches: its absence shows the node
    // started once.
    expect(processEnvironment.some((entry) => entry.startsWith('MALLOC_ARENA_MAX='))).toBe(false)
  } finally {
    child.kill('SIGKILL')
  }
})
