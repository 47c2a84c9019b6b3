/**
 * Watches a trust file for changes made by another process (`clawmesh trust add` while a node or
 * relay runs) and calls back once per burst: editors and atomic renames fire several events.
 */
import { type FSWatcher, watch } from 'node:fs'
import { mkdir } from 'node:fs/promises'
import { dirname } from 'node:path'

/** Coalesces bursts of file-change notifications. */
export const TRUST_RELOAD_DEBOUNCE_MS = 100

export async function watchTrustFile(path: string, onChange: () => Promise<void>): Promise<FSWatcher> {
  const directory = dirname(path)
  await mkdir(directory, { recursive: true, mode: 0o700 })
  let timer: ReturnType<typeof setTimeout> | undefined
  const watcher = watch(directory, (_event, filename) => {
    if (filename !== null && !path.endsWith(filename)) return
    clearTimeout(timer)
    timer = setTimeout(() => void onChange(), TRUST_RELOAD_DEBOUNCE_MS)
  })
  watcher.unref()
  return watcher
}
