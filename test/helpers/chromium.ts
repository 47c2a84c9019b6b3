/** Launches Debian's Chromium through puppeteer-core with the flags that work on these machines. */
import puppeteer, { type Browser } from 'puppeteer-core'
import { chromiumMissingMessage, findChromium, isExecutableFile } from './find-chromium.ts'

/** The browser `npm test`'s pre-test step found (same lookup), resolved on first launch. */
export function chromiumPath(): string {
  const lookup = findChromium({ env: process.env, isExecutable: isExecutableFile })
  if (lookup.outcome !== 'found') throw new Error(chromiumMissingMessage(lookup))
  return lookup.path
}

export const CHROMIUM_FLAGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
]

export function launchChromium(extraArgs: readonly string[] = []): Promise<Browser> {
  return puppeteer.launch({
    executablePath: chromiumPath(),
    headless: true,
    args: [...CHROMIUM_FLAGS, ...extraArgs],
  })
}

/** Chromium flag that accepts a server key as if its certificate chained to a trusted root (service
 * worker included): what trusting the local CA does on a tablet. `spkiSha256` is base64, as
 * `clawmesh cert --show --json` prints it (`server.spkiSha256`). */
export function trustServerKeyFlag(spkiSha256: string): string {
  return `--ignore-certificate-errors-spki-list=${spkiSha256}`
}
