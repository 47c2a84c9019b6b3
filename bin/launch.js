// What the bin/ launchers share: Node's module compile cache, then the entry module of the program in
// the form of the code that is here.
//
// Three forms (runtime/package-root.ts finds its files in each):
// - sources: the .ts files of a checkout, Node strips their types;
// - dist: tsc's output, one .js per source file (`npm run build`);
// - bundle: rolldown's bundle in dist/bundle/, ClawMesh and its dependencies in a few dozen chunks
//   (`npm run build`, test/tools/bundle-dist.ts): what an installed package runs, because loading
//   hundreds of small modules is most of a command's start-up (issue #22).
// A checkout runs its sources even when a build is present: a bundle built before the last edit
// would otherwise run stale code, and `npm run build` (the package test runs it) would swap the code
// under every launcher mid-run. $CLAWMESH_CODE (sources, dist or bundle) picks one form, for the
// start-up benchmark and to try a build in a checkout.
import { existsSync } from 'node:fs'
import module from 'node:module'

const CODE_FORMS = ['sources', 'dist', 'bundle']

/**
 * Runs program `bin` (clawmesh, clawmesh-node, clawmesh-relay), whose entry is `sourcePath` in the
 * sources without extension (node/bin/clawmesh).
 */
export async function launch(bin, sourcePath) {
  // Cache the compiled code of every module (Node >= 22.1): a command then skips parsing (and type
  // stripping) of the files it loaded last time. $NODE_COMPILE_CACHE, when set, chooses the directory.
  module.enableCompileCache?.()
  const entries = {
    sources: new URL(`../${sourcePath}.ts`, import.meta.url),
    dist: new URL(`../dist/${sourcePath}.js`, import.meta.url),
    bundle: new URL(`../dist/bundle/${bin}.js`, import.meta.url),
  }
  const forced = process.env.CLAWMESH_CODE
  if (forced !== undefined && forced !== '') {
    if (!CODE_FORMS.includes(forced) || !existsSync(entries[forced])) {
      console.error(
        `CLAWMESH_CODE=${forced}: no such form of the code here (${CODE_FORMS.join(', ')}; dist and bundle need \`npm run build\`)`,
      )
      process.exit(2)
    }
    return import(entries[forced].href)
  }
  const form = ['sources', 'bundle', 'dist'].find((candidate) => existsSync(entries[candidate]))
  return import(entries[form ?? 'dist'].href)
}
