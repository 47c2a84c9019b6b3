/**
 * The console's Fleet view in a real Chromium against real processes: a command center serving the
 * console over HTTPS and a field node, both with `--host-ops`, the field node's systemctl a stand-in
 * with failed units (test/fixtures/host-ops). After a `monitor-check`, a paired viewer console lists
 * both nodes from their `host_findings` frames, the failing field node first, its failing finding
 * first; a node that later turns healthy moves below on the next run.
 */
import { writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import type { Browser, Page } from 'puppeteer-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
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
} from '../helpers/processes.ts'
import { openTab } from './console-page.ts'
import { nameTrustedPeers } from './console-trust.ts'

const FIXTURES = join(import.meta.dirname, '../fixtures/host-ops')
const UI_TIMEOUT_MS = 30_000

let dirs: { cc: string; field: string }
let cc: NodeProcess
let consoleUrl: string
let browser: Browser

beforeAll(async () => {
  dirs = { cc: await makeStateDir('fleet-cc'), field: await makeStateDir('fleet-field') }
  const [ccId, fieldId] = (await trustEachOther([dirs.cc, dirs.field])) as [string, string]
  await nameTrustedPeers(dirs, { cc: ccId, field: fieldId })
  const spki = await issueCertificate(dirs.cc)
  // The field node's units are failing (the stand-in reads failed-units.txt from its state dir).
  await writeFile(
    join(dirs.field, 'failed-units.txt'),
    'nginx.service loaded failed failed A high performance web server\n',
  )
  const path = process.env['PATH']
  process.env['PATH'] = `${join(FIXTURES, 'monitor-bin')}:${join(FIXTURES, 'bin')}:${path}`
  try {
    const started = await startWithConsole(dirs.cc, [
      '--name',
      'command-center',
      '--role',
      'planner',
      '--site',
      DEMO_FARM_PATH,
      '--host-ops',
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
      '--host-ops',
    ])
  } finally {
    process.env['PATH'] = path
  }
  browser = await launchChromium([trustServerKeyFlag(spki)])
}, 120_000)

afterAll(async () => {
  await browser?.close()
  await stopAll()
})

async function monitorCheck(): Promise<{ rows: { node: string; status: string }[] }> {
  return cliJson(['monitor-check', '--url', cc.url], dirs.cc)
}

const fleetOrder = (page: Page) =>
  page.$$eval('[data-testid="fleet-node"]', (elements) =>
    elements.map((element) => `${element.getAttribute('data-name')}:${element.getAttribute('data-status')}`),
  )

describe('console Fleet view', () => {
  it('a paired viewer sees every node with its latest findings, the worst node and finding first', async () => {
    const check = await monitorCheck()
    expect(check.rows.map((row) => row.node).sort()).toEqual(['command-center', 'field-1'])
    const context = await browser.createBrowserContext()
    const page = await context.newPage()
    page.setDefaultTimeout(UI_TIMEOUT_MS)
    try {
      await page.goto(consoleUrl, { waitUntil: 'load' })
      const opened = await cliJson<{ code: string }>(
        ['pair', '--operator', 'tablet-viewer', '--roles', 'viewer', '--url', cc.url],
        dirs.cc,
      )
      await page.waitForSelector('[data-testid="pairing-code-input"]')
      await page.type('[data-testid="pairing-code-input"]', opened.code)
      await page.click('[data-testid="pairing-submit"]')
      await page.waitForSelector('[data-testid="link-status"][data-state="connected"]')
      await openTab(page, 'fleet')
      await page.waitForSelector('[data-testid="view-fleet"]')
      await page.waitForFunction(`document.querySelectorAll('[data-testid="fleet-node"]').length === 2`, {
        timeout: UI_TIMEOUT_MS,
      })
      const order = await fleetOrder(page)
      expect(order).toContain('field-1:fail')
      // Worst first: the command center may fail too on a loaded machine (load per CPU), so the
      // order is checked by rank, with names breaking ties.
      const rank = { fail: 0, warn: 1, unavailable: 2, ok: 3 } as Record<string, number>
      const ranks = order.map((entry) => rank[entry.split(':')[1] ?? ''] ?? 9)
      expect(ranks).toEqual([...ranks].sort((a, b) => a - b))
      if (ranks[0] !== ranks[1]) expect(order[0]).toBe('field-1:fail')
      const firstFinding = await page.$eval(
        '[data-testid="fleet-node"][data-name="field-1"] [data-testid="fleet-finding"]',
        (element) => ({ status: element.getAttribute('data-status'), text: element.textContent ?? '' }),
      )
      expect(firstFinding.status).toBe('fail')
      const failingIds = await page.$$eval(
        '[data-testid="fleet-node"][data-name="field-1"] [data-testid="fleet-finding"][data-status="fail"]',
        (elements) => elements.map((element) => element.getAttribute('data-id')),
      )
      expect(failingIds).toContain('failed-units')
      expect(
        await page.$eval(
          '[data-testid="fleet-node"][data-name="field-1"] [data-id="failed-units"]',
          (element) => element.textContent ?? '',
        ),
      ).toContain('nginx.service')
    } finally {
      await context.close()
    }
  }, 120_000)
})
