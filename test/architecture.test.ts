/**
 * The architecture as a test (docs/architecture.md, "Who may import whom"): protocol/ is pure and
 * uses only its listed packages; browser/src/ imports only protocol/; runtime/ (what the node and
 * the relay share) only protocol/; signaling/ only runtime/ and protocol/; node/ never browser/ or
 * signaling/; and no module cycle anywhere (type-only imports are erased, so they make none). It reads the real import graph, and proves its own
 * checks on small made-up graphs.
 */
import { describe, expect, it } from 'vitest'
import {
  type FileImports,
  findCycles,
  type ImportGraph,
  type LayerRule,
  layerViolations,
  readImportGraph,
} from './tools/import-graph.ts'

/** What protocol/ may use: pure, isomorphic packages (no node:*, no DOM; protocol/purity.test.ts). */
const PROTOCOL_PACKAGES = new Set([
  '@libp2p/crypto',
  '@libp2p/interface',
  '@libp2p/peer-id',
  '@libp2p/utils',
  '@multiformats/multiaddr',
  '@noble/hashes',
  'uint8arrays',
  'zod',
])

const RULES: readonly LayerRule[] = [
  { folder: 'protocol', mayImport: ['protocol'], packages: PROTOCOL_PACKAGES },
  { folder: 'browser/src', mayImport: ['browser/src', 'protocol'] },
  // package.json: the version every process announces (runtime/version.ts).
  { folder: 'runtime', mayImport: ['runtime', 'protocol', 'package.json'] },
  { folder: 'signaling', mayImport: ['signaling', 'runtime', 'protocol'] },
  { folder: 'node', mayImport: ['node', 'runtime', 'protocol'] },
]

const graph = readImportGraph()

describe('architecture of the repository', () => {
  it('reads the whole tree, every relative import naming a file', () => {
    for (const folder of ['protocol/', 'runtime/', 'node/', 'signaling/', 'browser/src/', 'test/'])
      expect(
        [...graph.keys()].some((file) => file.startsWith(folder)),
        folder,
      ).toBe(true)
    const unresolved = [...graph].flatMap(([file, imports]) => imports.unresolved.map((s) => `${file}: ${s}`))
    expect(unresolved).toEqual([])
  })

  it('every import respects who may import whom', () => {
    expect(layerViolations(graph, RULES)).toEqual([])
  })

  it('has no module cycle', () => {
    expect(findCycles(graph).map((cycle) => cycle.join(' -> '))).toEqual([])
  })
})

const fake = (edges: Record<string, string[] | FileImports>): ImportGraph =>
  new Map(
    Object.entries(edges).map(([file, imports]) => [
      file,
      Array.isArray(imports) ? { files: imports, packages: [], unresolved: [] } : imports,
    ]),
  )

describe('the checks themselves', () => {
  it('report a cycle with its path, and none for a diamond', () => {
    expect(findCycles(fake({ 'a.ts': ['b.ts'], 'b.ts': ['c.ts'], 'c.ts': ['a.ts'] }))).toEqual([
      ['a.ts', 'b.ts', 'c.ts', 'a.ts'],
    ])
    expect(
      findCycles(fake({ 'a.ts': ['b.ts', 'c.ts'], 'b.ts': ['d.ts'], 'c.ts': ['d.ts'], 'd.ts': [] })),
    ).toEqual([])
  })

  it('count a loop closed by a type-only import as no cycle, and one closed by a value import as one', () => {
    const typeBack = { files: ['a.ts'], valueFiles: [], packages: [], unresolved: [] }
    expect(findCycles(fake({ 'a.ts': ['b.ts'], 'b.ts': typeBack }))).toEqual([])
    expect(findCycles(fake({ 'a.ts': ['b.ts'], 'b.ts': ['a.ts'] }))).toEqual([['a.ts', 'b.ts', 'a.ts']])
  })

  it('report a signaling/ import of node/, and a browser/src/ import of runtime/', () => {
    const violations = layerViolations(
      fake({
        'signaling/relay.ts': ['runtime/trust/trust-store.ts', 'node/config.ts'],
        'browser/src/app.tsx': ['protocol/mesh.ts', 'runtime/version.ts'],
        'runtime/trust/trust-store.ts': [],
        'protocol/mesh.ts': [],
      }),
      RULES,
    )
    expect(violations).toHaveLength(2)
    expect(violations[0]).toMatch(/^signaling\/relay\.ts -> node\/config\.ts /)
    expect(violations[1]).toMatch(/^browser\/src\/app\.tsx -> runtime\/version\.ts /)
  })

  it('report a package protocol/ may not use, but let its tests use test helpers and vitest', () => {
    const violations = layerViolations(
      fake({
        'protocol/codec.ts': { files: [], packages: ['zod', 'libp2p'], unresolved: [] },
        'protocol/codec.test.ts': { files: ['test/helpers/x.ts'], packages: ['vitest'], unresolved: [] },
      }),
      RULES,
    )
    expect(violations).toEqual(['protocol/codec.ts -> package libp2p (not allowed in protocol/)'])
  })
})
