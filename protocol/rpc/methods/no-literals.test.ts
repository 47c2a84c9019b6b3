/** Every number in the RPC method schemas is a named limit (protocol/limits.ts and the other
 * constants files), with its reason beside it: a bare `.max(64)` here is a limit nobody can find. */
import { readdir, readFile } from 'node:fs/promises'
import { join } from 'node:path'
import ts from 'typescript'
import { describe, expect, it } from 'vitest'

/** Numeric literals in `source` as `line:text`, comments and strings aside (the parser tells them apart). */
function numericLiterals(fileName: string, source: string): string[] {
  const file = ts.createSourceFile(fileName, source, ts.ScriptTarget.Latest, true)
  const found: string[] = []
  const visit = (node: ts.Node) => {
    if (ts.isNumericLiteral(node) || ts.isBigIntLiteral(node)) {
      const { line } = file.getLineAndCharacterOfPosition(node.getStart(file))
      found.push(`${fileName}:${line + 1}: ${node.getText(file)}`)
    }
    ts.forEachChild(node, visit)
  }
  visit(file)
  return found
}

describe('the RPC method schemas', () => {
  it('take every number from a named constant', async () => {
    const files = (await readdir(import.meta.dirname)).filter(
      (name) => name.endsWith('.ts') && !name.endsWith('.test.ts'),
    )
    expect(files).toContain('proposals.ts')
    const offenders: string[] = []
    for (const name of files) {
      offenders.push(...numericLiterals(name, await readFile(join(import.meta.dirname, name), 'utf8')))
    }
    expect(offenders).toEqual([])
  })

  it('would be caught with a bare number, and not for one in a comment or a string', () => {
    const source = [
      '// at most 64, see .max(64)',
      "const id = z.string().describe('up to 128').max(64)",
      'const ttl = z.number().min(10_000)',
    ].join('\n')
    expect(numericLiterals('sample.ts', source)).toEqual(['sample.ts:2: 64', 'sample.ts:3: 10_000'])
  })
})
