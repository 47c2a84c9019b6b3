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
import { mkdir, mkdtemp, readFile, rm, symlink, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { delimiter, dirname, join, resolve } from 'node:path'
import type { Readable } from 'node:stream'
import { afterAll, expect, it } from 'vitest'
import { MALLOC_ARENA_MAX, SEMI_SPACE_FLAG } from '../bin/memory-levers.js'
import { writeLoadRecorder } from './helpers/load-recorder.ts'

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
  const recorder = await writeLoadRecorder(dir)
  const child = spawn(
    process.execPath,
    [
      '--import',
      recorder.hook,
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
    expect(commandLine).toContain(SEMI_SPACE_FLAG)
    expect(environment).toContain(`MALLOC_ARENA_MAX=${MALLOC_ARENA_MAX}`)
    const loaded = await recorder.loaded()
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
    expect(commandLine).toContain(SEMI_SPACE_FLAG)
    // relaunchWithMemoryLevers adds MALLOC_ARENA_MAX when it relaunches: its absence shows the node
    // started once.
    expect(processEnvironment.some((entry) => entry.startsWith('MALLOC_ARENA_MAX='))).toBe(false)
  } finally {
    child.kill('SIGKILL')
  }
})

/**
 * Runs `clawmesh start` as a person does: the bin file through a link, as npm puts it on the PATH,
 * under `nodeOptions` plus a preload that records every Node process start in a file (one line per
 * start; a relaunch by bin/clawmesh.js keeps the environment and so records a second). Resolves with
 * the node's command line and environment at ready, and the number of Node starts.
 */
async function startThroughLink(
  nodeOptions: string,
): Promise<{ commandLine: string[]; environment: string[]; nodeStarts: number }> {
  const dir = await mkdtemp(join(tmpdir(), 'clawmesh-sh-launcher-'))
  dirs.push(dir)
  const starts = join(dir, 'starts.txt')
  const hook = join(dir, 'hook.mjs')
  await writeFile(
    hook,
    `import { appendFileSync } from 'node:fs'\nappendFileSync(${JSON.stringify(starts)}, 'start\\n')\n`,
  )
  await mkdir(join(dir, 'bin'))
  await symlink(join(root, 'bin/clawmesh'), join(dir, 'bin/clawmesh'))
  const environment: NodeJS.ProcessEnv = { ...process.env, CLAWMESH_STATE_DIR: join(dir, 'state') }
  delete environment['MALLOC_ARENA_MAX']
  environment['NODE_OPTIONS'] = `${nodeOptions} --import ${hook}`.trim()
  environment['PATH'] = `${dirname(process.execPath)}${delimiter}${process.env['PATH'] ?? ''}`
  const child = spawn(
    join(dir, 'bin/clawmesh'),
    ['start', '--name', 'sh', '--host', '127.0.0.1', '--port', '0'],
    {
      env: environment,
      stdio: ['ignore', 'pipe', 'inherit'],
    },
  )
  try {
    await untilListening(child)
    return {
      commandLine: (await readFile(`/proc/${child.pid}/cmdline`, 'utf8')).split('\0'),
      environment: (await readFile(`/proc/${child.pid}/environ`, 'utf8')).split('\0'),
      nodeStarts: (await readFile(starts, 'utf8')).trim().split('\n').length,
    }
  } finally {
    child.kill('SIGKILL')
  }
}

it('`clawmesh start` run as a command starts Node once, with both memory levers from bin/clawmesh', async () => {
  const node = await startThroughLink('')
  expect(node.commandLine).toContain(SEMI_SPACE_FLAG)
  expect(node.environment).toContain(`MALLOC_ARENA_MAX=${MALLOC_ARENA_MAX}`)
  // No relaunch by bin/clawmesh.js: its second Node start is what bin/clawmesh saves.
  expect(node.nodeStarts).toBe(1)
})

it('a young-generation size the operator set in NODE_OPTIONS is kept by bin/clawmesh', async () => {
  const node = await startThroughLink('--max-semi-space-size=4')
  expect(node.commandLine).not.toContain(SEMI_SPACE_FLAG)
  expect(node.environment.find((entry) => entry.startsWith('NODE_OPTIONS='))).toContain(
    '--max-semi-space-size=4',
  )
  expect(node.nodeStarts).toBe(1)
})
