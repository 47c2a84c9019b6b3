#!/usr/bin/env node
// Launcher of `clawmesh` (bin/launch.js picks the form of the code: sources, dist or bundle).
// `clawmesh start` stays up as a node: it first relaunches itself with the memory levers
// (bin/memory-levers.js), before anything else is loaded; every other command exits soon and skips it.
import { launch } from './launch.js'
import { relaunchWithMemoryLevers, startsNode } from './memory-levers.js'

if (startsNode(process.argv)) relaunchWithMemoryLevers()
await launch('clawmesh', 'node/bin/clawmesh')
