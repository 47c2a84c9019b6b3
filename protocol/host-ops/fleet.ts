/**
 * The fleet view of host operations: `monitor-check` runs `doctor` on every node offering `host:*`
 * and keeps one row per node (stored as a `fleet_check` evidence entry); `monitor-agent` feeds each
 * run to the MonitorGate, which turns a finding's move to `fail` into one alert per crossing, with
 * hysteresis (docs/host-operations.md).
 */
import { z } from 'zod'
import { capabilitySchema } from '../roles.ts'
import {
  FINDING_LABEL_MAX_CHARS,
  FINDING_STATUSES,
  FINDING_TEXT_MAX_CHARS,
  type FindingStatus,
  type FindingsReport,
} from './findings.ts'

/** Nodes one `monitor-check` runs `doctor` on (all at once). */
export const FLEET_CHECK_MAX_NODES = 64
/** Failing finding ids a row names. */
export const FLEET_ROW_FAILING_MAX = 8
/** Consecutive runs in which a finding is not `fail` before its alert re-arms: a value hovering at a
 * threshold (load, free disk) does not alert on every run. */
export const MONITOR_CLEAR_RUNS = 2
/** Finding keys the gate remembers; the oldest are dropped past it (a fleet churns node names). */
export const MONITOR_GATE_MAX_KEYS = 4_096
/** The shortest and longest `monitor-agent` interval. Shorter than a doctor's budget would overlap
 * runs; a day is the longest a person would call "continuous". */
export const MONITOR_INTERVAL_MIN_MS = 5_000
export const MONITOR_INTERVAL_MAX_MS = 24 * 60 * 60 * 1000
/** The id under which an unreachable node is tracked by the gate, like a failing finding. */
export const UNREACHABLE_FINDING_ID = 'node-unreachable'

const label = z.string().min(1).max(FINDING_LABEL_MAX_CHARS)

export const fleetRowSchema = z.strictObject({
  node: label,
  capability: capabilitySchema,
  /** `unreachable`: doctor did not answer (the error says why). */
  status: z.enum([...FINDING_STATUSES, 'unreachable']),
  provider: z.string().max(FINDING_LABEL_MAX_CHARS).optional(),
  counts: z.strictObject({
    fail: z.number().int().nonnegative(),
    warn: z.number().int().nonnegative(),
    unavailable: z.number().int().nonnegative(),
    ok: z.number().int().nonnegative(),
  }),
  /** The failing findings (or the node's reachability), each with its own summary. */
  failing: z
    .array(z.strictObject({ id: label, summary: z.string().max(FINDING_TEXT_MAX_CHARS) }))
    .max(FLEET_ROW_FAILING_MAX),
  /** Summary of the worst finding (or the error). */
  worst: z.string().max(FINDING_TEXT_MAX_CHARS),
  durationMs: z.number().int().nonnegative(),
})
export type FleetRow = z.infer<typeof fleetRowSchema>

export const fleetCheckSchema = z.strictObject({
  /** The node that ran the check. */
  checkedBy: label,
  startedAt: z.number().int().nonnegative(),
  durationMs: z.number().int().nonnegative(),
  rows: z.array(fleetRowSchema).max(FLEET_CHECK_MAX_NODES),
  /** Its entry in the checking node's evidence log. */
  evidenceSeq: z.number().int().nonnegative().optional(),
})
export type FleetCheck = z.infer<typeof fleetCheckSchema>

const STATUS_ORDER: Record<FleetRow['status'], number> = {
  unreachable: 0,
  fail: 1,
  warn: 2,
  unavailable: 3,
  ok: 4,
}

/** Worst first, then by node name. */
export function worstRowFirst(a: FleetRow, b: FleetRow): number {
  return STATUS_ORDER[a.status] - STATUS_ORDER[b.status] || a.node.localeCompare(b.node)
}

/** One node's row from its doctor report. */
export function fleetRowOf(capability: string, report: FindingsReport, provider?: string): FleetRow {
  const counts = { fail: 0, warn: 0, unavailable: 0, ok: 0 }
  for (const finding of report.findings) counts[finding.status]++
  const order: FindingStatus[] = ['fail', 'warn', 'unavailable', 'ok']
  const status = order.find((candidate) => counts[candidate] > 0) ?? 'ok'
  const worst = report.findings.find((finding) => finding.status === status)
  return {
    node: report.node,
    capability,
    status,
    ...(provider === undefined ? {} : { provider: provider.slice(0, FINDING_LABEL_MAX_CHARS) }),
    counts,
    failing: report.findings
      .filter((finding) => finding.status === 'fail')
      .map((finding) => ({ id: finding.id, summary: finding.summary }))
      .slice(0, FLEET_ROW_FAILING_MAX),
    worst: worst?.summary ?? '',
    durationMs: report.durationMs,
  }
}

/** A node whose doctor did not answer. */
export function unreachableRow(capability: string, error: string, durationMs: number): FleetRow {
  return {
    node: capability.slice('host:'.length) || capability,
    capability,
    status: 'unreachable',
    counts: { fail: 0, warn: 0, unavailable: 0, ok: 0 },
    failing: [{ id: UNREACHABLE_FINDING_ID, summary: error.slice(0, FINDING_TEXT_MAX_CHARS) }],
    worst: error.slice(0, FINDING_TEXT_MAX_CHARS),
    durationMs: Math.max(0, Math.round(durationMs)),
  }
}

export type MonitorAlert =
  | { readonly kind: 'failed'; readonly node: string; readonly finding: string; readonly summary: string }
  | { readonly kind: 'recovered'; readonly node: string; readonly finding: string }

interface GateState {
  alerted: boolean
  clearRuns: number
}

/**
 * One alert per crossing: a finding (or a node's reachability) that turns `fail` alerts once; while
 * it stays failing nothing more is said; once it has not been failing for MONITOR_CLEAR_RUNS runs in
 * a row it is reported recovered and may alert again. Pure: state only from the rows it is given.
 */
export class MonitorGate {
  readonly #clearRuns: number
  readonly #maxKeys: number
  readonly #state = new Map<string, GateState>()

  constructor(init: { clearRuns?: number; maxKeys?: number } = {}) {
    this.#clearRuns = init.clearRuns ?? MONITOR_CLEAR_RUNS
    this.#maxKeys = init.maxKeys ?? MONITOR_GATE_MAX_KEYS
  }

  /** Feeds one fleet check; answers the alerts it raises. */
  observe(rows: readonly FleetRow[]): MonitorAlert[] {
    return rows.flatMap((row) => [...this.#failing(row), ...this.#recovered(row)])
  }

  /** Findings failing in this row that had not alerted yet. */
  #failing(row: FleetRow): MonitorAlert[] {
    const alerts: MonitorAlert[] = []
    for (const { id: finding, summary } of row.failing) {
      const key = `${row.node}\u0000${finding}`
      const state = this.#state.get(key) ?? { alerted: false, clearRuns: 0 }
      state.clearRuns = 0
      if (!state.alerted) alerts.push({ kind: 'failed', node: row.node, finding, summary })
      state.alerted = true
      this.#remember(key, state)
    }
    return alerts
  }

  /** Alerted findings of this node that have now stayed clear for the required runs. */
  #recovered(row: FleetRow): MonitorAlert[] {
    const alerts: MonitorAlert[] = []
    const prefix = `${row.node}\u0000`
    for (const [key, state] of this.#state) {
      const finding = key.slice(prefix.length)
      if (!key.startsWith(prefix) || !state.alerted || row.failing.some((item) => item.id === finding))
        continue
      // An unreachable node says nothing about its findings: only reachability can recover then.
      if (row.status === 'unreachable' && finding !== UNREACHABLE_FINDING_ID) continue
      state.clearRuns++
      if (state.clearRuns < this.#clearRuns) continue
      state.alerted = false
      state.clearRuns = 0
      alerts.push({ kind: 'recovered', node: row.node, finding })
    }
    return alerts
  }

  #remember(key: string, state: GateState): void {
    this.#state.delete(key)
    this.#state.set(key, state)
    while (this.#state.size > this.#maxKeys) {
      const oldest = this.#state.keys().next().value
      if (oldest === undefined) break
      this.#state.delete(oldest)
    }
  }
}
