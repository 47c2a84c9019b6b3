/**
 * The repository's import graph and the architecture rules over it (test/architecture.test.ts):
 * which top-level folder may import which, which packages protocol/ may use, and no cycles.
 * Imports are read with TypeScript's own pre-processor, so `import type`, `export … from` and
 * dynamic `import()` all count.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs'
import { dirname, join, normalize } from 'node:path'
import ts from 'typescript'

export const ROOT = join(import.meta.dirname, '../..')
const SKIPPED = new Set(['node_modules', 'dist', '.git'])

/** One file's imports: repository files (relative to ROOT) and packages by name. */
export interface FileImports {
  readonly files: readonly string[]
  /** The files imported for a value (not only by `import type` / `export type`): the edges a
   * module cycle is made of. Type-only imports are erased before the code runs. Absent: all. */
  readonly valueFiles?: readonly string[]
  readonly packages: readonly string[]
  /** Relative imports that name no file. */
  readonly unresolved: readonly string[]
}

export type ImportGraph = ReadonlyMap<string, FileImports>

function sourceFiles(dir: string): string[] {
  const entries = readdirSync(join(ROOT, dir), { withFileTypes: true })
  return entries.flatMap((entry) => {
    const path = dir === '.' ? entry.name : join(dir, entry.name)
    if (entry.isDirectory())
      return SKIPPED.has(entry.name) || entry.name.startsWith('.') ? [] : sourceFiles(path)
    return /\.tsx?$/.test(entry.name) && !entry.name.endsWith('.d.ts') ? [path] : []
  })
}

/** `@scope/name/sub` and `name/sub` are the packages `@scope/name` and `name`. */
function packageName(specifier: string): string {
  const parts = specifier.split('/')
  return specifier.startsWith('@') ? parts.slice(0, 2).join('/') : (parts[0] as string)
}

/** Specifiers a file names only in `import type` / `export type` declarations. */
function typeOnlySpecifiers(file: string, text: string): Set<string> {
  const source = ts.createSourceFile(file, text, ts.ScriptTarget.Latest, false)
  const typeOnly = new Set<string>()
  const value = new Set<string>()
  for (const statement of source.statements) {
    let specifier: ts.Expression | undefined
    let isTypeOnly = false
    if (ts.isImportDeclaration(statement)) {
      specifier = statement.moduleSpecifier
      const clause = statement.importClause
      const bindings = clause?.namedBindings
      isTypeOnly =
        clause !== undefined &&
        (clause.isTypeOnly ||
          (clause.name === undefined &&
            bindings !== undefined &&
            ts.isNamedImports(bindings) &&
            bindings.elements.length > 0 &&
            bindings.elements.every((element) => element.isTypeOnly)))
    } else if (ts.isExportDeclaration(statement)) {
      specifier = statement.moduleSpecifier
      isTypeOnly = statement.isTypeOnly
    }
    if (specifier === undefined || !ts.isStringLiteral(specifier)) continue
    ;(isTypeOnly ? typeOnly : value).add(specifier.text)
  }
  for (const specifier of value) typeOnly.delete(specifier)
  return typeOnly
}

export function readImportGraph(): ImportGraph {
  const graph = new Map<string, FileImports>()
  for (const file of sourceFiles('.')) {
    const text = readFileSync(join(ROOT, file), 'utf8')
    const { importedFiles } = ts.preProcessFile(text, true, true)
    const typeOnly = typeOnlySpecifiers(file, text)
    const files: string[] = []
    const valueFiles: string[] = []
    const packages: string[] = []
    const unresolved: string[] = []
    for (const { fileName: specifier } of importedFiles) {
      if (!specifier.startsWith('.')) {
        packages.push(packageName(specifier))
        continue
      }
      const target = normalize(join(dirname(file), specifier))
      if (!existsSync(join(ROOT, target))) {
        unresolved.push(specifier)
        continue
      }
      files.push(target)
      if (!typeOnly.has(specifier)) valueFiles.push(target)
    }
    graph.set(file, { files, valueFiles, packages, unresolved })
  }
  return graph
}

/** A folder's rule: the folders its files may import (its own included) and, when listed, the only
 * packages its production files may use. Test files (`*.test.ts`) may also import test/. */
export interface LayerRule {
  readonly folder: string
  readonly mayImport: readonly string[]
  readonly packages?: ReadonlySet<string>
}

const within = (file: string, folder: string) => file === folder || file.startsWith(`${folder}/`)
const isTestFile = (file: string) => /\.test\.tsx?$/.test(file)

/** Every import that breaks a rule, as `importer -> imported (why)`. */
export function layerViolations(graph: ImportGraph, rules: readonly LayerRule[]): string[] {
  const violations: string[] = []
  for (const [file, imports] of graph) {
    const rule = rules.find((candidate) => within(file, candidate.folder))
    if (rule === undefined) continue
    const allowed = isTestFile(file) ? [...rule.mayImport, 'test'] : rule.mayImport
    for (const target of imports.files) {
      if (!allowed.some((folder) => within(target, folder)))
        violations.push(`${file} -> ${target} (${rule.folder}/ may import only ${allowed.join(', ')})`)
    }
    if (rule.packages !== undefined && !isTestFile(file)) {
      for (const name of imports.packages) {
        if (!rule.packages.has(name))
          violations.push(`${file} -> package ${name} (not allowed in ${rule.folder}/)`)
      }
    }
  }
  return violations
}

/** Every module cycle, each as the path that closes it (`a -> b -> a`), found by a depth-first
 * walk over value imports; one cycle is reported per back edge. A cycle made only through
 * `import type` is not one: nothing of it is left when the code runs. */
export function findCycles(graph: ImportGraph): string[][] {
  const state = new Map<string, 'open' | 'done'>()
  const path: string[] = []
  const cycles: string[][] = []
  const visit = (file: string) => {
    state.set(file, 'open')
    path.push(file)
    const imports = graph.get(file)
    for (const target of imports?.valueFiles ?? imports?.files ?? []) {
      if (!graph.has(target)) continue
      const seen = state.get(target)
      if (seen === 'open') cycles.push([...path.slice(path.indexOf(target)), target])
      else if (seen === undefined) visit(target)
    }
    path.pop()
    state.set(file, 'done')
  }
  for (const file of [...graph.keys()].sort()) if (!state.has(file)) visit(file)
  return cycles
}
