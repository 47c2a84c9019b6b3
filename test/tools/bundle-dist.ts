/**
 * `npm run build`, second step: the three programs bundled with rolldown into dist/bundle/, with
 * their dependencies, as the installed package runs them (bin/launch.js). A command otherwise loads
 * hundreds of small modules — `clawmesh status` over 1,000 — and resolving, reading and compiling
 * each is most of its start-up (issue #22, docs/benchmarks.md). Commands stay lazily loaded: every
 * dynamic import is its own chunk.
 *
 * Every chunk is written flat into dist/bundle/, so every module inlined into one finds the
 * package's files from the same folder (runtime/package-root.ts); the files code reads beside itself
 * (CODE_ASSETS) are copied there at their source paths.
 *
 *   node test/tools/bundle-dist.ts
 */
import { cp, rm } from 'node:fs/promises'
import { builtinModules } from 'node:module'
import { join, resolve } from 'node:path'
import { build, type RolldownLog } from 'rolldown'

const ROOT = resolve(import.meta.dirname, '../..')
const BUNDLE_DIR = join(ROOT, 'dist/bundle')

/** The programs: bundle file name (bin/launch.js imports dist/bundle/<name>.js) → entry source. */
const ENTRIES = {
  clawmesh: 'node/bin/clawmesh.ts',
  'clawmesh-node': 'node/bin/clawmesh-node.ts',
  'clawmesh-relay': 'signaling/bin/clawmesh-relay.ts',
} as const

/** Files the code reads beside itself (runtime/package-root.ts codeAsset), by source path. */
const CODE_ASSETS = ['node/site/demo-farm.json'] as const

/**
 * Left to Node's resolution at run time: a native addon, which finds its binary relative to its own
 * files (node-datachannel, WebRTC, loaded only with a relay), so it must stay in node_modules.
 */
const RUNTIME_PACKAGES = ['node-datachannel'] as const

/**
 * Packages that dependencies import but that are not installed, each from a module only reached
 * by a guarded dynamic import: left as imports. A build that meets any other unresolved import
 * fails instead of shipping a bundle that breaks at run time.
 */
const OPTIONAL_MISSING = new Set([
  'react-devtools-core', // ink's devtools.js, imported only with DEV=true
  '@opentelemetry/api', // @mistralai/mistralai's tracing, imported in a try when a tracer is set
])

/**
 * Built-in modules whose exports include lazy getters that load much more than the module: an ES
 * import of a built-in goes through a facade that reads every export, so `import http from
 * 'node:http'` (from @libp2p/websockets) loads and compiles undici for `http.WebSocket`, and
 * `node:tls` builds `rootCertificates`. The bundle imports these through
 * `process.getBuiltinModule`, which hands over the module object with its getters still lazy; the
 * named exports are the module's plain properties (an import of a getter by name fails the build).
 */
const LAZY_GETTER_BUILTINS = ['http', 'tls'] as const
const BUILTIN_PREFIX = '\0clawmesh-builtin:'

function builtinWithoutFacade(name: string): string {
  const module = process.getBuiltinModule(`node:${name}`) as Record<string, unknown>
  const plain = Object.getOwnPropertyNames(module).filter(
    (key) =>
      /^[A-Za-z_$][\w$]*$/.test(key) && Object.getOwnPropertyDescriptor(module, key)?.get === undefined,
  )
  return [
    `const builtin = process.getBuiltinModule('node:${name}')`,
    'export default builtin',
    ...plain.map((key) => `export const ${key} = builtin.${key}`),
  ].join('\n')
}

const lazyBuiltins = {
  name: 'clawmesh-lazy-builtins',
  resolveId(id: string) {
    const name = id.startsWith('node:') ? id.slice('node:'.length) : id
    return (LAZY_GETTER_BUILTINS as readonly string[]).includes(name) ? `${BUILTIN_PREFIX}${name}` : null
  },
  load(id: string) {
    return id.startsWith(BUILTIN_PREFIX) ? builtinWithoutFacade(id.slice(BUILTIN_PREFIX.length)) : null
  },
}

function isExternal(id: string): boolean {
  if (id.startsWith(BUILTIN_PREFIX)) return false
  const builtin = id.startsWith('node:') ? id.slice('node:'.length) : id
  if ((LAZY_GETTER_BUILTINS as readonly string[]).includes(builtin)) return false
  if (id.startsWith('node:') || builtinModules.includes(id)) return true
  return RUNTIME_PACKAGES.some((name) => id === name || id.startsWith(`${name}/`))
}

const unexpected: string[] = []

function onLog(level: 'info' | 'debug' | 'warn', log: RolldownLog): void {
  if (log.code === 'UNRESOLVED_IMPORT' && OPTIONAL_MISSING.has(log.exporter ?? '')) return
  if (level === 'warn') unexpected.push(`${log.code ?? 'warning'}: ${log.message}`)
}

const started = performance.now()
await rm(BUNDLE_DIR, { recursive: true, force: true })
const { output } = await build({
  input: ENTRIES,
  platform: 'node',
  external: isExternal,
  plugins: [lazyBuiltins],
  onLog,
  output: {
    dir: BUNDLE_DIR,
    format: 'esm',
    sourcemap: true,
    // ASCII only, so V8 holds each chunk as a one-byte string: one em dash in a comment made a
    // whole chunk two-byte, slower to decode and to scan for each function compiled lazily
    // (`clawmesh start` to ready 445-511 -> 383-397 ms p50, `status --json` unchanged, 15 rounds
    // interleaved, docs/benchmarks.md). Doc comments go (the source maps point at the sources);
    // licence comments stay.
    charset: 'ascii',
    comments: { legal: true, annotation: false, jsdoc: false },
    entryFileNames: '[name].js',
    chunkFileNames: '[name]-[hash].js',
  },
})
for (const asset of CODE_ASSETS) await cp(join(ROOT, asset), join(BUNDLE_DIR, asset))
if (unexpected.length > 0) {
  console.error(`bundle-dist: ${unexpected.length} unexpected warning(s):\n${unexpected.join('\n')}`)
  process.exit(1)
}
console.log(
  `bundle-dist: ${output.length} files in ${BUNDLE_DIR} in ${((performance.now() - started) / 1000).toFixed(1)} s`,
)
