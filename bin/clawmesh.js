#!/usr/bin/env node
// Launcher of `clawmesh`: in a checkout it runs the TypeScript source (node/bin/clawmesh.ts, Node strips the
// types); in an installed package, where only the compiled code ships, it runs dist/node/bin/clawmesh.js.
import { existsSync } from 'node:fs'

const source = new URL('../node/bin/clawmesh.ts', import.meta.url)
await import(existsSync(source) ? source.href : new URL('../dist/node/bin/clawmesh.js', import.meta.url).href)
