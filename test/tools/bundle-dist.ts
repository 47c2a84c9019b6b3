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

function isExternal(id: string): boolean {
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
  onLog,
  output: {
    dir: BUNDLE_DIR,
    format: 'esm',
    sourcemap: true,
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
