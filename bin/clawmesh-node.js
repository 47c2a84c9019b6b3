#!/usr/bin/env -S node --max-semi-space-size=1
// Launcher of `clawmesh-node` (bin/launch.js picks the form of the code: sources, dist or bundle). A
// node stays up: run as a command, the line above starts Node with the young-generation lever of
// bin/memory-levers.js; started without it, the node first relaunches itself with the levers, before
// anything else is loaded.
import { launch } from './launch.js'
import { relaunchWithMemoryLevers } from './memory-levers.js'

relaunchWithMemoryLevers()
await launch('clawmesh-node', 'node/bin/clawmesh-node')
