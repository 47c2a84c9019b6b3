/**
 * `clawmesh demo` as a tablet on the LAN would use it: the browser trusts the demo CA's keys only
 * (the console's and the relay's, both issued by the demo CA), pairs with the printed code, and
 * reaches field-1 over WebRTC signalled by the demo's relay over WSS — the relay has no plain WS
 * listener, so a connected field link means the browser spoke WSS to it.
 */
import { type ChildProcess, spawn } from 'node:child_process'
import { join } from 'node:path'
import type { Browser } from 'puppeteer-core'
import { afterAll, describe, expect, it } from 'vitest'
import { consoleConfigSchema } from '../../protocol/console-config.ts'
import { launchChromium, trustServerKeyFlag } from '../helpers/chromium.ts'
import { CLI, cliJson, makeStateDir, waitFor } from '../helpers/processes.ts'

/** node-datachannel WebRTC setup can stall for tens of seconds on a loaded 2-core machine. */
const WEBRTC_TIMEOUT_MS = 120_000
const UI_TIMEOUT_MS = 30_000
const DEMO_READY_TIMEOUT_MS = 120_000
/** Loopback ICE candidates only (see console-wan.test.ts); on a tablet the ICE servers cover this. */
const WEBRTC_FLAGS = ['--disable-features=WebRtcHideLocalIpsWithMdns', '--allow-loopback-in-peer-connection']

let demo: ChildProcess | undefined
let browser: Browser | undefined

afterAll(async () => {
  await browser?.close()
  if (demo !== undefined && demo.exitCode === null) {
    const exited = new Promise((resolveExit) => demo?.once('exit', resolveExit))
    demo.kill('SIGINT')
    await exited
  }
})

describe('clawmesh demo across the WAN path', () => {
  it('a browser trusting only the demo CA keys reaches field-1 through the WSS relay', {
    timeout: 360_000,
  }, async () => {
    const dir = await makeStateDir('demo-wan')
    const child = spawn(process.execPath, [CLI, 'demo', '--dir', dir, '--port', '0', '--https-port', '0'], {
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    demo = child
    let output = ''
    child.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString()))
    child.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString()))
    const code = await waitFor(
      'the pairing code',
      () => /pairing code {4}([A-Z0-9]{4}-[A-Z0-9]{4})/.exec(output)?.[1],
      DEMO_READY_TIMEOUT_MS,
    )
    const consoleUrl = /console {9}(https:\/\/localhost:\d+\/)/.exec(output)?.[1] as string
    const keys = await Promise.all(
      ['command-center', 'relay'].map(async (part) => {
        const shown = await cliJson<{ server: { spkiSha256: string } }>(['cert', '--show'], join(dir, part))
        return shown.server.spkiSha256
      }),
    )
    browser = await launchChromium([trustServerKeyFlag(keys.join(',')), ...WEBRTC_FLAGS])
    const page = await browser.newPage()
    page.setDefaultTimeout(UI_TIMEOUT_MS)
    await page.goto(consoleUrl, { waitUntil: 'load' })
    const fieldNode = await waitFor(
      'console-config.json to list field-1 behind the WSS relay',
      async () => {
        const config = consoleConfigSchema.parse(
          await page.evaluate("fetch('./console-config.json', { cache: 'no-store' }).then((r) => r.json())"),
        )
        return config.fieldNodes.find((node) => node.name === 'field-1')
      },
      60_000,
    )
    expect(fieldNode.addrs[0]).toMatch(/\/tls\/ws\/p2p\/\w+\/p2p-circuit\/webrtc\//)
    await page.reload({ waitUntil: 'load' })

    await page.waitForSelector('[data-testid="pairing-code-input"]')
    await page.type('[data-testid="pairing-code-input"]', code)
    await page.click('[data-testid="pairing-submit"]')
    await page.waitForSelector('[data-testid="link-status"][data-state="connected"]')

    const fieldLink = `[data-testid="field-link"][data-device-id="${fieldNode.deviceId}"]`
    await page.waitForSelector(`${fieldLink}[data-state="connected"]`, { timeout: WEBRTC_TIMEOUT_MS })
    const address = await page.$eval(fieldLink, (element) => element.getAttribute('data-address'))
    expect(address).toContain('/webrtc')
    expect(await page.$eval(fieldLink, (element) => element.getAttribute('data-path'))).toBe('relay')
  })
})
