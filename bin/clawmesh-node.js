#!/usr/bin/env node
// Launcher of `clawmesh-node` (bin/launch.js picks the form of the code: sources, dist or bundle).
import { launch } from './launch.js'

await launch('clawmesh-node', 'node/bin/clawmesh-node')
