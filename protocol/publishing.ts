/**
 * How a node's publish window is worded wherever an operator reads it (`clawmesh status`, the
 * console's Telemetry card), from `mesh.health`'s `publishing`: how long the node holds the frames
 * it publishes to batch them, and the CPU pressure behind that (null where the kernel reports none).
 */
export function describePublishing(publishing: { windowMs: number; cpuPressure: number | null }): string {
  const pressure =
    publishing.cpuPressure === null ? 'not reported' : `${Math.round(publishing.cpuPressure * 100)} %`
  return `frames batched within ${publishing.windowMs.toFixed(1)} ms (CPU pressure ${pressure})`
}
