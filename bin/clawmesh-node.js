#!/usr/bin/env node
// Launcher of `clawmesh-node` (bin/launch.js picks the form of the code: sources, dist or bundle). A
// node stays up: it first relaunches itself with the memory levers (bin/memory-levers.js), before
// anything else is loaded.
import { launch } from './launch.js'
import { relaunchWithMemoryLevers } from './memory-levers.js'

relaunchWithMemoryLevers()
await launch('clawmesh-node', 'node/bin/clawmesh-node')
