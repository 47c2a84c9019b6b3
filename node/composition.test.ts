/**
 * Who may import whom inside node/ (docs/architecture.md): the composition root is imported only by
 * the entry points, and the components record only by the root and the factories that take it.
 * A part that reached for the record or the root would wire itself, and the start order would no
 * longer be the root's alone.
 */
import { readdir, readFile } from 'node:fs/promises'
import { join, relative } from 'node:path'
import { describe, expect, it } from 'vitest'

const ROOT_IMPORTERS = ['cli/commands/demo-actuate.ts', 'cli/commands/start.ts', 'local-farm-site.ts']
const COMPONENTS_IMPORTERS = [
  'clawmesh-node.ts',
  'console/console-part.ts',
  'planner/planner-surface.ts',
  'host-ops/open-host-ops.ts',
  'host-ops/fleet-surface.ts',
  'telegram/open-telegram.ts',
  /^rpc\/handlers\/[a-z-]+\.ts$/,
]

async function nodeSources(): Promise<string[]> {
  const entries = await readdir(import.meta.dirname, { withFileTypes: true, recursive: true })
  return entries
    .filter((entry) => entry.isFile() && entry.name.endsWith('.ts') && !entry.name.endsWith('.test.ts'))
    .map((entry) => relative(import.meta.dirname, join(entry.parentPath, entry.name)))
}

const allowed = (file: string, rules: ReadonlyArray<string | RegExp>) =>
  rules.some((rule) => (typeof rule === 'string' ? rule === file : rule.test(file)))

describe('node/ composition', () => {
  it('imports the composition root and the components record only from their allowed places', async () => {
    const files = await nodeSources()
    expect(files.length).toBeGreaterThan(50)
    const offenders: string[] = []
    for (const file of files) {
      if (file.startsWith('bin/')) continue
      const text = await readFile(join(import.meta.dirname, file), 'utf8')
      if (/from\s+['"][./]*\/?clawmesh-node\.ts['"]/.test(text) && !allowed(file, ROOT_IMPORTERS))
        offenders.push(`${file} imports the composition root`)
      if (/from\s+['"](\.\.?\/)+components\.ts['"]/.test(text) && !allowed(file, COMPONENTS_IMPORTERS))
        offenders.push(`${file} imports the components record`)
    }
    expect(offenders).toEqual([])
  })
})
