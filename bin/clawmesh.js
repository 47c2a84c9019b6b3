#!/usr/bin/env node
// Launcher of `clawmesh` (bin/launch.js picks the form of the code: sources, dist or bundle); run as a
// command through bin/clawmesh, which starts a node with the memory levers already in place.
// `clawmesh start` stays up as a node: started without the levers (`node bin/clawmesh.js start`), it
// first relaunches itself with them (bin/memory-levers.js), before anything else is loaded; every
// other command exits soon and skips it.
import { launch } from './launch.js'
import { relaunchWithMemoryLevers, startsNode } from './memory-levers.js'

if (startsNode(process.argv)) relaunchWithMemoryLevers()
await launch('clawmesh', 'node/bin/clawmesh')
