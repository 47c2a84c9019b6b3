/**
 * Where ClawMesh's own files are, whichever of its three forms is running:
 * - the .ts sources in a checkout (this file at runtime/package-root.ts);
 * - tsc's output in dist/ (this file at dist/runtime/package-root.js);
 * - the rolldown bundle in dist/bundle/ (this module inlined into a chunk at dist/bundle/<chunk>.js,
 *   every chunk in that one folder: test/tools/bundle-dist.ts).
 * Code that finds files beside itself (package.json, browser/dist, the bins, the demo farm) goes
 * through here, so the same path works in all three.
 */
import { basename, dirname, join, resolve } from 'node:path'

type CodeLayout = 'sources' | 'dist' | 'bundle'

interface CodeLocation {
  readonly layout: CodeLayout
  /** The folder holding package.json, bin/ and browser/dist: the checkout or the installed package. */
  readonly packageRoot: string
  /** The folder in which code assets keep their source paths (node/site/demo-farm.json). */
  readonly codeRoot: string
}

/** Which form a module directly under `runtime/` (or inlined into a bundle chunk) runs from, by its folder. */
export function codeLocationOf(moduleDir: string): CodeLocation {
  if (basename(moduleDir) === 'bundle' && basename(dirname(moduleDir)) === 'dist')
    return { layout: 'bundle', packageRoot: resolve(moduleDir, '../..'), codeRoot: moduleDir }
  const codeRoot = resolve(moduleDir, '..')
  if (basename(codeRoot) === 'dist') return { layout: 'dist', packageRoot: resolve(codeRoot, '..'), codeRoot }
  return { layout: 'sources', packageRoot: codeRoot, codeRoot }
}

const HERE: CodeLocation = codeLocationOf(import.meta.dirname)

/** The folder holding package.json, bin/ and browser/dist: the checkout or the installed package. */
export const PACKAGE_ROOT: string = HERE.packageRoot

/**
 * A file that ships beside the code (not imported), by its path in the sources, e.g.
 * 'node/site/demo-farm.json': the build copies each into dist/ and dist/bundle/ at the same path.
 */
export function codeAsset(sourcePath: string): string {
  return join(HERE.codeRoot, sourcePath)
}

/**
 * The launcher of one of ClawMesh's programs (bin/clawmesh.js, bin/clawmesh-relay.js): what a
 * process spawned by another (the demo's children, a systemd unit) runs, so it picks the same form
 * of the code and the same start-up settings as a person typing the command.
 */
export function binLauncher(name: 'clawmesh' | 'clawmesh-node' | 'clawmesh-relay'): string {
  return join(PACKAGE_ROOT, 'bin', `${name}.js`)
}
