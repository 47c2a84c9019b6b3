/**
 * The operator console in a real Chromium against real processes, served the way a tablet meets it:
 * a command center with `clawmesh cert` material serving the built console over its own HTTPS port
 * and libp2p over WSS (Chromium trusts the server key as a tablet trusts the local CA), and a field
 * node with the demo farm's mock devices. Pairing with a code, the live views, the planner asked in
 * the chat to open a valve, approvals signed in the browser that really move an actuator, a
 * rejection that moves nothing, an unpaired or expired console that sees nothing, stale state and
 * reconnection across a command-center restart, view tabs that stay put whatever the link's state,
 * and the installable, offline-capable PWA.
 */
import { createServer } from 'node:net'
import type { Browser, BrowserContext, Page } from 'puppeteer-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { connectCliClient } from '../../node/cli/client-node.ts'
import { DEMO_FARM_PATH } from '../../node/site/site-model.ts'
import { launchChromium, trustServerKeyFlag } from '../helpers/chromium.ts'
import { type HttpsNode, issueCertificate, startWithConsole } from '../helpers/https-command-center.ts'
import {
  cliJson,
  makeStateDir,
  type NodeProcess,
  startNode,
  stopAll,
  trustEachOther,
  waitFor,
} from '../helpers/processes.ts'
import { NARROW_VIEWPORT, openTab, tabRowLayout, WIDE_VIEWPORT } from './console-page.ts'
import { nameTrustedPeers } from './console-trust.ts'

const APPROVED_VALVE = 'actuator:valve:zone-2'
const REJECTED_VALVE = 'actuator:valve:zone-3'
/** Actuators report their state under their device ID (the site model's `id`). */
const APPROVED_VALVE_DEVICE = 'valve-zone-2'
const REJECTED_VALVE_DEVICE = 'valve-zone-3'
const UI_TIMEOUT_MS = 30_000

let dirs: { cc: string; field: string }
let ccId: string
let ccPort: number
let cc: NodeProcess
let field: NodeProcess
/** The console's origin: the command center's HTTPS port, learned at first start and kept across
 * restarts (a tablet's installed console stays on one origin). */
let consoleUrl: string
let httpsPort = 0
let browser: Browser
let operator: { context: BrowserContext; page: Page }

async function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const probe = createServer()
    probe.listen(0, '127.0.0.1', () => {
      const { port } = probe.address() as { port: number }
      probe.close(() => resolve(port))
    })
  })
}

async function startCommandCenter(): Promise<NodeProcess> {
  const started: HttpsNode = await startWithConsole(
    dirs.cc,
    ['--name', 'command-center', '--role', 'planner', '--site', DEMO_FARM_PATH, '--port', String(ccPort)],
    httpsPort,
  )
  consoleUrl = started.consoleUrl
  httpsPort = started.httpsPort
  return started.node
}

/** Each console is its own browser profile (its own IndexedDB, so its own operator key). The
 * operator's runs in the default, non-incognito context: Chromium does not offer to install a PWA
 * from an incognito window. */
async function openConsole(incognito = true): Promise<{ context: BrowserContext; page: Page }> {
  const context = incognito ? await browser.createBrowserContext() : browser.defaultBrowserContext()
  const page = await context.newPage()
  page.setDefaultTimeout(UI_TIMEOUT_MS)
  await page.goto(consoleUrl, { waitUntil: 'load' })
  return { context, page }
}

async function pairingCode(operatorName: string, extra: string[] = []): Promise<string> {
  const opened = await cliJson<{ code: string }>(
    ['pair', '--operator', operatorName, '--url', cc.url, ...extra],
    dirs.cc,
  )
  return opened.code
}

async function pair(page: Page, code: string): Promise<void> {
  await page.waitForSelector('[data-testid="pairing-code-input"]')
  await page.type('[data-testid="pairing-code-input"]', code)
  await page.click('[data-testid="pairing-submit"]')
}

const textOf = (page: Page, selector: string) =>
  page.$eval(selector, (element) => element.textContent ?? '').catch(() => '')

/** Asks the planner in the console's chat and returns the ID of the proposal it made for `capability`
 * (a card that was not on screen before the question). */
async function askForProposal(page: Page, text: string, capability: string): Promise<string> {
  await openTab(page, 'command')
  const cards = `[data-testid="proposal"][data-capability="${capability}"]`
  const before = await page.$$eval(cards, (elements) =>
    elements.map((element) => element.getAttribute('data-id')),
  )
  const answers = (await page.$$('[data-testid="chat-entry"][data-from="planner"]')).length
  await page.type('[data-testid="chat-input"]', text)
  await page.click('[data-testid="chat-send"]')
  await page.waitForFunction(
    `document.querySelectorAll('[data-testid="chat-entry"][data-from="planner"]').length > ${answers}`,
    { timeout: 60_000 },
  )
  const answer = await page.$$eval('[data-testid="chat-entry"][data-from="planner"]', (elements) =>
    (elements.at(-1)?.textContent ?? '').trim(),
  )
  expect(answer).toContain('1 proposal(s)')
  const known = JSON.stringify(before)
  const found = await page.waitForFunction(
    `[...document.querySelectorAll(${JSON.stringify(cards)})].map((element) => element.getAttribute('data-id')).find((id) => id !== null && !${known}.includes(id))`,
  )
  return (await found.jsonValue()) as string
}

async function valveOpen(capability: string): Promise<boolean> {
  const client = await connectCliClient(cc.url, dirs.cc)
  try {
    const state = await client.call('capability.invoke', { capability, operation: 'state' })
    return (state.result as { open: boolean }).open
  } finally {
    await client.close()
  }
}

beforeAll(async () => {
  dirs = { cc: await makeStateDir('console-cc'), field: await makeStateDir('console-field') }
  const [commandCenterId, fieldId] = (await trustEachOther([dirs.cc, dirs.field])) as [string, string]
  ccId = commandCenterId
  await nameTrustedPeers(dirs, { cc: ccId, field: fieldId })
  const spki = await issueCertificate(dirs.cc)
  ccPort = await freePort()
  cc = await startCommandCenter()
  field = await startNode(dirs.field, [
    '--name',
    'field-1',
    '--field-node',
    '--command-center',
    ccId,
    '--peer',
    `${ccId}=${cc.url}`,
  ])
  browser = await launchChromium([trustServerKeyFlag(spki)])
  await waitFor(
    'observations of zone-2 at the command center',
    async () => {
      const world = await cliJson<{ frames: unknown[] }>(
        ['world', '--url', cc.url, '--kind', 'observation', '--zone', 'zone-2'],
        dirs.cc,
      )
      return world.frames.length > 0 ? true : undefined
    },
    30_000,
  )
}, 120_000)

afterAll(async () => {
  await browser?.close()
  await stopAll()
})

describe('operator console', () => {
  it('an unpaired console sees nothing of the mesh and has nothing to approve; a wrong code is refused', async () => {
    const { context, page } = await openConsole()
    try {
      await page.waitForSelector('[data-testid="pairing-screen"]')
      expect(await page.$('[data-testid="view-topology"]')).toBeNull()
      expect(await page.$('[data-testid="approve-button"]')).toBeNull()
      await pairingCode('someone-else')
      await pair(page, 'WRONG-CODE')
      await page.waitForSelector('[data-testid="pairing-error"]')
      expect(await textOf(page, '[data-testid="pairing-error"]')).toContain('wrong-code')
      expect(await page.$('[data-testid="view-topology"]')).toBeNull()
    } finally {
      await context.close()
    }
  })

  it('pairs with a one-time code; Topology shows the command center and the field node', async () => {
    operator = await openConsole(false)
    const { page } = operator
    await pair(page, await pairingCode('tablet-alice'))
    await page.waitForSelector('[data-testid="view-topology"]')
    await page.waitForSelector('[data-testid="topology-node"][data-name="field-1"]')
    const nodes = await page.$$eval('[data-testid="topology-node"]', (elements) =>
      elements.map((element) => ({
        name: element.getAttribute('data-name'),
        role: element.getAttribute('data-role'),
        state: element.getAttribute('data-state'),
      })),
    )
    expect(nodes).toContainEqual({ name: 'command-center', role: 'planner', state: 'self' })
    expect(nodes.find((node) => node.name === 'field-1')?.state).toBe('connected')
    await page.waitForSelector('[data-testid="link-status"][data-state="connected"]')
    // As a tablet uses it: the page over HTTPS from the command center, libp2p over WSS.
    expect(new URL(page.url()).protocol).toBe('https:')
    expect(
      await page.$eval('[data-testid="link-status"]', (element) => element.getAttribute('data-address')),
    ).toMatch(/\/tls\/ws(\/|$)/)
  })

  it('Twin shows live sensor values changing', async () => {
    const { page } = operator
    await openTab(page, 'twin')
    const sensor =
      '[data-testid="twin-zone"][data-zone="zone-2"] [data-testid="twin-sensor"][data-metric="soil-moisture"]'
    await page.waitForSelector(sensor)
    // Zones carry the site model's names (console-config's site summary).
    expect(
      await textOf(page, '[data-testid="twin-zone"][data-zone="zone-2"] [data-testid="twin-zone-name"]'),
    ).toBe('Vegetable beds')
    expect(await textOf(page, '[data-testid="twin-site"]')).toBe('Demo natural farm')
    const first = await page.$eval(sensor, (element) => Number(element.getAttribute('data-at')))
    await page.waitForFunction(
      `Number(document.querySelector(${JSON.stringify(sensor)})?.getAttribute('data-at')) > ${first}`,
    )
  })

  it('Telemetry shows live frame rates from gossip, command-center health and a chart of observations', async () => {
    const { page } = operator
    await openTab(page, 'telemetry')
    // Frame rates count only frames that arrived over gossip (polling backfills observations but
    // never counts as an arrival), so this proves the live subscription to the context topic.
    await page.waitForFunction(
      `[...document.querySelectorAll('[data-testid="frame-rates"] li')].some((item) => item.textContent.startsWith('observation'))`,
    )
    await page.waitForSelector('[data-testid="telemetry-chart"] canvas')
    expect(await textOf(page, '[data-testid="health-status"]')).toMatch(/ok|degraded|unhealthy/)
    expect(await textOf(page, '[data-testid="publish-window"]')).toMatch(
      /frames batched within \d+\.\d ms \(CPU pressure (\d+ %|not reported)\)/,
    )
    expect(await textOf(page, '[data-testid="events-list"]')).not.toBe('')
  })

  it('the planner, asked in the chat to open a valve, proposes; approving it in the console opens the valve: the Twin shows it open and Command shows the outcome', async () => {
    const { page } = operator
    expect(await valveOpen(APPROVED_VALVE)).toBe(false)
    const id = await askForProposal(page, 'open valve zone-2 for 5 minutes', APPROVED_VALVE)
    const card = `[data-testid="proposal"][data-id="${id}"]`
    await page.waitForSelector(`${card}[data-state="awaiting_approval"] [data-testid="approve-button"]`)
    expect(await textOf(page, `${card} [data-testid="proposal-level"]`)).toBe('L2')
    expect(await textOf(page, `${card} [data-testid="proposal-evidence"]`)).toMatch(/T[123]/)
    expect(await textOf(page, `${card} .meta`)).toContain('"durationSec":300')
    await page.click(`${card} [data-testid="approve-button"]`)
    await page.waitForSelector(`${card}[data-state="completed"] [data-testid="proposal-outcome"]`)
    expect(await textOf(page, `${card} [data-testid="proposal-outcome"]`)).not.toBe('')
    expect(await valveOpen(APPROVED_VALVE)).toBe(true)
    await openTab(page, 'twin')
    await page.waitForSelector(
      `[data-testid="twin-actuator"][data-source="${APPROVED_VALVE_DEVICE}"][data-open="true"]`,
    )
  })

  it("rejecting the planner's next proposal in the console moves nothing", async () => {
    const { page } = operator
    const id = await askForProposal(page, 'open valve zone-3 for 5 minutes', REJECTED_VALVE)
    const card = `[data-testid="proposal"][data-id="${id}"]`
    await page.waitForSelector(`${card} [data-testid="reject-button"]`)
    await page.click(`${card} [data-testid="reject-button"]`)
    await page.waitForSelector(`${card}[data-state="rejected"]`)
    expect(await page.$(`${card} [data-testid="approve-button"]`)).toBeNull()
    expect(await valveOpen(REJECTED_VALVE)).toBe(false)
    await openTab(page, 'twin')
    // The valve is on screen (as the site model declares it, or with its last reported state) and
    // not open.
    await page.waitForSelector(
      `[data-testid="twin-zone"][data-zone="zone-3"] [data-source="${REJECTED_VALVE_DEVICE}"]`,
    )
    expect(
      await page.$(`[data-testid="twin-actuator"][data-source="${REJECTED_VALVE_DEVICE}"][data-open="true"]`),
    ).toBeNull()
  })

  it("an admin's console withdraws a proposal; the always-visible emergency stop closes the open valve and latches every actuator", async () => {
    const { context, page } = await openConsole()
    page.on('dialog', (dialog) => void dialog.accept())
    try {
      await pair(page, await pairingCode('site-admin', ['--roles', 'operator,admin']))
      await page.waitForSelector('[data-testid="view-topology"]')
      const id = await askForProposal(page, 'open valve zone-1 for 5 minutes', 'actuator:valve:zone-1')
      const card = `[data-testid="proposal"][data-id="${id}"]`
      await page.click(`${card} [data-testid="cancel-button"]`)
      await page.waitForSelector(`${card}[data-state="cancelled"]`)
      expect(await page.$(`${card} [data-testid="approve-button"]`)).toBeNull()
      // The operator's console (not an admin, not the planner's proposal author) is offered no
      // Withdraw on planner proposals.
      await openTab(operator.page, 'command')
      expect(await operator.page.$('[data-testid="cancel-button"]')).toBeNull()

      expect(await valveOpen(APPROVED_VALVE)).toBe(true)
      // On whatever view is showing.
      await openTab(page, 'twin')
      await page.click('[data-testid="estop-button"]')
      await page.waitForSelector('[data-testid="estop-result"]')
      expect(await textOf(page, '[data-testid="estop-result"]')).toContain(
        '4 of 4 actuators safe and latched',
      )
      expect(await valveOpen(APPROVED_VALVE)).toBe(false)
      const fieldClient = await connectCliClient(field.url, dirs.field)
      try {
        const { latches } = await fieldClient.call('safety.estop.status', {})
        expect(latches).toHaveLength(4)
      } finally {
        await fieldClient.close()
      }
    } finally {
      await context.close()
    }
  }, 120_000)

  it('shows stale state with its age while the command center is down, and reconnects by itself', async () => {
    const { page } = operator
    await openTab(page, 'topology')
    await cc.stop()
    await page.waitForSelector('[data-testid="stale-banner"]')
    await page.waitForFunction(
      `/last update \\d+ s ago/.test(document.querySelector('[data-testid="stale-banner"]')?.textContent ?? '')`,
    )
    // The last known state stays on screen, marked stale.
    expect(await page.$('[data-testid="topology-node"][data-name="field-1"]')).not.toBeNull()
    expect(
      await page.$eval('[data-testid="link-status"]', (element) => element.getAttribute('data-state')),
    ).not.toBe('connected')
    cc = await startCommandCenter()
    await page.waitForSelector('[data-testid="link-status"][data-state="connected"]', { timeout: 45_000 })
    await page.waitForFunction(`document.querySelector('[data-testid="stale-banner"]') === null`, {
      timeout: 20_000,
    })
  })

  it('the view tabs stay where they are while the link connects, drops and comes back, wide and narrow (regression: a tab clicked just after pairing missed, the status bar having shrunk from two rows to one)', async () => {
    const { context, page } = await openConsole()
    const measure = async () => ({
      wide: await tabRowLayout(page, WIDE_VIEWPORT),
      narrow: await tabRowLayout(page, NARROW_VIEWPORT),
    })
    const settled = async () => {
      await page.waitForSelector('[data-testid="link-status"][data-state="connected"]', { timeout: 45_000 })
      await page.waitForFunction(`document.querySelector('[data-testid="stale-banner"]') === null`, {
        timeout: 20_000,
      })
    }
    try {
      await pair(page, await pairingCode('tablet-layout'))
      await page.waitForSelector('[data-testid="tab-command"]')
      // As soon as the views show: no poll has landed yet (the stale banner is up), and the link may
      // still be connecting.
      const justPaired = await tabRowLayout(page, WIDE_VIEWPORT)
      await settled()
      const connected = await measure()
      await cc.stop()
      await page.waitForSelector('button[aria-label="Reconnect now"]')
      await page.waitForSelector('[data-testid="stale-banner"]')
      const down = await measure()
      cc = await startCommandCenter()
      await settled()
      const back = await measure()

      expect(down.wide).toMatchObject({ staleBanner: true, reconnectButton: true })
      // How far the tabs moved from where they sit once settled, in CSS px; all in one record so a
      // failure shows every figure. `justPaired` says which state the first measure caught.
      expect({
        justPaired: { link: justPaired.link, staleBanner: justPaired.staleBanner },
        shifts: {
          afterPairing: connected.wide.tabTop - justPaired.tabTop,
          wideDown: down.wide.tabTop - connected.wide.tabTop,
          wideBack: back.wide.tabTop - connected.wide.tabTop,
          narrowDown: down.narrow.tabTop - connected.narrow.tabTop,
          narrowBack: back.narrow.tabTop - connected.narrow.tabTop,
        },
      }).toMatchObject({
        shifts: { afterPairing: 0, wideDown: 0, wideBack: 0, narrowDown: 0, narrowBack: 0 },
      })
      for (const layout of [connected, down, back].flatMap((state) => [state.wide, state.narrow])) {
        expect(layout).toMatchObject({
          horizontalOverflow: 0,
          estopReachable: true,
          reconnectReachable: true,
        })
      }
    } finally {
      await context.close()
    }
  }, 150_000)

  it('a console whose operator certificate expired sees nothing and must pair again', async () => {
    const { context, page } = await openConsole()
    try {
      await pair(page, await pairingCode('short-lived', ['--cert-ttl', '0.25']))
      await page.waitForSelector('[data-testid="view-topology"]')
      // 15 s certificate: once it lapses the console drops the mesh and asks for a new code.
      await page.waitForSelector('[data-testid="pairing-reason"]', { timeout: 40_000 })
      expect(await textOf(page, '[data-testid="pairing-reason"]')).toContain('expired')
      expect(await page.$('[data-testid="view-topology"]')).toBeNull()
      expect(await page.$('[data-testid="approve-button"]')).toBeNull()
    } finally {
      await context.close()
    }
  }, 60_000)

  it('re-pairing after the certificate expired brings live data back in the same page (regression: the link stayed stopped until a reload)', async () => {
    const { context, page } = await openConsole()
    try {
      await pair(page, await pairingCode('re-paired', ['--cert-ttl', '0.25']))
      await page.waitForSelector('[data-testid="link-status"][data-state="connected"]')
      await page.waitForSelector('[data-testid="pairing-reason"]', { timeout: 40_000 })
      // A fresh code, typed into the same page: no reload, the same operator key.
      await pair(page, await pairingCode('re-paired'))
      await page.waitForSelector('[data-testid="view-topology"]')
      await page.waitForSelector('[data-testid="link-status"][data-state="connected"]')
      // Polled again: the command center's answer is fresh (no stale banner) and lists the field node.
      await page.waitForFunction(`document.querySelector('[data-testid="stale-banner"]') === null`)
      await page.waitForSelector('[data-testid="topology-node"][data-name="field-1"][data-state="connected"]')
    } finally {
      await context.close()
    }
  }, 120_000)

  it('is an installable PWA whose app shell loads offline with the last known state marked stale', async () => {
    const { page } = operator
    const session = await page.createCDPSession()
    const manifest = (await session.send('Page.getAppManifest')) as { errors: unknown[]; data?: string }
    expect(manifest.errors).toEqual([])
    expect(JSON.parse(manifest.data ?? '{}').name).toBe('ClawMesh operator console')
    await page.waitForFunction(
      `navigator.serviceWorker.ready.then((registration) => registration.active?.state === 'activated')`,
    )
    const installability = (await session.send('Page.getInstallabilityErrors')) as {
      installabilityErrors: unknown[]
    }
    expect(installability.installabilityErrors).toEqual([])
    // The page must be controlled by the worker before the command center (the page's origin and
    // its WSS) goes away.
    await page.reload({ waitUntil: 'load' })
    await page.waitForFunction('navigator.serviceWorker.controller !== null')
    await cc.stop()
    await page.reload({ waitUntil: 'load' })
    await page.waitForSelector('[data-testid="view-topology"]')
    await page.waitForSelector('[data-testid="topology-node"][data-name="field-1"]')
    await page.waitForSelector('[data-testid="stale-banner"]')
    expect(await textOf(page, '[data-testid="stale-banner"]')).toMatch(/last update .* ago/)
  })
})
