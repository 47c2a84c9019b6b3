/**
 * Host operations findings: the one format every host workflow (`doctor`, `disk-investigate`,
 * `security-check`, `analyze-logs`, `service-check`) returns, appends to the node's evidence log and
 * publishes — in its compact form — as a `host_findings` frame, so a command center's world model
 * holds the latest findings per node and workflow (docs/host-operations.md).
 */
import { z } from 'zod'
import { canonicalJson } from '../canonical.ts'
import { capabilitySchema } from '../roles.ts'
import { EVIDENCE_ENTRY_DATA_MAX_BYTES } from '../safety/constants.ts'

/** The L0 (read-only) workflows: checks, and plans whose actions are proposed separately. */
export const HOST_WORKFLOWS = [
  'doctor',
  'disk-investigate',
  'security-check',
  'analyze-logs',
  'service-check',
  'data-clean-plan',
  'hygiene-plan',
  'autoheal-plan',
] as const
export type HostWorkflow = (typeof HOST_WORKFLOWS)[number]

export const FINDING_STATUSES = ['ok', 'warn', 'fail', 'unavailable'] as const
export type FindingStatus = (typeof FINDING_STATUSES)[number]
export const FINDING_RISKS = ['low', 'medium', 'high', 'critical'] as const
export type FindingRisk = (typeof FINDING_RISKS)[number]
/** L0 read-only, L1 bounded safe repair, L2 destructive, L3 irreversible. */
export const ACTION_LEVELS = ['L0', 'L1', 'L2', 'L3'] as const

/** Findings one run may return: a workflow that finds more summarises (e.g. "and 40 more"). With
 * the text limits below and no evidence lists, 48 findings stay under one evidence entry (64 KiB). */
export const FINDINGS_MAX = 48
/** Evidence facts per finding: enough to cite a handful of lines or entries. */
export const FINDING_EVIDENCE_MAX = 24
/** Next actions per finding. */
export const FINDING_ACTIONS_MAX = 4
/** Length of one summary, recommendation or fact: a line a person reads, not a log dump. */
export const FINDING_TEXT_MAX_CHARS = 300
/** Length of an identifier (finding id, check name, evidence source). */
export const FINDING_LABEL_MAX_CHARS = 128
/** Findings a `host_findings` frame carries (compact form, worst first). */
export const FRAME_FINDINGS_MAX = 32
/** Encoded size of a frame's data: findings past it are left out (and counted in `omitted`), so the
 * frame with its envelope and signature stays below FRAME_MAX_BYTES (16 KiB). */
export const FRAME_FINDINGS_DATA_MAX_BYTES = 12 * 1024
/** Summary length in a frame's compact finding. */
export const FRAME_FINDING_SUMMARY_MAX_CHARS = 160
/** Host facts a frame carries (OS, CPU, memory, disk for `clawmesh list`). */
export const HOST_FACTS_MAX = 16

const label = z.string().min(1).max(FINDING_LABEL_MAX_CHARS)
const text = z.string().max(FINDING_TEXT_MAX_CHARS)

export const findingEvidenceSchema = z.strictObject({ source: label, fact: text })
export type FindingEvidence = z.infer<typeof findingEvidenceSchema>

export const nextActionSchema = z.strictObject({
  capability: capabilitySchema,
  operation: label,
  args: z.record(z.string(), z.union([z.string().max(FINDING_TEXT_MAX_CHARS), z.number(), z.boolean()])),
  level: z.enum(ACTION_LEVELS),
})
export type NextAction = z.infer<typeof nextActionSchema>

export const findingSchema = z.strictObject({
  id: label,
  check: label,
  status: z.enum(FINDING_STATUSES),
  risk: z.enum(FINDING_RISKS),
  summary: text,
  evidence: z.array(findingEvidenceSchema).max(FINDING_EVIDENCE_MAX),
  recommendation: text,
  nextActions: z.array(nextActionSchema).max(FINDING_ACTIONS_MAX),
})
export type Finding = z.infer<typeof findingSchema>

/** A scalar fact about the host (os, kernel, cpus, memTotalMb, diskFreePct, load1, ...). */
const hostFactsSchema = z
  .record(label, z.union([z.string().max(FINDING_LABEL_MAX_CHARS), z.number()]))
  .refine((facts) => Object.keys(facts).length <= HOST_FACTS_MAX, {
    message: `at most ${HOST_FACTS_MAX} host facts`,
  })

export const findingsReportSchema = z.strictObject({
  node: label,
  workflow: z.enum(HOST_WORKFLOWS),
  startedAt: z.number().int().nonnegative(),
  durationMs: z.number().int().nonnegative(),
  /** What the workflow was asked about (a path, a log source, a unit). */
  target: label.optional(),
  facts: hostFactsSchema.optional(),
  findings: z.array(findingSchema).max(FINDINGS_MAX),
})
export type FindingsReport = z.infer<typeof findingsReportSchema>

// Keys in canonical (sorted) order, as every frame data schema (protocol/context/frame.ts).
export const compactFindingSchema = z.strictObject({
  check: label,
  id: label,
  risk: z.enum(FINDING_RISKS),
  status: z.enum(FINDING_STATUSES),
  summary: z.string().max(FRAME_FINDING_SUMMARY_MAX_CHARS),
})

/** The data of a `host_findings` frame: the report without evidence and actions (those are in the
 * origin's evidence log, entry `evidenceSeq`). Evidence only for a repair of the same host, and
 * only from that host (protocol/safety/evidence.ts, protocol/host-ops/repairs.ts). */
export const hostFindingsFrameDataSchema = z.strictObject({
  evidenceSeq: z.number().int().nonnegative().optional(),
  facts: hostFactsSchema.optional(),
  findings: z.array(compactFindingSchema).max(FRAME_FINDINGS_MAX),
  node: label,
  omitted: z.number().int().nonnegative(),
  startedAt: z.number().int().nonnegative(),
  target: label.optional(),
  workflow: z.enum(HOST_WORKFLOWS),
})
export type HostFindingsFrameData = z.infer<typeof hostFindingsFrameDataSchema>

const STATUS_RANK: Record<FindingStatus, number> = { fail: 0, warn: 1, unavailable: 2, ok: 3 }
const RISK_RANK: Record<FindingRisk, number> = { critical: 0, high: 1, medium: 2, low: 3 }

/** Worst first: fail before warn before unavailable before ok, then by risk. */
export function worstFirst(a: Pick<Finding, 'status' | 'risk'>, b: Pick<Finding, 'status' | 'risk'>): number {
  return STATUS_RANK[a.status] - STATUS_RANK[b.status] || RISK_RANK[a.risk] - RISK_RANK[b.risk]
}

/** The overall health of a report: its worst status (`ok` for a report without findings). */
export function overallStatus(findings: readonly Pick<Finding, 'status' | 'risk'>[]): FindingStatus {
  return [...findings].sort(worstFirst)[0]?.status ?? 'ok'
}

/** Room kept in an evidence entry for the entry's own fields. */
const EVIDENCE_ENVELOPE_BYTES = 1_024

/** The report as kept in the evidence log: evidence lists are halved until it fits one entry
 * (FINDINGS_MAX and the text limits make it fit with none). */
export function fitForEvidence(
  report: FindingsReport,
  maxBytes = EVIDENCE_ENTRY_DATA_MAX_BYTES - EVIDENCE_ENVELOPE_BYTES,
): FindingsReport {
  let fitted = report
  let keep = Math.max(0, ...report.findings.map((item) => item.evidence.length))
  while (canonicalJson(fitted).length > maxBytes && keep > 0) {
    keep = Math.floor(keep / 2)
    fitted = {
      ...report,
      findings: report.findings.map((item) => ({ ...item, evidence: item.evidence.slice(0, keep) })),
    }
  }
  return fitted
}

const utf8 = new TextEncoder()

/** The frame form of a report: worst findings first, cut to FRAME_FINDINGS_MAX and to
 * FRAME_FINDINGS_DATA_MAX_BYTES. */
export function compactReport(report: FindingsReport, evidenceSeq?: number): HostFindingsFrameData {
  const sorted = [...report.findings].sort(worstFirst)
  let keep = Math.min(sorted.length, FRAME_FINDINGS_MAX)
  let data = compactOf(report, sorted, keep, evidenceSeq)
  while (keep > 0 && utf8.encode(JSON.stringify(data)).byteLength > FRAME_FINDINGS_DATA_MAX_BYTES) {
    keep--
    data = compactOf(report, sorted, keep, evidenceSeq)
  }
  return data
}

function compactOf(
  report: FindingsReport,
  sorted: readonly Finding[],
  keep: number,
  evidenceSeq: number | undefined,
): HostFindingsFrameData {
  const kept = sorted.slice(0, keep)
  return {
    ...(evidenceSeq === undefined ? {} : { evidenceSeq }),
    ...(report.facts === undefined ? {} : { facts: report.facts }),
    findings: kept.map((finding) => ({
      check: finding.check,
      id: finding.id,
      risk: finding.risk,
      status: finding.status,
      summary: finding.summary.slice(0, FRAME_FINDING_SUMMARY_MAX_CHARS),
    })),
    node: report.node,
    omitted: sorted.length - kept.length,
    startedAt: report.startedAt,
    ...(report.target === undefined ? {} : { target: report.target }),
    workflow: report.workflow,
  }
}

/** The capability a node with host operations offers for its own machine: `host:<node-name>`
 * (lower-cased, other characters than [a-z0-9._-] replaced by `-`), so a caller names the node it
 * means and capability routing reaches exactly that node. */
export function hostCapability(nodeName: string): string {
  const slug = nodeName
    .toLowerCase()
    .replace(/[^a-z0-9._-]/g, '-')
    .replace(/^[^a-z0-9]+/, '')
  return `host:${slug === '' ? 'node' : slug}`
}

export function isHostCapability(capability: string): boolean {
  return capability.startsWith('host:')
}
