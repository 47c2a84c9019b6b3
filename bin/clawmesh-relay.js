#!/usr/bin/env node
// Launcher of `clawmesh-relay`: in a checkout it runs the TypeScript source (signaling/bin/clawmesh-relay.ts, Node strips the
// types); in an installed package, where only the compiled code ships, it runs dist/signaling/bin/clawmesh-relay.js.
import { existsSync } from 'node:fs'

const source = new URL('../signaling/bin/clawmesh-relay.ts', import.meta.url)
await import(
  existsSync(source) ? source.href : new URL('../dist/signaling/bin/clawmesh-relay.js', import.meta.url).href
)
