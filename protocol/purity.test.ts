/** protocol/ runs in Node and in the browser console: no file in it may import node:* or touch the DOM.
 * Which folders and packages it may import is checked with the rest in test/architecture.test.ts. */
import { readdir, readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'

const NODE_BUILTINS =
  /from\s+['"](node:[^'"]+|fs|path|os|crypto|child_process|net|http|https|url|util|events|stream|buffer)['"]/
const DOM_GLOBALS =
  /\b(window|document|navigator|localStorage|sessionStorage|indexedDB|HTMLElement)\b\s*[.[(]/

async function sourceFiles(directory: string): Promise<string[]> {
  const entries = await readdir(directory, { withFileTypes: true, recursive: true })
  return entries
    .filter((entry) => entry.isFile() && entry.name.endsWith('.ts') && !entry.name.endsWith('.test.ts'))
    .map((entry) => join(entry.parentPath, entry.name))
}

describe('protocol/ purity', () => {
  it('has no node:* imports and no DOM access', async () => {
    const files = await sourceFiles(import.meta.dirname)
    expect(files.length).toBeGreaterThan(5)
    const offenders: string[] = []
    for (const file of files) {
      const text = await readFile(file, 'utf8')
      if (NODE_BUILTINS.test(text)) offenders.push(`${file}: imports a Node built-in`)
      if (DOM_GLOBALS.test(text.replace(/\/\*[\s\S]*?\*\/|\/\/.*$/gm, '')))
        offenders.push(`${file}: uses a DOM global`)
      if (
        /from\s+['"]\.\.\/\.\.\/(node|browser|signaling|runtime)\//.test(text) ||
        /from\s+['"]\.\.\/(node|browser|signaling|runtime)\//.test(text)
      ) {
        offenders.push(`${file}: imports from outside protocol/`)
      }
    }
    expect(offenders).toEqual([])
  })
})
