/**
 * Evidence tiers as the RECEIVER computes them. A frame's own `trust.tier` is what its origin says
 * about itself, and no device may vouch for itself: every hop that decides on actuation (the command
 * center creating or approving a proposal, the actuator executing it) assesses each cited frame from
 * its own records — which device the site binds each sensor and actuator to, and what kind of
 * frame it is — and the policy decides on those facts alone (protocol/safety/policy.ts).
 *
 * - An observation is measured (T1, one probe) only when it names a site sensor and comes from the
 *   device the site binds that sensor to, with the sensor's own zone and metric.
 * - An actuator's report of its own state (an observation naming the actuator, or an `execution`
 *   frame for its capability) is the actuator's feedback (T3) only from the device bound to it.
 * - Everything else — capability updates, planner inferences and answers, human input typed into a
 *   chat, events, proposals, a frame from an unbound device — is no evidence for actuation (T0).
 */
import type { Frame } from '../context/frame.ts'
import { hostCapability as hostCapabilityOf } from '../host-ops/findings.ts'
import { CLOCK_SKEW_TOLERANCE_MS } from './constants.ts'
import type { TrustTier } from './proposal.ts'

/** Where the site puts a sensor or actuator, and the device that serves it (resolved by the
 * receiver from its own site file and trust store). */
export interface DeviceBinding {
  readonly siteId: string
  readonly zone: string
  /** The sensor's metric (absent for actuators). */
  readonly metric?: string
  readonly capability: string
  /** Device ID of the node the site assigns it to; undefined when the receiver cannot resolve it
   * (no trusted device of that name), in which case nothing it sends counts as measured. */
  readonly deviceId: string | undefined
}

export interface SiteBindingsView {
  /** A site sensor or actuator by its site ID (the `sensor` field of an observation). */
  bySiteId(siteId: string): (DeviceBinding & { readonly kind: 'sensor' | 'actuator' }) | undefined
  /** A site actuator by its capability. */
  actuatorByCapability(capability: string): DeviceBinding | undefined
  /** The device whose own machine `host:<name>` is, from the receiver's records (itself, or the
   * trusted device of that name); absent or undefined: no host's findings count. */
  hostDevice?(capability: string): string | undefined
}

/** What one hop believes about one cited frame. A frame the hop does not hold is T0. */
export interface EvidenceFact {
  readonly frameId: string
  readonly tier: TrustTier
  readonly kind?: Frame['kind']
  readonly zone?: string
  readonly metric?: string
  readonly timestamp?: number
  /** Why the tier is what it is, for refusals and the evidence log. */
  readonly basis: string
}

export function missingEvidence(frameId: string): EvidenceFact {
  return { frameId, tier: 'T0', basis: 'not held by this node' }
}

/** The receiver's assessment of one frame; never reads `frame.trust`. */
export function assessEvidenceFrame(frame: Frame, bindings: SiteBindingsView): EvidenceFact {
  const base = { frameId: frame.frameId, kind: frame.kind, timestamp: frame.timestamp }
  if (frame.kind === 'observation') {
    const sensorId = frame.data.sensor
    const binding = sensorId === undefined ? undefined : bindings.bySiteId(sensorId)
    if (binding === undefined) return { ...base, tier: 'T0', basis: 'names no sensor of the site' }
    if (binding.deviceId === undefined || binding.deviceId !== frame.origin) {
      return { ...base, tier: 'T0', basis: `${binding.siteId} is not served by ${frame.origin}` }
    }
    if (frame.data.zone !== undefined && frame.data.zone !== binding.zone) {
      return { ...base, tier: 'T0', basis: `${binding.siteId} is in ${binding.zone}, not ${frame.data.zone}` }
    }
    if (binding.kind === 'sensor' && frame.data.metric !== binding.metric) {
      return {
        ...base,
        tier: 'T0',
        basis: `${binding.siteId} measures ${binding.metric}, not ${frame.data.metric}`,
      }
    }
    return {
      ...base,
      tier: binding.kind === 'sensor' ? 'T1' : 'T3',
      zone: binding.zone,
      metric: frame.data.metric,
      basis: binding.kind === 'sensor' ? `measured by ${binding.siteId}` : `feedback of ${binding.siteId}`,
    }
  }
  if (frame.kind === 'execution') {
    const capability = frame.data['capability']
    const binding = typeof capability === 'string' ? bindings.actuatorByCapability(capability) : undefined
    if (binding?.deviceId === undefined || binding.deviceId !== frame.origin) {
      return { ...base, tier: 'T0', basis: 'execution reported by a device the site does not bind to it' }
    }
    return { ...base, tier: 'T3', zone: binding.zone, basis: `feedback of ${binding.siteId}` }
  }
  if (frame.kind === 'host_findings') return assessHostFindings(frame, bindings)
  return { ...base, tier: 'T0', basis: `a ${frame.kind} frame is not evidence for actuation` }
}

/** A machine's findings about itself back a repair of that same machine (host-ops repairs), and
 * only when the receiver's own records say the origin is that machine. */
function assessHostFindings(
  frame: Extract<Frame, { kind: 'host_findings' }>,
  bindings: SiteBindingsView,
): EvidenceFact {
  const base = { frameId: frame.frameId, kind: frame.kind, timestamp: frame.timestamp }
  const capability = hostCapabilityOf(frame.data.node)
  const device = bindings.hostDevice?.(capability)
  if (device === undefined || device !== frame.origin) {
    return { ...base, tier: 'T0', basis: `findings about ${capability} from a device that is not that host` }
  }
  return {
    ...base,
    tier: 'T3',
    zone: capability,
    metric: frame.data.workflow,
    basis: `${frame.data.workflow} findings of ${capability} by that host`,
  }
}

/** What a manifest asks of evidence for one operation. */
export interface EvidenceRequirement {
  /** The actuator's zone: evidence must be about it. */
  readonly zone: string
  /** Metrics that count (any measured metric when absent); for host findings, the workflows. */
  readonly metrics?: readonly string[]
  /** Frame kinds that count: observations when absent; host repairs name `host_findings`. */
  readonly kinds?: readonly Frame['kind'][]
  readonly maxAgeMs: number
}

/** True when the fact is a measured observation of the zone, of a named metric, fresh when the
 * proposal was made (and not dated after it beyond the tolerated skew). */
export function isRelevantEvidence(
  fact: EvidenceFact,
  requirement: EvidenceRequirement,
  proposalCreatedAt: number,
): boolean {
  const kinds = requirement.kinds ?? ['observation']
  if (fact.tier === 'T0' || fact.kind === undefined || !kinds.includes(fact.kind)) return false
  if (fact.timestamp === undefined) return false
  if (fact.zone !== requirement.zone) return false
  if (requirement.metrics !== undefined && !requirement.metrics.includes(fact.metric ?? '')) return false
  const age = proposalCreatedAt - fact.timestamp
  return age <= requirement.maxAgeMs && age >= -CLOCK_SKEW_TOLERANCE_MS
}
