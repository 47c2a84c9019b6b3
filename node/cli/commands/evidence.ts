/**
 * `clawmesh evidence list|verify`: reads this state dir's evidence log directly (the node need not
 * run) and checks its chain. A broken log is reported by entry and kind of tampering, exit code 1.
 */
import type { Command } from 'commander'
import {
  EVIDENCE_CHAIN_FAULTS,
  EVIDENCE_ENTRY_TYPES,
  type EvidenceChainFault,
  type EvidenceChainVerdict,
  type EvidenceEntry,
  type EvidenceEntryType,
  evidenceEntrySchema,
} from '../../../protocol/safety/index.ts'
import { loadIdentity } from '../../identity/device-identity.ts'
import { readJsonLines } from '../../safety/durable-append.ts'
import { evidenceLogPaths, selectEntries, verifyEvidenceFile } from '../../safety/evidence-log-writer.ts'
import { resolveStateDir, statePaths } from '../../state/state-dir.ts'
import { CliUsageError } from '../errors.ts'
import { printJson, table } from '../output.ts'

/** What happened to the log, in the words an auditor uses. */
const FAULT_KINDS: Record<EvidenceChainFault, 'edited' | 'removed' | 'reordered' | 'truncated'> = {
  malformed: 'edited',
  'bad-signature': 'edited',
  'broken-link': 'edited',
  'sequence-gap': 'removed',
  reordered: 'reordered',
  truncated: 'truncated',
}

const SUMMARY_MAX_LENGTH = 72

type BrokenVerdict = Extract<EvidenceChainVerdict, { outcome: 'broken' }>

async function checkLog(program: Command) {
  const stateDir = resolveStateDir(program.opts().stateDir)
  const identity = await loadIdentity(statePaths(stateDir).deviceIdentity)
  const result = await verifyEvidenceFile(
    stateDir,
    identity === undefined ? {} : { nodeId: identity.deviceId },
  )
  return { path: evidenceLogPaths(stateDir).log, nodeId: identity?.deviceId, ...result }
}

/** Entries of a log that did not verify, so an auditor can still read what is there. */
async function readableEntries(path: string): Promise<EvidenceEntry[]> {
  const { lines } = await readJsonLines(path)
  const entries: EvidenceEntry[] = []
  for (const line of lines) {
    try {
      const parsed = evidenceEntrySchema.safeParse(JSON.parse(line))
      if (parsed.success) entries.push(parsed.data)
    } catch {
      // Reported by verify; listing shows what can be read.
    }
  }
  return entries
}

async function seqAt(path: string, index: number): Promise<number | undefined> {
  const { lines } = await readJsonLines(path)
  try {
    const seq = (JSON.parse(lines[index] ?? '') as { seq?: unknown }).seq
    return typeof seq === 'number' ? seq : undefined
  } catch {
    return undefined
  }
}

async function describeBroken(path: string, verdict: BrokenVerdict) {
  return {
    ok: false as const,
    path,
    index: verdict.index,
    line: verdict.index + 1,
    seq: await seqAt(path, verdict.index),
    kind: FAULT_KINDS[verdict.reason],
    reason: verdict.reason,
    explanation: EVIDENCE_CHAIN_FAULTS[verdict.reason],
    detail: verdict.detail,
  }
}

function parseType(type: string | undefined): EvidenceEntryType | undefined {
  if (type === undefined) return undefined
  if (!(EVIDENCE_ENTRY_TYPES as readonly string[]).includes(type)) {
    throw new CliUsageError(`--type must be one of ${EVIDENCE_ENTRY_TYPES.join(', ')}, not "${type}"`)
  }
  return type as EvidenceEntryType
}

function parseLimit(limit: string | undefined): number | undefined {
  if (limit === undefined) return undefined
  const value = Number(limit)
  if (!Number.isInteger(value) || value <= 0)
    throw new CliUsageError(`--limit must be a positive integer, not "${limit}"`)
  return value
}

function summarise(data: unknown): string {
  const text = JSON.stringify(data) ?? ''
  return text.length > SUMMARY_MAX_LENGTH ? `${text.slice(0, SUMMARY_MAX_LENGTH - 1)}…` : text
}

function printBroken(report: Awaited<ReturnType<typeof describeBroken>>): void {
  console.error(
    `evidence log BROKEN at entry ${report.index} (line ${report.line}` +
      `${report.seq === undefined ? '' : `, seq ${report.seq}`}): ${report.kind}` +
      `${report.reason === report.kind ? '' : ` (${report.reason})`}`,
  )
  console.error(`  ${report.explanation}`)
  console.error(`  ${report.detail}`)
  console.error(`  file: ${report.path} (left untouched; keep a copy before doing anything else)`)
}

export function registerEvidenceCommands(program: Command): void {
  const evidence = program.command('evidence').description("inspect and verify this node's evidence log")
  evidence
    .command('list')
    .description('list evidence entries, oldest first')
    .option('--json', 'print JSON')
    .option('--type <type>', `only entries of this type (${EVIDENCE_ENTRY_TYPES.join(', ')})`)
    .option('--limit <n>', 'only the newest n matching entries')
    .action(async (options: { json?: boolean; type?: string; limit?: string }) => {
      const selection = { type: parseType(options.type), limit: parseLimit(options.limit) }
      const checked = await checkLog(program)
      const broken =
        checked.verdict.outcome === 'broken' ? await describeBroken(checked.path, checked.verdict) : undefined
      const source = broken === undefined ? checked.entries : await readableEntries(checked.path)
      const entries = selectEntries(source, {
        ...(selection.type === undefined ? {} : { type: selection.type }),
        ...(selection.limit === undefined ? {} : { limit: selection.limit }),
      })
      if (broken !== undefined) process.exitCode = 1
      if (options.json)
        return printJson({ verified: broken === undefined, ...(broken ? { broken } : {}), entries })
      if (broken !== undefined) printBroken(broken)
      if (entries.length === 0) return console.log('no evidence entries')
      console.log(
        table([
          ['SEQ', 'AT', 'TYPE', 'DATA'],
          ...entries.map((entry) => [
            String(entry.seq),
            new Date(entry.at).toISOString(),
            entry.type,
            summarise(entry.data),
          ]),
        ]),
      )
    })
  evidence
    .command('verify')
    .description('check that no entry was edited, removed, reordered or cut from the end')
    .option('--json', 'print JSON')
    .action(async (options: { json?: boolean }) => {
      const checked = await checkLog(program)
      if (checked.verdict.outcome === 'broken') {
        process.exitCode = 1
        const report = await describeBroken(checked.path, checked.verdict)
        return options.json ? printJson(report) : printBroken(report)
      }
      const { count, headHash } = checked.verdict
      const report = {
        ok: true as const,
        path: checked.path,
        count,
        headHash: headHash ?? null,
        nodeId: checked.nodeId,
      }
      if (options.json) return printJson(report)
      console.log(
        count === 0
          ? `evidence log is empty (${checked.path})`
          : `evidence log OK: ${count} entries, head ${headHash} (${checked.path})`,
      )
    })
}
