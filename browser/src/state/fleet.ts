/**
 * The Fleet view's state: each node's latest host findings per workflow, from the `host_findings`
 * frames the command center's world model holds (polled) and those arriving live, and the nodes
 * ordered worst first (protocol/host-ops/findings.ts decides what "worst" means).
 */
import type { Frame } from '../../../protocol/context/frame.ts'
import {
  type FindingStatus,
  type HostFindingsFrameData,
  overallStatus,
  worstFirst,
} from '../../../protocol/host-ops/findings.ts'

/** `host_findings` frames one poll reads. */
export const HOST_FINDINGS_POLL_LIMIT = 500
/** Reports kept: one per node and workflow, so this bounds nodes × workflows. */
export const HOST_REPORTS_MAX = 512

export interface HostReport extends HostFindingsFrameData {
  readonly origin: string
  readonly at: number
}

/** The latest report per node and workflow, newest frames replacing older ones. */
export function mergeHostReports(current: readonly HostReport[], frames: readonly Frame[]): HostReport[] {
  const incoming = frames.flatMap((frame) =>
    frame.kind === 'host_findings' ? [{ ...frame.data, origin: frame.origin, at: frame.timestamp }] : [],
  )
  if (incoming.length === 0) return current as HostReport[]
  const latest = new Map<string, HostReport>()
  for (const report of [...current, ...incoming]) {
    const key = `${report.origin}\u0000${report.workflow}`
    const seen = latest.get(key)
    if (seen === undefined || seen.at <= report.at) latest.set(key, report)
  }
  return [...latest.values()].sort((a, b) => a.at - b.at).slice(-HOST_REPORTS_MAX)
}

export interface FleetNode {
  readonly origin: string
  readonly node: string
  readonly status: FindingStatus
  readonly checkedAt: number
  readonly facts: Readonly<Record<string, string | number>>
  /** Every finding of the node's latest reports, worst first, with the workflow that found it. */
  readonly findings: readonly (HostFindingsFrameData['findings'][number] & { readonly workflow: string })[]
}

const STATUS_ORDER: Record<FindingStatus, number> = { fail: 0, warn: 1, unavailable: 2, ok: 3 }

/** Nodes with their latest findings, the worst node first (then by name). */
export function fleetNodes(reports: readonly HostReport[]): FleetNode[] {
  const byOrigin = new Map<string, HostReport[]>()
  for (const report of reports) byOrigin.set(report.origin, [...(byOrigin.get(report.origin) ?? []), report])
  const nodes: FleetNode[] = []
  for (const [origin, list] of byOrigin) {
    const findings = list
      .flatMap((report) => report.findings.map((finding) => ({ ...finding, workflow: report.workflow })))
      .sort(worstFirst)
    const newest = [...list].sort((a, b) => b.at - a.at)[0]
    const doctor = list.find((report) => report.workflow === 'doctor')
    nodes.push({
      origin,
      node: newest?.node ?? origin,
      status: overallStatus(findings),
      checkedAt: newest?.at ?? 0,
      facts: doctor?.facts ?? {},
      findings,
    })
  }
  return nodes.sort((a, b) => STATUS_ORDER[a.status] - STATUS_ORDER[b.status] || a.node.localeCompare(b.node))
}
