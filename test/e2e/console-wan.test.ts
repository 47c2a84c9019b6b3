/**
 * The console's WAN path in a real Chromium against real processes: a `clawmesh-relay`, a command
 * center serving the console over HTTPS and holding a reservation on the relay, and a field node
 * reachable through the relay. Pairing makes the command center hand the operator certificate to the
 * relay and the field node (`trust.addOperator`); each trusts the operator key until the certificate
 * expires. The browser then dials the field node over WebRTC signalled by the relay and takes the
 * field node's frames straight over that connection — and keeps taking them when the command center
 * is gone.
 */
import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import type { Browser, Page } from 'puppeteer-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { connectCliClient } from '../../node/cli/client-node.ts'
import { DEMO_FARM_PATH } from '../../node/site/site-model.ts'
import { launchChromium, trustServerKeyFlag } from '../helpers/chromium.ts'
import { type HttpsNode, issueCertificate, startWithConsole } from '../helpers/https-command-center.ts'
import {
  cliJson,
  makeStateDir,
  type NodeProcess,
  runCli,
  startNode,
  stopAll,
  trustEachOther,
  waitFor,
} from '../helpers/processes.ts'
import { type RelayProcess, runRelayCli, startRelayProcess } from '../helpers/relay-process.ts'
import { nameTrustedPeers } from './console-trust.ts'

/** node-datachannel WebRTC setup can stall for tens of seconds on a loaded 2-core machine. */
const WEBRTC_TIMEOUT_MS = 120_000
const UI_TIMEOUT_MS = 30_000
/** Chromium hides host ICE candidates behind mDNS names that node-datachannel cannot resolve, and
 * gathers no loopback candidates by default; on a tablet the ICE servers cover this instead. */
const WEBRTC_FLAGS = ['--disable-features=WebRtcHideLocalIpsWithMdns', '--allow-loopback-in-peer-connection']

interface TrustFile {
  peers: Array<{ deviceId: string; name?: string; kind?: string; expiresAt?: number }>
}

let dirs: { cc: string; field: string; relay: string }
let ids: { cc: string; field: string }
let relay: RelayProcess
let cc: HttpsNode
let field: NodeProcess
let browser: Browser
let page: Page

const fieldLink = () => `[data-testid="field-link"][data-device-id="${ids.field}"]`
const framesOverFieldLink = () =>
  page.$eval(fieldLink(), (element) => Number(element.getAttribute('data-frames') ?? '0'))
const trustFile = async (stateDir: string) =>
  JSON.parse(await readFile(join(stateDir, 'mesh', 'trusted-peers.json'), 'utf8')) as TrustFile

beforeAll(async () => {
  dirs = {
    cc: await makeStateDir('wan-cc'),
    field: await makeStateDir('wan-field'),
    relay: await makeStateDir('wan-relay'),
  }
  const [ccId, fieldId] = (await trustEachOther([dirs.cc, dirs.field])) as [string, string]
  ids = { cc: ccId, field: fieldId }
  await nameTrustedPeers(dirs, ids)
  await runRelayCli(dirs.relay, ['trust', 'add', ids.cc, '--name', 'command-center'])
  await runRelayCli(dirs.relay, ['trust', 'add', ids.field, '--name', 'field-1'])
  relay = await startRelayProcess(dirs.relay, ['--command-center', ids.cc])
  for (const dir of [dirs.cc, dirs.field]) {
    const added = await runCli(['trust', 'add', relay.deviceId, '--name', 'relay'], dir)
    if (added.code !== 0) throw new Error(`trust add relay failed: ${added.stderr}`)
  }
  const spki = await issueCertificate(dirs.cc)
  cc = await startWithConsole(dirs.cc, [
    '--name',
    'command-center',
    '--role',
    'planner',
    '--site',
    DEMO_FARM_PATH,
    '--relay',
    relay.address,
  ])
  field = await startNode(dirs.field, [
    '--name',
    'field-1',
    '--field-node',
    '--command-center',
    ids.cc,
    '--peer',
    `${ids.cc}=${cc.node.url}`,
    '--relay',
    relay.address,
  ])
  browser = await launchChromium([trustServerKeyFlag(spki), ...WEBRTC_FLAGS])
}, 180_000)

afterAll(async () => {
  await browser?.close()
  await stopAll()
  await relay?.stop()
})

describe('operator console across WAN', () => {
  it('pairs, reaches the field node over WebRTC through the relay and takes its frames over it, also with the command center down', {
    timeout: 300_000,
  }, async () => {
    page = await browser.newPage()
    page.setDefaultTimeout(UI_TIMEOUT_MS)
    await page.goto(cc.consoleUrl, { waitUntil: 'load' })
    // The field node is listed once the command center counts it as a connected member.
    await waitFor(
      'console-config.json to list field-1 with its relayed WebRTC address',
      async () => {
        const config = (await page.evaluate(
          "fetch('./console-config.json', { cache: 'no-store' }).then((response) => response.json())",
        )) as { fieldNodes?: Array<{ deviceId: string; addrs: string[] }> }
        return config.fieldNodes?.find((node) => node.deviceId === ids.field)
      },
      60_000,
    ).then((listed) => expect(listed.addrs).toContain(`${relay.address}/p2p-circuit/webrtc/p2p/${ids.field}`))
    await page.reload({ waitUntil: 'load' })

    const { code } = await cliJson<{ code: string }>(
      ['pair', '--operator', 'tablet-wan', '--url', cc.node.url],
      dirs.cc,
    )
    await page.waitForSelector('[data-testid="pairing-code-input"]')
    await page.type('[data-testid="pairing-code-input"]', code)
    await page.click('[data-testid="pairing-submit"]')
    await page.waitForSelector('[data-testid="link-status"][data-state="connected"]')

    // The command center handed the certificate on: the relay and the field node trust the operator
    // key as an operator entry that expires with the certificate (in their trust files, so a restart
    // keeps it).
    const operator = (await trustFile(dirs.cc)).peers.find((peer) => peer.kind === 'operator')
    expect(operator?.name).toBe('tablet-wan')
    for (const dir of [dirs.relay, dirs.field]) {
      const entry = await waitFor(`the operator in ${dir}`, async () =>
        (await trustFile(dir)).peers.find((peer) => peer.deviceId === operator?.deviceId),
      )
      expect(entry).toMatchObject({ kind: 'operator', expiresAt: operator?.expiresAt, name: 'tablet-wan' })
    }

    // The browser's own link to field-1: WebRTC, signalled through the relay.
    await page.waitForSelector(`${fieldLink()}[data-state="connected"]`, { timeout: WEBRTC_TIMEOUT_MS })
    const address = await page.$eval(fieldLink(), (element) => element.getAttribute('data-address'))
    expect(address).toContain('/webrtc')
    expect(await page.$eval(fieldLink(), (element) => element.getAttribute('data-path'))).toBe('relay')

    // The field node sees the same: an unlimited WebRTC connection from the operator key.
    const client = await connectCliClient(field.url, dirs.field)
    try {
      const inspect = await client.call('mesh.inspect', {})
      const fromOperator = inspect.connections.filter((link) => link.deviceId === operator?.deviceId)
      expect(fromOperator.some((link) => link.transport === 'webrtc' && !link.limited)).toBe(true)
    } finally {
      await client.close()
    }

    // Frames handed over by field-1 itself (gossip names the forwarding peer) arrive over that link.
    await waitFor(
      'frames from field-1 over the WebRTC link',
      async () => ((await framesOverFieldLink()) > 0 ? true : undefined),
      60_000,
    )

    // Without the command center, the field node's frames keep arriving over the WAN path.
    await cc.node.stop()
    await page.waitForSelector('[data-testid="link-status"]:not([data-state="connected"])')
    const before = await framesOverFieldLink()
    await waitFor(
      'more frames from field-1 while the command center is down',
      async () => ((await framesOverFieldLink()) > before ? true : undefined),
      60_000,
    )
    expect(await page.$eval(fieldLink(), (element) => element.getAttribute('data-state'))).toBe('connected')
  })
})
