#!/usr/bin/env node
// Launcher of `clawmesh`: in a checkout it runs the TypeScript source (node/bin/clawmesh.ts, Node strips the
// types); in an installed package, where only the compiled code ships, it runs dist/node/bin/clawmesh.js.
import { existsSync } from 'node:fs'
import module from 'node:module'

// Cache the compiled code of every module (Node >= 22.1): a command then skips parsing and type
// stripping of the files it loaded last time. $NODE_COMPILE_CACHE, when set, chooses the directory.
module.enableCompileCache?.()

const source = new URL('../node/bin/clawmesh.ts', import.meta.url)
await import(existsSync(source) ? source.href : new URL('../dist/node/bin/clawmesh.js', import.meta.url).href)
