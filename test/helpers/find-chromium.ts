/**
 * Where the browser tests find a Chromium: `CHROMIUM_PATH` when set (then only there: a path someone
 * named on purpose is never swapped for another browser), else the first executable of the usual
 * install paths. One lookup for the pre-test check (`test/tools/ensure-chromium.ts`) and for the
 * tests that launch the browser (`chromium.ts`), so the check passes exactly when the tests can start.
 * `findChromium` is pure over an injected environment and file check, so its unit test needs no browser.
 */
import { accessSync, constants } from 'node:fs'

/** Debian/Ubuntu packages first (`chromium`, `chromium-browser`), then Google's builds, snap, macOS. */
export const CHROMIUM_CANDIDATE_PATHS: readonly string[] = [
  '/usr/bin/chromium',
  '/usr/bin/chromium-browser',
  '/usr/bin/google-chrome',
  '/usr/bin/google-chrome-stable',
  '/snap/bin/chromium',
  '/Applications/Chromium.app/Contents/MacOS/Chromium',
  '/Applications/Google Chrome.app/Contents/MacOS/Google Chrome',
]

export interface ChromiumLookupInput {
  readonly env: Readonly<Record<string, string | undefined>>
  /** True when `path` is a file this process may execute. */
  readonly isExecutable: (path: string) => boolean
}

export type ChromiumLookup =
  | { readonly outcome: 'found'; readonly path: string; readonly source: 'CHROMIUM_PATH' | 'usual-path' }
  /** `CHROMIUM_PATH` names no executable: a setting to fix, never a reason to install another browser. */
  | { readonly outcome: 'configured-path-missing'; readonly path: string }
  | { readonly outcome: 'missing'; readonly looked: readonly string[] }

export function findChromium({ env, isExecutable }: ChromiumLookupInput): ChromiumLookup {
  const configured = env['CHROMIUM_PATH']
  if (configured !== undefined && configured !== '') {
    return isExecutable(configured)
      ? { outcome: 'found', path: configured, source: 'CHROMIUM_PATH' }
      : { outcome: 'configured-path-missing', path: configured }
  }
  const path = CHROMIUM_CANDIDATE_PATHS.find((candidate) => isExecutable(candidate))
  return path === undefined
    ? { outcome: 'missing', looked: CHROMIUM_CANDIDATE_PATHS }
    : { outcome: 'found', path, source: 'usual-path' }
}

/** What a person types to get a Chromium the tests find. */
export const CHROMIUM_INSTALL_HINT =
  'sudo apt-get install -y chromium   (or set CHROMIUM_PATH=/path/to/chromium)'

/** The next step for a lookup that found nothing, in one message. */
export function chromiumMissingMessage(lookup: Exclude<ChromiumLookup, { outcome: 'found' }>): string {
  if (lookup.outcome === 'configured-path-missing') {
    return (
      `CHROMIUM_PATH is ${lookup.path}, which is not an executable file. ` +
      'Point it at a Chromium or Chrome binary, or unset it to use the usual install paths.'
    )
  }
  return (
    `No Chromium found for the browser tests (looked at CHROMIUM_PATH and ${lookup.looked.join(', ')}). ` +
    `Install one, then run npm test again:\n  ${CHROMIUM_INSTALL_HINT}`
  )
}

/** The real file check: a file this process may execute. */
export function isExecutableFile(path: string): boolean {
  try {
    accessSync(path, constants.X_OK)
    return true
  } catch {
    return false
  }
}
