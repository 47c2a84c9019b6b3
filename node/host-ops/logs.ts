/**
 * `analyze-logs <source>` (a journal unit, or a log file listed in `hostOps.logSources`) and
 * `service-check <unit>`: recent error/warning patterns grouped and counted with first/last seen and
 * cited lines; a unit's state, unit file, restarts and last log lines. Read-only (L0).
 */
import { open } from 'node:fs/promises'
import { ClawMeshError } from '../../protocol/errors.ts'
import type { Finding } from '../../protocol/host-ops/findings.ts'
import {
  JOURNAL_MAX_LINES,
  JOURNAL_SINCE,
  LOG_CITED_LINES_PER_PATTERN,
  LOG_PATTERNS_MAX,
  LOG_TAIL_MAX_BYTES,
  SERVICE_LOG_LINES,
  SERVICE_RESTARTS_WARN,
} from './constants.ts'
import { groupLogPatterns, parseKeyValues } from './parsers.ts'
import { runTool, systemdNotRunning, type ToolOutcome } from './run-tool.ts'
import { finding, type HostWorkflowContext, unavailable, type WorkflowOutput } from './workflow-context.ts'

/** A systemd unit name; anything else is refused before a tool sees it. */
const UNIT_NAME = /^[A-Za-z0-9@._:\\-]{1,200}$/

function unitName(value: unknown, workflow: string): string {
  if (typeof value !== 'string' || !UNIT_NAME.test(value) || value.startsWith('-'))
    throw new ClawMeshError('INVALID_PARAMS', `${workflow} needs a systemd unit name (e.g. nginx.service)`)
  return value
}

function toolUnavailable(outcome: ToolOutcome, tool: string): string | undefined {
  if (outcome.outcome === 'unavailable') return outcome.reason
  const notRunning = systemdNotRunning(outcome)
  if (notRunning !== undefined) return notRunning
  if (outcome.outcome === 'failed' && outcome.stdout.trim() === '')
    return `${tool} exited ${outcome.code}: ${outcome.stderr.trim().slice(0, 200)}`
  return undefined
}

async function tailOfFile(path: string): Promise<string[]> {
  const file = await open(path, 'r')
  try {
    const { size } = await file.stat()
    const start = Math.max(0, size - LOG_TAIL_MAX_BYTES)
    const buffer = Buffer.alloc(size - start)
    await file.read(buffer, 0, buffer.length, start)
    const lines = buffer.toString('utf8').split('\n')
    // A cut first line is a partial line.
    return start > 0 ? lines.slice(1) : lines
  } finally {
    await file.close()
  }
}

export async function runAnalyzeLogs(
  context: HostWorkflowContext,
  args: { source?: unknown },
): Promise<WorkflowOutput & { target: string }> {
  const source = args.source
  if (typeof source !== 'string' || source === '')
    throw new ClawMeshError(
      'INVALID_PARAMS',
      'analyze-logs needs args.source: a unit or a configured log file',
    )
  let lines: string[]
  let origin: string
  if (source.startsWith('/')) {
    if (!context.settings.logSources.includes(source))
      throw new ClawMeshError(
        'FORBIDDEN',
        `${source} is not a configured log source (hostOps.logSources: ${context.settings.logSources.join(', ') || 'none'})`,
      )
    origin = source
    try {
      lines = await tailOfFile(source)
    } catch (error) {
      return {
        target: source,
        findings: [
          unavailable(
            'log-patterns',
            'logs',
            `${source}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`,
            source,
          ),
        ],
      }
    }
  } else {
    const unit = unitName(source, 'analyze-logs')
    origin = `journalctl -u ${unit}`
    const outcome = await runTool('journalctl', [
      '-u',
      unit,
      '--since',
      JOURNAL_SINCE,
      '-n',
      String(JOURNAL_MAX_LINES),
      '--no-pager',
      '-o',
      'short-iso',
    ])
    const reason = toolUnavailable(outcome, 'journalctl')
    if (reason !== undefined || outcome.outcome === 'unavailable')
      return {
        target: source,
        findings: [unavailable('log-patterns', 'logs', reason ?? 'journalctl unavailable', 'journalctl')],
      }
    lines = outcome.stdout.split('\n').filter((line) => !line.startsWith('-- '))
  }
  const grouped = groupLogPatterns(lines, {
    patterns: LOG_PATTERNS_MAX,
    citedPerPattern: LOG_CITED_LINES_PER_PATTERN,
  })
  const findings: Finding[] = [
    finding({
      id: 'log-summary',
      check: 'logs',
      status: grouped.errorLines > 0 ? 'warn' : 'ok',
      risk: grouped.errorLines > 0 ? 'medium' : 'low',
      summary: `${grouped.scanned} lines read from ${origin}: ${grouped.errorLines} error and ${grouped.warningLines} warning lines in ${grouped.patterns.length} pattern(s)`,
      evidence: [{ source: origin, fact: `${grouped.scanned} lines scanned` }],
    }),
    ...grouped.patterns.map((pattern, index) =>
      finding({
        id: `log-pattern-${index + 1}`,
        check: 'logs',
        status: pattern.level === 'error' ? 'warn' : 'ok',
        risk: pattern.level === 'error' ? 'medium' : 'low',
        summary: `${pattern.count}× ${pattern.level}: ${pattern.pattern}`,
        evidence: [
          {
            source: origin,
            fact: `first seen ${pattern.firstSeen ?? 'unknown'}, last seen ${pattern.lastSeen ?? 'unknown'}`,
          },
          ...pattern.cited.map((line) => ({ source: origin, fact: line })),
        ],
      }),
    ),
  ]
  return { target: source, findings }
}

export async function runServiceCheck(
  context: HostWorkflowContext,
  args: { unit?: unknown },
): Promise<WorkflowOutput & { target: string }> {
  const unit = unitName(args.unit, 'service-check')
  const show = await runTool('systemctl', [
    'show',
    unit,
    '--no-pager',
    '--property=Id,LoadState,ActiveState,SubState,Result,NRestarts,FragmentPath,UnitFileState,ExecMainStatus,ActiveEnterTimestamp,Description',
  ])
  const reason = toolUnavailable(show, 'systemctl')
  if (reason !== undefined || show.outcome === 'unavailable')
    return {
      target: unit,
      findings: [unavailable('service-state', 'systemd', reason ?? 'systemctl unavailable', 'systemctl')],
    }
  const state = parseKeyValues(show.stdout)
  const restarts = Number(state['NRestarts'] ?? 0)
  const active = state['ActiveState'] ?? 'unknown'
  const loaded = state['LoadState'] ?? 'unknown'
  const status =
    loaded === 'not-found' || active === 'failed'
      ? 'fail'
      : active !== 'active' || restarts >= SERVICE_RESTARTS_WARN
        ? 'warn'
        : 'ok'
  const findings: Finding[] = [
    finding({
      id: 'service-state',
      check: 'systemd',
      status,
      risk: status === 'fail' ? 'high' : status === 'warn' ? 'medium' : 'low',
      summary: `${unit}: ${loaded}, ${active} (${state['SubState'] ?? '?'}), ${restarts} restart(s)${loaded === 'not-found' ? ': no such unit' : ''}`,
      evidence: Object.entries(state).map(([key, value]) => ({
        source: `systemctl show ${unit}`,
        fact: `${key}=${value}`,
      })),
      recommendation:
        status === 'ok'
          ? ''
          : restarts >= SERVICE_RESTARTS_WARN
            ? 'the unit is restarting repeatedly: read its logs (analyze-logs)'
            : "read the unit's logs (analyze-logs) for why it is not active",
      nextActions:
        status === 'ok'
          ? []
          : [
              {
                capability: context.capability,
                operation: 'analyze-logs',
                args: { source: unit },
                level: 'L0',
              },
            ],
    }),
  ]
  const journal = await runTool('journalctl', [
    '-u',
    unit,
    '-n',
    String(SERVICE_LOG_LINES),
    '--no-pager',
    '-o',
    'short-iso',
  ])
  const journalReason = toolUnavailable(journal, 'journalctl')
  if (journalReason !== undefined || journal.outcome === 'unavailable')
    findings.push(unavailable('service-log', 'logs', journalReason ?? 'journalctl unavailable', 'journalctl'))
  else {
    const lines = journal.stdout.split('\n').filter((line) => line.trim() !== '' && !line.startsWith('-- '))
    findings.push(
      finding({
        id: 'service-log',
        check: 'logs',
        status: 'ok',
        risk: 'low',
        summary: `last ${lines.length} journal line(s) of ${unit}`,
        evidence: lines
          .slice(-SERVICE_LOG_LINES)
          .map((line) => ({ source: `journalctl -u ${unit}`, fact: line })),
      }),
    )
  }
  return { target: unit, findings }
}
