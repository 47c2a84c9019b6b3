/** Where a repair may act: a resolved path is inside one of the configured directories, or it is
 * not touched. Symlinks are resolved first, so a link cannot lead a repair out of its paths. */
import { realpath } from 'node:fs/promises'
import { sep } from 'node:path'

export function isInside(path: string, root: string): boolean {
  return path === root || path.startsWith(root.endsWith(sep) ? root : root + sep)
}

/** The configured directory (resolved) `path` (resolved) lies in, or undefined. */
export async function insideConfigured(path: string, roots: readonly string[]): Promise<string | undefined> {
  for (const configured of roots) {
    const root = await realpath(configured).catch(() => undefined)
    if (root !== undefined && isInside(path, root)) return root
  }
  return undefined
}
