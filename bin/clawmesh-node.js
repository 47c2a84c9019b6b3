#!/usr/bin/env node
// Launcher of `clawmesh-node`: in a checkout it runs the TypeScript source (node/bin/clawmesh-node.ts, Node strips the
// types); in an installed package, where only the compiled code ships, it runs dist/node/bin/clawmesh-node.js.
import { existsSync } from 'node:fs'

const source = new URL('../node/bin/clawmesh-node.ts', import.meta.url)
await import(
  existsSync(source) ? source.href : new URL('../dist/node/bin/clawmesh-node.js', import.meta.url).href
)
