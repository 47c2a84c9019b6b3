/**
 * Where ClawMesh's own files are, whether it runs from a checkout (the .ts sources, this file at
 * runtime/package-root.ts) or from an installed package (compiled, this file at dist/runtime/package-root.js).
 * Code that finds files beside itself (package.json, browser/dist, the bins) goes through here.
 */
import { basename, extname, resolve } from 'node:path'

/** The folder holding node/, protocol/, signaling/: the checkout, or the package's dist/. */
const CODE_ROOT: string = resolve(import.meta.dirname, '..')

/** The folder holding package.json and browser/dist: the checkout or the installed package. */
export const PACKAGE_ROOT: string = basename(CODE_ROOT) === 'dist' ? resolve(CODE_ROOT, '..') : CODE_ROOT

/** '.ts' when running the sources, '.js' when running the compiled package. */
const CODE_EXTENSION: string = extname(import.meta.filename)

/** A module of this code base by its path without extension, e.g. 'node/bin/clawmesh'. */
export function codeFile(pathWithoutExtension: string): string {
  return resolve(CODE_ROOT, `${pathWithoutExtension}${CODE_EXTENSION}`)
}
