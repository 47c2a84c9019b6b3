/**
 * The alerts panel's content, derived from what the console already holds (no RPC of its own):
 * - threshold crossings: a sensor's reading that reports an alarm after one that did not (the
 *   sensor judges against its own band and says so in the frame's `alarm` and `threshold`);
 * - refusals the command center counted and pushed to its event ring (`mesh.events`: any type
 *   with a `refused` segment — `safety.refused.<code>`, `rpc.refused.<code>`,
 *   `peer.refused.untrusted`, `trust.operator.refused.<reason>`, …), the same ones its
 *   refusal window counts for `mesh.health`;
 * - proposals a hop refused, with the code on their record (an operator's own rejection is not an
 *   alert: it was a decision).
 * Newest first. Each alert has an ID that stays the same across reloads (frame ID, event time and
 * sequence number, proposal hash), so an acknowledgement keeps it hidden.
 */
import type { MeshEvent, ProposalRecordWire } from '../../../protocol/rpc/methods.ts'
import type { ObservationPoint } from './mesh-state.ts'
import { meaningOf } from './proposal-refusal.ts'

/** Alerts the panel lists at most; older ones are still counted as hidden, never silently dropped
 * from the count. */
export const MAX_ALERTS_SHOWN = 100

export type AlertKind = 'threshold' | 'refusal'

export interface Alert {
  readonly id: string
  readonly kind: AlertKind
  readonly at: number
  readonly title: string
  readonly detail: string
  /** The refusal's code (a policy code, or the event type's last segment). */
  readonly code?: string
}

export interface AlertSources {
  readonly observations: readonly ObservationPoint[]
  readonly events: readonly MeshEvent[]
  readonly proposals: readonly ProposalRecordWire[]
}

/** Every alert the held state shows, newest first. */
export function deriveAlerts(sources: AlertSources): Alert[] {
  return [
    ...thresholdAlerts(sources.observations),
    ...refusalEventAlerts(sources.events),
    ...proposalRefusalAlerts(sources.proposals),
  ].sort((a, b) => b.at - a.at || a.id.localeCompare(b.id))
}

/** The alerts an operator has not acknowledged yet, newest first. */
export function unacknowledged(alerts: readonly Alert[], acknowledged: ReadonlySet<string>): Alert[] {
  return alerts.filter((alert) => !acknowledged.has(alert.id))
}

/**
 * A crossing is a reading in alarm whose previous reading from the same sensor was not. A sensor
 * already in alarm at the oldest reading held has crossed before the console's window: it is one
 * alert per sensor (`…:ongoing`), so the window moving on does not raise it again and again.
 */
export function thresholdAlerts(observations: readonly ObservationPoint[]): Alert[] {
  const previous = new Map<string, boolean>()
  const alerts: Alert[] = []
  for (const point of [...observations].sort((a, b) => a.at - b.at)) {
    const alarm = point.alarm === true
    const before = previous.get(point.source)
    previous.set(point.source, alarm)
    if (!alarm || before === true) continue
    alerts.push({
      id: before === undefined ? `threshold:${point.source}:ongoing` : `threshold:${point.frameId}`,
      kind: 'threshold',
      at: point.at,
      title: `${point.zone === undefined ? '' : `${point.zone} `}${point.metric} ${describeCrossing(point)}`,
      detail: `${point.source} on ${point.originName} read ${formatReading(point)}${before === undefined ? ' (already out of band at the oldest reading held)' : ''}`,
    })
  }
  return alerts
}

function describeCrossing(point: ObservationPoint): string {
  const { low, high } = point.threshold ?? {}
  if (low !== undefined && point.value < low) return `below its low threshold ${low} ${point.unit}`
  if (high !== undefined && point.value > high) return `above its high threshold ${high} ${point.unit}`
  return 'outside its band'
}

function formatReading(point: ObservationPoint): string {
  const value = Number.isInteger(point.value) ? String(point.value) : point.value.toFixed(1)
  return `${value} ${point.unit}`
}

const REFUSED_SEGMENT = /(^|\.)refused(\.|$)/

/** An event the node pushed for a refusal it counted. */
export function isRefusalEvent(event: Pick<MeshEvent, 'type'>): boolean {
  return REFUSED_SEGMENT.test(event.type)
}

export function refusalEventAlerts(events: readonly MeshEvent[]): Alert[] {
  return events.filter(isRefusalEvent).map((event) => {
    const code = event.type.split('.').at(-1) ?? event.type
    return {
      // The time as well as the sequence number: a restarted command center counts from 1 again.
      id: `event:${event.at}:${event.seq}`,
      kind: 'refusal',
      at: event.at,
      title: `refused: ${event.type}`,
      detail: event.message,
      code,
    }
  })
}

export function proposalRefusalAlerts(proposals: readonly ProposalRecordWire[]): Alert[] {
  return proposals.flatMap((record) => {
    const refusal = record.refusal
    if (refusal === undefined || refusal.code === 'rejected-by-operator') return []
    const { operation, capability } = record.proposal
    const meaning = meaningOf(refusal.code)
    return [
      {
        id: `proposal:${record.hash}`,
        kind: 'refusal' as const,
        at: record.updatedAt,
        title: `${operation} ${capability} refused by the ${refusal.hop} (${refusal.code})`,
        detail: meaning === undefined ? refusal.detail : `${meaning} ${refusal.detail}`,
        code: refusal.code,
      },
    ]
  })
}
