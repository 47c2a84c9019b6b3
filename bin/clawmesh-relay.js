#!/usr/bin/env node
// Launcher of `clawmesh-relay` (bin/launch.js picks the form of the code: sources, dist or bundle).
import { launch } from './launch.js'

await launch('clawmesh-relay', 'signaling/bin/clawmesh-relay')
