/**
 * Retakes the console screenshots in docs/images/ from the real running demo: starts
 * `clawmesh demo` (relay, command center with the HTTPS console, field node) in a temporary
 * directory on free ports, pairs a headless Chromium at tablet size with the printed code, asks the
 * planner for a proposal, and photographs Topology, Telemetry, Command (with the proposal) and Twin.
 *
 *   node test/tools/console-screenshots.ts [--out docs/images] [--width 1280] [--height 800]
 */
import { type ChildProcess, spawn } from 'node:child_process'
import { mkdir, mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { parseArgs } from 'node:util'
import type { Browser, Page } from 'puppeteer-core'
import { launchChromium, trustServerKeyFlag } from '../helpers/chromium.ts'
import { ensureConsoleBuilt } from '../helpers/console-build.ts'
import { CLI, cliJson, REPO_ROOT, waitFor } from '../helpers/processes.ts'

const DEMO_READY_TIMEOUT_MS = 120_000
const UI_TIMEOUT_MS = 60_000
/** Long enough for a few readings per sensor, so the Telemetry charts have lines, not dots. */
const WARM_UP_MS = 20_000

const { values } = parseArgs({
  options: {
    out: { type: 'string', default: 'docs/images' },
    width: { type: 'string', default: '1280' },
    height: { type: 'string', default: '800' },
  },
})
const outDir = resolve(REPO_ROOT, values.out)
const viewport = { width: Number(values.width), height: Number(values.height), deviceScaleFactor: 1 }

async function startDemo(dir: string): Promise<{ child: ChildProcess; output: () => string }> {
  const child = spawn(process.execPath, [CLI, 'demo', '--dir', dir, '--port', '0', '--https-port', '0'], {
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  let output = ''
  child.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString()))
  child.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString()))
  child.once('exit', (code) => {
    if (code !== 0 && code !== null) process.stderr.write(`demo exited with ${code}:\n${output}\n`)
  })
  return { child, output: () => output }
}

async function shoot(page: Page, tab: string, ready: string, file: string): Promise<void> {
  await page.click(`[data-testid="tab-${tab}"]`)
  await page.waitForSelector(ready)
  // Let charts and relative times settle after the view switch.
  await new Promise((done) => setTimeout(done, 1_500))
  const path = join(outDir, file)
  await page.screenshot({ path, type: 'png' })
  console.log(`wrote ${path}`)
}

async function main(): Promise<void> {
  await ensureConsoleBuilt()
  await mkdir(outDir, { recursive: true })
  const dir = await mkdtemp(join(tmpdir(), 'clawmesh-screenshots-'))
  const demo = await startDemo(dir)
  let browser: Browser | undefined
  try {
    const code = await waitFor(
      'the demo pairing code',
      () => /pairing code {4}(\S+)/.exec(demo.output())?.[1],
      DEMO_READY_TIMEOUT_MS,
    )
    const url = /console {9}(https:\/\/\S+)/.exec(demo.output())?.[1]
    if (url === undefined) throw new Error(`no console URL in the demo output:\n${demo.output()}`)
    const cert = await cliJson<{ server: { spkiSha256: string } }>(
      ['cert', '--show'],
      join(dir, 'command-center'),
    )
    // The relay has its own key from the same CA (the console reaches field-1 through it over WSS).
    const relayCert = await cliJson<{ server: { spkiSha256: string } }>(
      ['cert', '--show'],
      join(dir, 'relay'),
    )
    browser = await launchChromium([
      trustServerKeyFlag(`${cert.server.spkiSha256},${relayCert.server.spkiSha256}`),
    ])
    const page = await browser.newPage()
    page.setDefaultTimeout(UI_TIMEOUT_MS)
    await page.setViewport(viewport)
    await page.goto(url, { waitUntil: 'load' })
    await page.waitForSelector('[data-testid="pairing-code-input"]')
    await page.type('[data-testid="pairing-code-input"]', code)
    await page.click('[data-testid="pairing-submit"]')
    await page.waitForSelector('[data-testid="topology-node"][data-name="field-1"]')
    await page.waitForSelector('[data-testid="link-status"][data-state="connected"]')
    await new Promise((done) => setTimeout(done, WARM_UP_MS))

    await shoot(
      page,
      'topology',
      '[data-testid="topology-node"][data-name="field-1"]',
      'console-topology.png',
    )
    await shoot(page, 'telemetry', '[data-testid="telemetry-chart"] canvas', 'console-telemetry.png')
    const proposal =
      '[data-testid="proposal"][data-capability="actuator:valve:zone-2"][data-state="awaiting_approval"]'
    await page.click('[data-testid="tab-command"]')
    await page.type('[data-testid="chat-input"]', 'open valve zone-2 for 5 minutes')
    await page.click('[data-testid="chat-send"]')
    await page.waitForSelector(proposal)
    await shoot(page, 'command', proposal, 'console-command.png')
    await page.click(`${proposal} [data-testid="approve-button"]`)
    await page.waitForSelector(
      '[data-testid="proposal"][data-capability="actuator:valve:zone-2"][data-state="completed"]',
    )
    await shoot(
      page,
      'twin',
      '[data-testid="twin-actuator"][data-source="valve-zone-2"][data-open="true"]',
      'console-twin.png',
    )
  } finally {
    await browser?.close()
    demo.child.kill('SIGINT')
    await new Promise((done) => demo.child.once('exit', done))
    await rm(dir, { recursive: true, force: true })
  }
}

await main()
