/** What every host workflow is given, and small helpers to write findings. */
import {
  FINDING_EVIDENCE_MAX,
  FINDING_TEXT_MAX_CHARS,
  type Finding,
  type FindingEvidence,
} from '../../protocol/host-ops/findings.ts'
import type { TrustedPeer } from '../../runtime/trust/trust-store.ts'
import type { HostOpsSettings } from './settings.ts'

export interface HostWorkflowContext {
  readonly nodeName: string
  /** This node's `host:<name>` capability (next actions name it). */
  readonly capability: string
  readonly settings: HostOpsSettings
  readonly stateDir: string
  readonly trust: { list(): TrustedPeer[]; isExpired(deviceId: string): boolean }
  /** ClawMesh's own state: uptime, memory, event-loop lag, peers. */
  readonly self: () => { uptimeMs: number; eventLoopLagP99Ms: number; connectedPeers: number }
  /** Epoch ms by which the run must be done (HOST_WORKFLOW_BUDGET_MS from its start). */
  readonly deadline: number
}

export interface WorkflowOutput {
  readonly findings: Finding[]
  readonly facts?: Record<string, string | number>
}

type FindingInput = Omit<Finding, 'evidence' | 'nextActions' | 'recommendation'> & {
  evidence?: FindingEvidence[]
  recommendation?: string
  nextActions?: Finding['nextActions']
}

/** A finding with its texts cut to the format's limits (facts come from the machine, unbounded). */
export function finding(input: FindingInput): Finding {
  const cut = (text: string) =>
    text.length > FINDING_TEXT_MAX_CHARS ? `${text.slice(0, FINDING_TEXT_MAX_CHARS - 1)}…` : text
  return {
    id: input.id,
    check: input.check,
    status: input.status,
    risk: input.risk,
    summary: cut(input.summary),
    evidence: (input.evidence ?? [])
      .slice(0, FINDING_EVIDENCE_MAX)
      .map((item) => ({ source: item.source.slice(0, 128), fact: cut(item.fact) })),
    recommendation: cut(input.recommendation ?? ''),
    nextActions: input.nextActions ?? [],
  }
}

/** A check whose source is absent on this machine: said, never passed off as healthy. */
export function unavailable(id: string, check: string, reason: string, source: string): Finding {
  return finding({
    id,
    check,
    status: 'unavailable',
    risk: 'low',
    summary: `${check}: not checked (${reason})`,
    evidence: [{ source, fact: reason }],
    recommendation: `nothing is concluded about ${check} here: make ${source} available to this node to have it checked`,
  })
}
