/**
 * Test-only code stays out of production paths: no runtime file of protocol/, node/ or signaling/
 * imports from test/ or keeps a `test-*.ts` helper module, and none reads a `CLAWMESH_TEST_*`
 * environment variable (a hook an environment could switch on in the field). Tests inject their
 * hooks instead (e.g. the actuator gate's `beforeDeviceWrite`, passed only by
 * test/helpers/held-execution-node.ts).
 */
import { readdir, readFile } from 'node:fs/promises'
import { basename, join, resolve } from 'node:path'
import { describe, expect, it } from 'vitest'

const ROOT = resolve(import.meta.dirname, '..')
const PRODUCTION_DIRS = ['protocol', 'node', 'signaling']
const IMPORTS_TEST_CODE = /from\s+['"](\.\.\/)+test\/|from\s+['"][^'"]*\/test-[^'"/]*\.ts['"]/

async function runtimeFiles(directory: string): Promise<string[]> {
  const entries = await readdir(directory, { withFileTypes: true, recursive: true })
  return entries
    .filter((entry) => entry.isFile() && entry.name.endsWith('.ts') && !entry.name.endsWith('.test.ts'))
    .map((entry) => join(entry.parentPath, entry.name))
}

describe('production paths', () => {
  it('hold no test helper modules, import nothing from test/, and read no CLAWMESH_TEST_* variable', async () => {
    const files = (await Promise.all(PRODUCTION_DIRS.map((dir) => runtimeFiles(join(ROOT, dir))))).flat()
    expect(files.length).toBeGreaterThan(50)
    const offenders: string[] = []
    for (const file of files) {
      if (basename(file).startsWith('test-')) offenders.push(`${file}: a test helper module`)
      const text = await readFile(file, 'utf8')
      if (IMPORTS_TEST_CODE.test(text)) offenders.push(`${file}: imports test code`)
      if (text.includes('CLAWMESH_TEST_')) offenders.push(`${file}: reads a test hook variable`)
    }
    expect(offenders).toEqual([])
  })
})
