/**
 * Lists exports of the production code (protocol/, runtime/, node/, signaling/, browser/src/) that
 * no other file names: candidates to un-export or delete. Names are matched as identifiers across every
 * TypeScript file of the repository, so a name that only a test (or a re-export) mentions is listed
 * separately, and a name shared by two unrelated exports can hide one of them: a list to review,
 * not to delete blindly.
 *
 *   node test/tools/unused-exports.ts [--json]
 */
import { readdirSync, readFileSync } from 'node:fs'
import { join, relative } from 'node:path'

const ROOT = join(import.meta.dirname, '../..')
const PRODUCTION_DIRS = ['protocol', 'runtime', 'node', 'signaling', 'browser/src']
const SCANNED_DIRS = [...PRODUCTION_DIRS, 'test', 'browser']
const SKIPPED = new Set(['node_modules', 'dist', '.git'])

function sourceFiles(dir: string): string[] {
  const entries = readdirSync(join(ROOT, dir), { withFileTypes: true })
  return entries.flatMap((entry) => {
    const path = join(dir, entry.name)
    if (entry.isDirectory()) return SKIPPED.has(entry.name) ? [] : sourceFiles(path)
    return /\.tsx?$/.test(entry.name) && !entry.name.endsWith('.d.ts') ? [path] : []
  })
}

const isTest = (path: string) => /\.(test|bench)\.tsx?$/.test(path) || path.startsWith('test/')

export type ExportKind = 'value' | 'type'

/** Names a file exports by declaration or in a local `export { … }` list (not `export … from`),
 * each with whether it is a type (interface, type alias) or a value. */
export function exportedNames(text: string): Map<string, ExportKind> {
  const names = new Map<string, ExportKind>()
  const declaration =
    /^export\s+(?:declare\s+)?(?:default\s+)?(?:async\s+)?(?:abstract\s+)?(const|let|var|function\*?|class|interface|type|enum)\s+([A-Za-z_$][\w$]*)/gm
  for (const match of text.matchAll(declaration)) {
    names.set(match[2] as string, match[1] === 'interface' || match[1] === 'type' ? 'type' : 'value')
  }
  for (const match of text.matchAll(/^export\s+(type\s+)?\{([^}]*)\}(?!\s*from)/gm)) {
    for (const part of (match[2] as string).split(',')) {
      const typeOnly = match[1] !== undefined || /^\s*type\s/.test(part)
      const name = part
        .trim()
        .replace(/^type\s+/, '')
        .split(/\s+as\s+/)
        .pop()
      if (name) names.set(name, typeOnly ? 'type' : 'value')
    }
  }
  return names
}

const identifiers = (text: string) => new Set(text.match(/[A-Za-z_$][\w$]*/g) ?? [])

const files = [...new Set(SCANNED_DIRS.flatMap(sourceFiles))].map((path) => relative(ROOT, join(ROOT, path)))
const index = new Map(files.map((path) => [path, identifiers(readFileSync(join(ROOT, path), 'utf8'))]))

interface Finding {
  file: string
  name: string
  kind: ExportKind
}
const unused: Finding[] = []
const testOnly: Finding[] = []
for (const file of files) {
  if (isTest(file) || !PRODUCTION_DIRS.some((dir) => file.startsWith(`${dir}/`))) continue
  for (const [name, kind] of exportedNames(readFileSync(join(ROOT, file), 'utf8'))) {
    const users = files.filter((other) => other !== file && index.get(other)?.has(name))
    if (users.length === 0) unused.push({ file, name, kind })
    else if (users.every(isTest)) testOnly.push({ file, name, kind })
  }
}

function print(title: string, findings: readonly Finding[]): void {
  for (const kind of ['value', 'type'] as const) {
    const ofKind = findings.filter((finding) => finding.kind === kind)
    console.log(`${title}, ${kind}s (${ofKind.length}):`)
    for (const { file, name } of ofKind) console.log(`  ${file}  ${name}`)
  }
}

if (process.argv.includes('--json')) {
  console.log(JSON.stringify({ unused, testOnly }, null, 2))
} else {
  print('exported, named by no other file', unused)
  print('exported, named only by tests', testOnly)
}
