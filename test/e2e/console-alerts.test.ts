/**
 * The console's alerts, refusal reasons and safe-state button in a real Chromium against real
 * processes (a command center serving the console over HTTPS and a field node with the demo farm's
 * mock devices), set up as test/e2e/console.test.ts is. The site is the demo farm with one change:
 * opening valve-zone-3 is guarded by a condition that never holds, so the actuator refuses it at
 * execution (`guard-failed`) after an operator approves it in the console.
 * - The refused proposal's card shows the code, the hop and the actuator's detail.
 * - The refusal appears in the alerts panel; acknowledging it hides it for that operator, also after
 *   a reload, while another operator still sees it.
 * - The Twin's "Close now" on an open valve closes it, through a proposal the policy allowed.
 */
import { readFile, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import type { Browser, BrowserContext, Page } from 'puppeteer-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { connectCliClient } from '../../node/cli/client-node.ts'
import { DEMO_FARM_PATH } from '../../node/site/site-model.ts'
import { launchChromium, trustServerKeyFlag } from '../helpers/chromium.ts'
import { issueCertificate, startWithConsole } from '../helpers/https-command-center.ts'
import {
  cliJson,
  makeStateDir,
  type NodeProcess,
  startNode,
  stopAll,
  trustEachOther,
  waitFor,
} from '../helpers/processes.ts'
import { openTab } from './console-page.ts'
import { nameTrustedPeers } from './console-trust.ts'

const GUARDED_VALVE = 'actuator:valve:zone-3'
const CLOSABLE_VALVE = 'actuator:valve:zone-2'
const CLOSABLE_VALVE_DEVICE = 'valve-zone-2'
const UI_TIMEOUT_MS = 30_000
const TEST_TIMEOUT_MS = 120_000

interface ProposalJson {
  hash: string
  state: string
  proposal: { id: string; operation: string; capability: string; author: { kind: string; id: string } }
  refusal?: { code: string; hop: string; detail: string }
}

let dirs: { cc: string; field: string }
let cc: NodeProcess
let consoleUrl: string
let browser: Browser
let alice: { context: BrowserContext; page: Page }

/** The demo farm with valve-zone-3's `open` guarded by a pond level it never reads. */
async function guardedSite(): Promise<string> {
  const site = JSON.parse(await readFile(DEMO_FARM_PATH, 'utf8')) as { actuators: Record<string, unknown>[] }
  const valve = site.actuators.find((actuator) => actuator['id'] === 'valve-zone-3')
  const open = (valve?.['operations'] as Record<string, unknown>[] | undefined)?.find(
    (operation) => operation['name'] === 'open',
  )
  if (open === undefined) throw new Error('the demo farm has no valve-zone-3 open')
  open['guards'] = [{ sensor: 'level-pond', op: '<', value: -1000 }]
  const path = join(await makeStateDir('alerts-site'), 'site.json')
  await writeFile(path, JSON.stringify(site, null, 2))
  return path
}

async function openConsole(): Promise<{ context: BrowserContext; page: Page }> {
  const context = await browser.createBrowserContext()
  const page = await context.newPage()
  page.setDefaultTimeout(UI_TIMEOUT_MS)
  await page.goto(consoleUrl, { waitUntil: 'load' })
  return { context, page }
}

/** Opens a console in its own profile (its own operator key) and pairs it as `name`. */
async function pairedConsole(name: string) {
  const opened = await openConsole()
  const { code } = await cliJson<{ code: string }>(['pair', '--operator', name, '--url', cc.url], dirs.cc)
  await opened.page.waitForSelector('[data-testid="pairing-code-input"]')
  await opened.page.type('[data-testid="pairing-code-input"]', code)
  await opened.page.click('[data-testid="pairing-submit"]')
  await opened.page.waitForSelector('[data-testid="link-status"][data-state="connected"]')
  return opened
}

async function propose(capability: string, args: string[]): Promise<ProposalJson> {
  const { proposal } = await cliJson<{ proposal: ProposalJson }>(
    ['propose', capability, 'open', ...args, '--url', cc.url],
    dirs.cc,
  )
  return proposal
}

async function proposals(): Promise<ProposalJson[]> {
  return (await cliJson<{ proposals: ProposalJson[] }>(['proposals', '--url', cc.url], dirs.cc)).proposals
}

/** Approves the proposal on its card in the Command view. */
async function approveOnCard(page: Page, id: string): Promise<void> {
  await openTab(page, 'command')
  const card = `[data-testid="proposal"][data-id="${id}"]`
  await page.waitForSelector(`${card} [data-testid="approve-button"]`)
  await page.click(`${card} [data-testid="approve-button"]`)
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

const textOf = (page: Page, selector: string) =>
  page.$eval(selector, (element) => element.textContent ?? '').catch(() => '')

beforeAll(async () => {
  dirs = { cc: await makeStateDir('alerts-cc'), field: await makeStateDir('alerts-field') }
  const [ccId, fieldId] = (await trustEachOther([dirs.cc, dirs.field])) as [string, string]
  await nameTrustedPeers(dirs, { cc: ccId, field: fieldId })
  const spki = await issueCertificate(dirs.cc)
  const site = await guardedSite()
  const started = await startWithConsole(dirs.cc, [
    '--name',
    'command-center',
    '--role',
    'planner',
    '--site',
    site,
    '--port',
    '0',
  ])
  cc = started.node
  consoleUrl = started.consoleUrl
  await startNode(dirs.field, [
    '--name',
    'field-1',
    '--field-node',
    '--command-center',
    ccId,
    '--peer',
    `${ccId}=${cc.url}`,
    '--site',
    site,
  ])
  browser = await launchChromium([trustServerKeyFlag(spki)])
  for (const zone of ['zone-2', 'zone-3', 'zone-4']) {
    await waitFor(
      `observations of ${zone} at the command center`,
      async () => {
        const world = await cliJson<{ frames: unknown[] }>(
          ['world', '--url', cc.url, '--kind', 'observation', '--zone', zone],
          dirs.cc,
        )
        return world.frames.length > 0 ? true : undefined
      },
      30_000,
    )
  }
  alice = await pairedConsole('tablet-alice')
}, TEST_TIMEOUT_MS)

afterAll(async () => {
  await browser?.close()
  await stopAll()
})

describe('console alerts, refusal reasons and safe state', () => {
  let refused: ProposalJson

  it(
    "a proposal the actuator refuses shows the refusal's code and detail on its card",
    async () => {
      refused = await propose(GUARDED_VALVE, ['--arg', 'durationSec=60'])
      await approveOnCard(alice.page, refused.proposal.id)
      const note = `[data-testid="proposal"][data-id="${refused.proposal.id}"][data-state="failed"] [data-testid="proposal-refusal"]`
      await alice.page.waitForSelector(`${note}[data-code="guard-failed"][data-hop="actuator"]`)
      expect(await textOf(alice.page, `${note} [data-testid="proposal-refusal-code"]`)).toBe('guard-failed')
      expect(await textOf(alice.page, note)).toContain('refused by the actuator')
      // The actuator's own words: the sensor it read and what the guard wanted.
      expect(await textOf(alice.page, `${note} [data-testid="proposal-refusal-detail"]`)).toMatch(
        /level-pond/,
      )
      // The record the card shows it from, as the command center keeps it.
      const record = (await proposals()).find((entry) => entry.hash === refused.hash)
      expect(record).toMatchObject({ state: 'failed', refusal: { code: 'guard-failed', hop: 'actuator' } })
      expect(await valveOpen(GUARDED_VALVE)).toBe(false)
    },
    TEST_TIMEOUT_MS,
  )

  it(
    'the refusal is an alert; acknowledged, it stays gone for that operator after a reload, not for another',
    async () => {
      const { page } = alice
      const alert = `[data-testid="alert"][data-id="proposal:${refused.hash}"]`
      await openTab(page, 'alerts')
      await page.waitForSelector(`${alert}[data-kind="refusal"][data-code="guard-failed"]`)
      expect(await textOf(page, `${alert} [data-testid="alert-title"]`)).toContain(
        `open ${GUARDED_VALVE} refused by the actuator (guard-failed)`,
      )
      await page.click(`${alert} [data-testid="alert-acknowledge"]`)
      await page.waitForFunction(`document.querySelector(${JSON.stringify(alert)}) === null`)

      await page.reload({ waitUntil: 'load' })
      await page.waitForSelector('[data-testid="link-status"][data-state="connected"]')
      // The refused proposal is back in the console's state (its card), so the alert's source is
      // there: it is hidden because this operator acknowledged it.
      await openTab(page, 'command')
      await page.waitForSelector(
        `[data-testid="proposal"][data-id="${refused.proposal.id}"] [data-testid="proposal-refusal"]`,
      )
      await openTab(page, 'alerts')
      await page.waitForSelector('[data-testid="view-alerts"]')
      expect(await page.$(alert)).toBeNull()
      expect(await textOf(page, '[data-testid="view-alerts"] .summary')).toMatch(
        /[1-9]\d* acknowledged by you/,
      )

      const bob = await pairedConsole('tablet-bob')
      try {
        await openTab(bob.page, 'alerts')
        await bob.page.waitForSelector(alert)
      } finally {
        await bob.context.close()
      }
    },
    TEST_TIMEOUT_MS,
  )

  it(
    "the Twin's Close now on an open valve closes it, through a proposal the policy allowed",
    async () => {
      const { page } = alice
      const opening = await propose(CLOSABLE_VALVE, ['--arg', 'durationSec=300'])
      await approveOnCard(page, opening.proposal.id)
      await waitFor('the valve to open', async () => ((await valveOpen(CLOSABLE_VALVE)) ? true : undefined))

      await openTab(page, 'twin')
      const valve = `[data-testid="twin-actuator"][data-source="${CLOSABLE_VALVE_DEVICE}"]`
      await page.waitForSelector(`${valve}[data-open="true"] [data-testid="safe-state-button"]`)
      await page.click(`${valve} [data-testid="safe-state-button"]`)
      await page.waitForSelector(`${valve}[data-open="false"]`)
      expect(await page.$(`${valve} [data-testid="safe-state-button"]`)).toBeNull()
      expect(await valveOpen(CLOSABLE_VALVE)).toBe(false)

      // Not a side door: a proposal for the manifest's safe-state operation, authored by this
      // operator, that the command center's policy allowed and the actuator carried out.
      const close = (await proposals()).find(
        (entry) => entry.proposal.capability === CLOSABLE_VALVE && entry.proposal.operation === 'close',
      )
      expect(close).toMatchObject({ state: 'completed', proposal: { author: { kind: 'operator' } } })
      await openTab(page, 'command')
      const card = `[data-testid="proposal"][data-id="${close?.proposal.id}"]`
      await page.waitForSelector(`${card}[data-state="completed"]`)
      expect(await textOf(page, card)).toContain('(you)')
    },
    TEST_TIMEOUT_MS,
  )
})
