/**
 * Builds the operator console (browser/dist) when it is missing or older than its sources, so the
 * browser tests run on a clean clone. Used as the e2e project's vitest globalSetup and by benches.
 */
import { execFile } from 'node:child_process'
import { readdir, stat } from 'node:fs/promises'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { REPO_ROOT } from './processes.ts'

const execFileAsync = promisify(execFile)
export const CONSOLE_DIST = join(REPO_ROOT, 'browser/dist')
/** Everything the bundle is made from. */
const SOURCES = ['browser/src', 'browser/public', 'browser/index.html', 'browser/vite.config.ts', 'protocol']
const BUILD_TIMEOUT_MS = 5 * 60_000

async function newestMtime(path: string): Promise<number> {
  const info = await stat(path).catch(() => undefined)
  if (info === undefined) return 0
  if (!info.isDirectory()) return info.mtimeMs
  let newest = info.mtimeMs
  for (const entry of await readdir(path, { withFileTypes: true })) {
    newest = Math.max(newest, await newestMtime(join(path, entry.name)))
  }
  return newest
}

export async function ensureConsoleBuilt(): Promise<void> {
  const built = (await stat(join(CONSOLE_DIST, 'index.html')).catch(() => undefined))?.mtimeMs ?? 0
  const sources = Math.max(...(await Promise.all(SOURCES.map((path) => newestMtime(join(REPO_ROOT, path))))))
  if (built > sources) return
  await execFileAsync(
    process.execPath,
    [join(REPO_ROOT, 'node_modules/vite/bin/vite.js'), 'build', '--config', 'browser/vite.config.ts'],
    { cwd: REPO_ROOT, timeout: BUILD_TIMEOUT_MS },
  )
}

/** vitest globalSetup entry. */
export default async function setup(): Promise<void> {
  await ensureConsoleBuilt()
}
