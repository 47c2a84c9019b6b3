/** Builds the host-operations surface from a node's components (the composition root lists it once). */
import type { NodeComponents } from '../components.ts'
import { createHostOpsSurface } from './host-ops-surface.ts'

export function openHostOpsSurface(components: NodeComponents, startedAt: number) {
  return createHostOpsSurface({
    nodeName: components.config.name,
    settings: components.config.hostOps,
    stateDir: components.paths.stateDir,
    router: components.router,
    trust: components.trust,
    self: () => ({
      uptimeMs: Date.now() - startedAt,
      eventLoopLagP99Ms: Math.round(components.lag.sampleP99Ms()),
      connectedPeers: components.membership.entries().filter((entry) => entry.state === 'connected').length,
    }),
    evidence: components.safety.evidence,
    publish: (fields) => components.publish(fields),
    counters: components.counters,
    log: components.log,
  })
}
