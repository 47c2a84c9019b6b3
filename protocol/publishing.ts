/**
 * How a node's publish window crosses the wire (`mesh.health`'s `publishing`) and is worded
 * wherever an operator reads it (`clawmesh status`, the console's Telemetry card): how long the node
 * holds the frames it publishes to batch them, and the CPU pressure behind that (null where the
 * kernel reports none).
 */
import { z } from 'zod'

/** CPU pressure is a share of recent time (Linux PSI `some avg10` / 100): from none to all of it. */
const CPU_PRESSURE_NONE = 0
const CPU_PRESSURE_ALL = 1

export const publishingStatusSchema = z.object({
  windowMs: z.number().nonnegative(),
  cpuPressure: z.number().min(CPU_PRESSURE_NONE).max(CPU_PRESSURE_ALL).nullable(),
})
export type PublishingStatus = z.infer<typeof publishingStatusSchema>

export function describePublishing(publishing: PublishingStatus): string {
  const pressure =
    publishing.cpuPressure === null ? 'not reported' : `${Math.round(publishing.cpuPressure * 100)} %`
  return `frames batched within ${publishing.windowMs.toFixed(1)} ms (CPU pressure ${pressure})`
}
