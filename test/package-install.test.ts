/**
 * The published package, as a field machine gets it: `npm pack` (after `npm run build` — dist/ and
 * the bundle in dist/bundle/ — and the console) into a temp dir, `npm install <tarball>` into an
 * empty project, then the installed bins only — `npx clawmesh --help`, and a two-node mesh of two
 * `clawmesh start` processes that trust each other with `clawmesh trust add`, one dialling the other
 * with `--peer`, seen connected through `peers`. Nothing of the checkout runs: the installed package
 * has no .ts file and no dev dependency, and its launchers run the bundle.
 */
import { type ChildProcess, execFile, spawn } from 'node:child_process'
import { existsSync } from 'node:fs'
import { mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises'
import { createRequire } from 'node:module'
import { tmpdir } from 'node:os'
import { delimiter, dirname, join } from 'node:path'
import { promisify } from 'node:util'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { ensureConsoleBuilt } from './helpers/console-build.ts'
import { writeLoadRecorder } from './helpers/load-recorder.ts'
import { REPO_ROOT } from './helpers/processes.ts'

const execFileAsync = promisify(execFile)
// `npm run build` (tsc, then the rolldown bundle), pack and install: ~1 min on a quiet machine, 4+ min at load 15.
const PACK_AND_INSTALL_TIMEOUT_MS = 480_000
const CONNECT_TIMEOUT_MS = 30_000
const READY_TIMEOUT_MS = 20_000

// npm and the installed bins run with this Node (≥ 22.19), first on PATH.
const env = { ...process.env, PATH: `${dirname(process.execPath)}${delimiter}${process.env['PATH'] ?? ''}` }
let work: string
let project: string
let packageDir: string
const children: ChildProcess[] = []

function bin(name: string): string {
  return join(project, 'node_modules', '.bin', name)
}

async function clawmesh(stateDir: string, args: string[]): Promise<string> {
  const { stdout } = await execFileAsync(
    process.execPath,
    [bin('clawmesh'), '--state-dir', stateDir, ...args],
    {
      env,
      timeout: 30_000,
    },
  )
  return stdout
}

async function startInstalled(stateDir: string, args: string[]): Promise<{ deviceId: string; url: string }> {
  // As a person starts a node: the bin npm linked (bin/clawmesh, which starts Node with the memory levers).
  const child = spawn(
    bin('clawmesh'),
    ['--state-dir', stateDir, 'start', '--host', '127.0.0.1', '--port', '0', '--no-discovery', ...args],
    { env, stdio: ['ignore', 'pipe', 'pipe'] },
  )
  children.push(child)
  let output = ''
  child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()))
  return new Promise((resolveReady, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`installed node not ready:\n${output}`)),
      READY_TIMEOUT_MS,
    )
    child.stdout.on('data', (chunk: Buffer) => {
      output += chunk.toString()
      const deviceId = /device ID {2}(\S+)/.exec(output)?.[1]
      const port = /listening {2}\/ip4\/127\.0\.0\.1\/tcp\/(\d+)\/ws/.exec(output)?.[1]
      if (deviceId !== undefined && port !== undefined) {
        clearTimeout(timer)
        resolveReady({ deviceId, url: `ws://127.0.0.1:${port}` })
      }
    })
    child.once('exit', (code) => {
      clearTimeout(timer)
      reject(new Error(`installed node exited with ${code}:\n${output}`))
    })
  })
}

async function filesUnder(dir: string): Promise<string[]> {
  return (await readdir(dir, { recursive: true })).map(String)
}

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'clawmesh-package-'))
  const packed = join(work, 'packed')
  project = join(work, 'project')
  await mkdir(packed)
  await mkdir(project)
  // What `prepack` does, but the console only when missing or stale (ensureConsoleBuilt, as the e2e
  // project's globalSetup): rebuilding browser/dist here would empty it under a running e2e test.
  await execFileAsync('npm', ['run', 'build'], { cwd: REPO_ROOT, env, maxBuffer: 16 * 1024 * 1024 })
  await ensureConsoleBuilt()
  const { stdout } = await execFileAsync(
    'npm',
    ['pack', '--ignore-scripts', '--silent', '--pack-destination', packed],
    { cwd: REPO_ROOT, env, maxBuffer: 16 * 1024 * 1024 },
  )
  const tarball = join(packed, stdout.trim().split('\n').at(-1) ?? '')
  await writeFile(join(project, 'package.json'), '{ "name": "field-machine", "private": true }\n')
  await execFileAsync('npm', ['install', '--no-audit', '--no-fund', '--prefer-offline', tarball], {
    cwd: project,
    env,
    maxBuffer: 16 * 1024 * 1024,
  })
  packageDir = join(project, 'node_modules', 'clawmesh')
}, PACK_AND_INSTALL_TIMEOUT_MS)

afterAll(async () => {
  for (const child of children) if (child.exitCode === null) child.kill('SIGTERM')
  await Promise.all(
    children.map((child) =>
      child.exitCode === null ? new Promise((r) => child.once('exit', r)) : undefined,
    ),
  )
  if (work !== undefined) await rm(work, { recursive: true, force: true })
})

describe('the npm package installed into an empty project', () => {
  it('holds compiled code with maps and declarations, the built console, and no sources or tests', async () => {
    const files = await filesUnder(packageDir)
    expect(files.filter((file) => file.endsWith('.ts') && !file.endsWith('.d.ts'))).toEqual([])
    expect(files.filter((file) => file.includes('.test.'))).toEqual([])
    expect(files).toContain(join('dist', 'node', 'bin', 'clawmesh.js'))
    expect(files).toContain(join('dist', 'node', 'bin', 'clawmesh.js.map'))
    expect(files).toContain(join('dist', 'node', 'bin', 'clawmesh.d.ts'))
    expect(files).toContain(join('dist', 'node', 'site', 'demo-farm.json'))
    // The bundle the launchers run (test/tools/bundle-dist.ts), and the file it reads beside itself.
    for (const program of ['clawmesh', 'clawmesh-node', 'clawmesh-relay'])
      expect(files).toContain(join('dist', 'bundle', `${program}.js`))
    expect(files).toContain(join('dist', 'bundle', 'node', 'site', 'demo-farm.json'))
    expect(existsSync(join(packageDir, 'browser', 'dist', 'index.html'))).toBe(true)
    // No dev dependency came along: they are not needed at run time.
    expect(existsSync(join(project, 'node_modules', 'vitest'))).toBe(false)
    expect(existsSync(join(project, 'node_modules', 'typescript'))).toBe(false)
  })

  it('runs npx clawmesh --help, clawmesh-node --help and clawmesh-relay --help', async () => {
    const npx = await execFileAsync('npx', ['--no-install', 'clawmesh', '--help'], { cwd: project, env })
    expect(npx.stdout).toContain('Usage: clawmesh')
    const version = await execFileAsync(process.execPath, [bin('clawmesh'), '--version'], { env })
    expect(version.stdout.trim()).toMatch(/^\d+\.\d+\.\d+/)
    const node = await execFileAsync(process.execPath, [bin('clawmesh-node'), '--help'], { env })
    expect(node.stdout).toContain('Usage: clawmesh-node')
    const relay = await execFileAsync(process.execPath, [bin('clawmesh-relay'), '--help'], { env })
    expect(relay.stdout).toContain('Usage: clawmesh-relay')
  })

  // Pins the launcher's choice (bin/launch.js): without sources, the bundle and not tsc's dist/. A load
  // hook records every module the installed `clawmesh --help` loads.
  it('runs the bundle from the installed launchers, not dist/ file by file', async () => {
    const recorder = await writeLoadRecorder(work)
    await execFileAsync(process.execPath, ['--import', recorder.hook, bin('clawmesh'), '--help'], { env })
    const loaded = (await recorder.loaded()).filter((url) => url.includes('/clawmesh/'))
    expect(loaded.filter((url) => url.endsWith('/dist/bundle/clawmesh.js'))).toHaveLength(1)
    expect(loaded.filter((url) => url.includes('/dist/node/') || url.includes('/dist/runtime/'))).toEqual([])
  })

  // The one package the bundle leaves to Node's resolution (a native addon) resolves from it.
  it("resolves the bundle's runtime packages from dist/bundle/", () => {
    const bundleDir = join(packageDir, 'dist', 'bundle')
    expect(createRequire(join(bundleDir, 'clawmesh.js')).resolve('node-datachannel')).toContain(
      'node-datachannel',
    )
  })

  it('starts a two-node mesh from the installed bins', { timeout: 90_000 }, async () => {
    const dirA = join(work, 'node-a')
    const dirB = join(work, 'node-b')
    const idA = (JSON.parse(await clawmesh(dirA, ['identity', '--json'])) as { deviceId: string }).deviceId
    const idB = (JSON.parse(await clawmesh(dirB, ['identity', '--json'])) as { deviceId: string }).deviceId
    await clawmesh(dirA, ['trust', 'add', idB])
    await clawmesh(dirB, ['trust', 'add', idA])
    const a = await startInstalled(dirA, ['--name', 'node-a'])
    // --field-node reads the demo farm beside the code (runtime/package-root.ts codeAsset).
    const b = await startInstalled(dirB, ['--name', 'node-b', '--field-node', '--peer', `${idA}=${a.url}`])
    expect(a.deviceId).toBe(idA)
    expect(b.deviceId).toBe(idB)
    const deadline = Date.now() + CONNECT_TIMEOUT_MS
    let peers: Array<{ deviceId: string; state: string }> = []
    while (Date.now() < deadline) {
      peers = (
        JSON.parse(await clawmesh(dirA, ['peers', '--url', a.url, '--json'])) as { peers: typeof peers }
      ).peers
      if (peers.some((peer) => peer.deviceId === idB && peer.state === 'connected')) break
      await new Promise((r) => setTimeout(r, 250))
    }
    expect(peers.find((peer) => peer.deviceId === idB)?.state).toBe('connected')
    const status = JSON.parse(await clawmesh(dirB, ['status', '--url', b.url, '--json'])) as Record<
      string,
      unknown
    >
    expect(JSON.stringify(status)).toContain(idB)
  })
})
