/**
 * Benchmark: the operator console's initial download (gzip) and time to first Topology paint
 * against a running command center + field node, headless Chromium, p50 of N loads.
 *
 *   node test/bench/console-load.bench.ts [--runs 10]
 *
 * Download: every file a fresh, unpaired profile fetches on first open (gzip -9 of each, as a
 * compressing server would send it), plus what the service worker precaches afterwards.
 * First Topology paint: a paired console opened in a new tab until the command center's and the
 * field node's cards are on screen from live data (not the stored snapshot: no stale banner) — once over the network (cache and service worker bypassed) and
 * once from the service worker's precache (a returning tablet).
 * Prints a table and writes test/bench/results/console-load.json.
 */
import { mkdir, readFile, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { parseArgs } from 'node:util'
import { gzipSync } from 'node:zlib'
import type { Browser, Page } from 'puppeteer-core'
import { launchChromium } from '../helpers/chromium.ts'
import { CONSOLE_DIST, ensureConsoleBuilt } from '../helpers/console-build.ts'
import { loopbackConsoleConfig, startConsoleServer } from '../helpers/console-server.ts'
import { startFarmSite } from '../helpers/farm-site.ts'
import { cliJson, REPO_ROOT, stopAll } from '../helpers/processes.ts'

const { values } = parseArgs({ options: { runs: { type: 'string', default: '10' } } })
const runs = Number(values.runs)
const TOPOLOGY_READY = '[data-testid="topology-node"][data-name="field-1"]'

function p50(samples: number[]): number {
  const sorted = [...samples].sort((a, b) => a - b)
  return sorted[Math.floor((sorted.length - 1) / 2)] as number
}

async function gzipOf(relative: string): Promise<number> {
  return gzipSync(await readFile(join(CONSOLE_DIST, relative)), { level: 9 }).byteLength
}

async function firstTopologyPaint(browser: Browser, url: string, network: boolean): Promise<number> {
  const page: Page = await browser.newPage()
  try {
    if (network) {
      await page.setCacheEnabled(false)
      const session = await page.createCDPSession()
      await session.send('Network.enable')
      await session.send('Network.setBypassServiceWorker', { bypass: true })
    }
    await page.goto(url, { waitUntil: 'domcontentloaded' })
    // Live, not the stored snapshot: the cards are there and the stale banner is gone.
    await page.waitForFunction(
      `document.querySelector(${JSON.stringify(TOPOLOGY_READY)}) !== null && document.querySelector('[data-testid="stale-banner"]') === null`,
      { timeout: 30_000, polling: 'mutation' },
    )
    return (await page.evaluate('performance.now()')) as number
  } finally {
    await page.close()
  }
}

await ensureConsoleBuilt()
const site = await startFarmSite()
const { cc, dirs } = site
const ccId = site.ids.cc
const server = await startConsoleServer(() => loopbackConsoleConfig(ccId, cc.port))
const browser = await launchChromium()
try {
  // Cold open in a fresh profile: what the page itself fetches before it can show anything.
  const fresh = await browser.createBrowserContext()
  const coldPage = await fresh.newPage()
  const fetched = new Set<string>()
  coldPage.on('request', (request) => {
    const path = new URL(request.url()).pathname
    if (!path.endsWith('/console-config.json')) fetched.add(path === '/' ? '/index.html' : path)
  })
  await coldPage.goto(server.url, { waitUntil: 'load' })
  await coldPage.waitForSelector('[data-testid="pairing-screen"]')
  await fresh.close()
  const initial = await Promise.all(
    [...fetched].map(async (path) => ({ path, gzipBytes: await gzipOf(path) })),
  )
  const initialGzip = initial.reduce((sum, file) => sum + file.gzipBytes, 0)
  const manifest = await readFile(join(CONSOLE_DIST, 'sw.js'), 'utf8')
  const precached = [...manifest.matchAll(/"url": "([^"]+)"/g)].map((match) => match[1] as string)
  const precacheGzip = (await Promise.all(precached.map((path) => gzipOf(`/${path}`).catch(() => 0)))).reduce(
    (sum, bytes) => sum + bytes,
    0,
  )

  // Pair the default profile once; every later load is a returning, paired console.
  const page = await browser.newPage()
  await page.goto(server.url, { waitUntil: 'load' })
  const { code } = await cliJson<{ code: string }>(['pair', '--operator', 'bench', '--url', cc.url], dirs.cc)
  await page.waitForSelector('[data-testid="pairing-code-input"]')
  await page.type('[data-testid="pairing-code-input"]', code)
  await page.click('[data-testid="pairing-submit"]')
  await page.waitForSelector(TOPOLOGY_READY, { timeout: 30_000 })
  await page.waitForFunction('navigator.serviceWorker.controller !== null || navigator.serviceWorker.ready')
  await page.close()

  const network: number[] = []
  const precache: number[] = []
  for (let run = 0; run < runs; run++) {
    network.push(await firstTopologyPaint(browser, server.url, true))
    precache.push(await firstTopologyPaint(browser, server.url, false))
  }
  const result = {
    runs,
    initialDownload: { files: initial, gzipBytes: initialGzip, targetBytes: 300 * 1024 },
    serviceWorkerPrecache: { files: precached.length, gzipBytes: precacheGzip },
    firstTopologyPaintMs: {
      network: { p50: p50(network), samples: network },
      serviceWorker: { p50: p50(precache), samples: precache },
      targetMs: 1_500,
    },
    note: 'headless Chromium on a shared 2-core machine with other work running; loopback, no TLS',
  }
  console.table({
    'initial download (gzip KB)': { value: (initialGzip / 1024).toFixed(1), target: '≤ 300' },
    'precache (gzip KB)': { value: (precacheGzip / 1024).toFixed(1), target: '' },
    'first Topology paint, network, p50 (ms)': { value: p50(network).toFixed(0), target: '< 1500' },
    'first Topology paint, service worker, p50 (ms)': { value: p50(precache).toFixed(0), target: '< 1500' },
  })
  await mkdir(join(REPO_ROOT, 'test/bench/results'), { recursive: true })
  await writeFile(
    join(REPO_ROOT, 'test/bench/results/console-load.json'),
    `${JSON.stringify(result, null, 2)}\n`,
  )
} finally {
  await browser.close()
  await server.close()
  await stopAll()
}
