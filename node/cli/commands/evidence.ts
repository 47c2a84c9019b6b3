/**
 * `clawmesh evidence list|verify|checkpoints`: reads this state dir's evidence log directly (the node
 * need not run) and checks its chain, and against the signed checkpoints peers keep of it (fetched
 * from a command center or from a file exported earlier), so a cut tail or a re-signed rewrite shows.
 * A broken log is reported by entry and kind of tampering, exit code 1.
 */
import { readFile } from 'node:fs/promises'
import { dirname, join, resolve } from 'node:path'
import type { Command } from 'commander'
import { checkDeviceId } from '../../../protocol/device-id.ts'
import {
  type EvidenceCheckpointsResult,
  evidenceCheckpointsResultSchema,
} from '../../../protocol/rpc/methods.ts'
import {
  type CheckpointComparison,
  compareWithCheckpoints,
  EVIDENCE_CHAIN_FAULTS,
  EVIDENCE_ENTRY_TYPES,
  type EvidenceChainFault,
  type EvidenceChainVerdict,
  type EvidenceEntry,
  type EvidenceEntryType,
  evidenceEntrySchema,
} from '../../../protocol/safety/index.ts'
import { CliUsageError } from '../../../runtime/cli/errors.ts'
import { printJson, table } from '../../../runtime/cli/output.ts'
import { loadIdentity } from '../../../runtime/identity/device-identity.ts'
import { resolveStateDir, statePaths } from '../../../runtime/state/state-dir.ts'
import { readJsonLines } from '../../safety/durable-append.ts'
import {
  evidenceLogPaths,
  selectEntries,
  verifyEvidenceFile,
  verifyEvidenceLogAt,
} from '../../safety/evidence-log-writer.ts'
import { readPeerCheckpoints } from '../../safety/peer-checkpoint-book.ts'
import { withClient } from '../target-node.ts'

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

async function checkLog(program: Command, options: { log?: string; node?: string } = {}) {
  if (options.node !== undefined) {
    const check = checkDeviceId(options.node)
    if (!check.ok) throw new CliUsageError(`--node is not a device ID: ${check.reason}`)
  }
  if (options.log !== undefined) {
    // An auditor's copy: the node's device ID (its public key) is the only thing it is checked
    // against, so it must come from the auditor, not from the log.
    if (options.node === undefined)
      throw new CliUsageError('--log needs --node <deviceId>: the device ID of the node that wrote the log')
    const log = resolve(options.log)
    const result = await verifyEvidenceLogAt(
      { log, head: join(dirname(log), 'head.json') },
      { nodeId: options.node },
    )
    return { path: log, nodeId: options.node, ...result }
  }
  const stateDir = resolveStateDir(program.opts().stateDir)
  const identity = await loadIdentity(statePaths(stateDir).deviceIdentity)
  const nodeId = options.node ?? identity?.deviceId
  const result = await verifyEvidenceFile(stateDir, nodeId === undefined ? {} : { nodeId })
  return { path: evidenceLogPaths(stateDir).log, nodeId, ...result }
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
    .description(
      'check that no entry was edited, removed, reordered or cut from the end, and (with --url or ' +
        '--checkpoints) that the log still matches the checkpoints peers hold',
    )
    .option('--json', 'print JSON')
    .option('--url <url>', "compare with the checkpoints this node's command center holds (fetched over RPC)")
    .option(
      '--checkpoints <file>',
      'compare with checkpoints exported earlier (`evidence checkpoints --json`)',
    )
    .option('--log <path>', "verify this log file instead of the state dir's (needs --node)")
    .option('--node <deviceId>', 'the device ID of the node that wrote the log (its public key)')
    .action(
      async (options: {
        json?: boolean
        url?: string
        checkpoints?: string
        log?: string
        node?: string
      }) => {
        if (options.url !== undefined && options.checkpoints !== undefined)
          throw new CliUsageError('use --url or --checkpoints, not both')
        const checked = await checkLog(program, options)
        if (checked.verdict.outcome === 'broken') {
          process.exitCode = 1
          const report = await describeBroken(checked.path, checked.verdict)
          return options.json ? printJson(report) : printBroken(report)
        }
        const { count, headHash } = checked.verdict
        const held = await loadCheckpoints(program, options, checked.nodeId)
        const comparison =
          held === undefined || checked.nodeId === undefined
            ? undefined
            : await compareWithCheckpoints(checked.entries, held.result.checkpoints, checked.nodeId)
        const ok = comparison === undefined || comparison.findings.length === 0
        if (!ok) process.exitCode = 1
        const report = {
          ok,
          path: checked.path,
          count,
          headHash: headHash ?? null,
          nodeId: checked.nodeId,
          ...(comparison === undefined || held === undefined
            ? {}
            : { checkpoints: describeComparison(comparison, held.source, held.result.holder) }),
        }
        if (options.json) return printJson(report)
        if (comparison !== undefined && held !== undefined && !ok) {
          return printFindings(comparison, held.source, checked.path, count)
        }
        console.log(
          count === 0
            ? `evidence log is empty (${checked.path})`
            : `evidence log OK: ${count} entries, head ${headHash} (${checked.path})`,
        )
        if (comparison !== undefined && held !== undefined) {
          console.log(
            comparison.checked === 0
              ? `  no checkpoint of ${checked.nodeId} in ${held.source}: only the chain was checked`
              : `  matches ${comparison.checked} checkpoints held by ${held.result.holder} (${held.source}), up to seq ${comparison.newestSeq}`,
          )
          if (comparison.invalid > 0)
            console.log(`  ${comparison.invalid} checkpoints ignored: not signed by ${checked.nodeId}`)
        } else {
          console.log(
            "  not compared with peers' checkpoints: a cut tail shows only with --url <command center> or --checkpoints FILE",
          )
        }
      },
    )
  evidence
    .command('checkpoints')
    .description(
      'signed evidence-log checkpoints this node keeps of its peers, and any rollback or fork seen',
    )
    .option('--json', 'print JSON (the format `evidence verify --checkpoints` reads)')
    .option('--url <url>', 'ask a running node instead of reading this state dir')
    .option('--node <deviceId>', "only this node's checkpoints")
    .action(async (options: { json?: boolean; url?: string; node?: string }) => {
      const result = await fetchCheckpoints(program, options.url, options.node)
      if (options.json) return printJson(result)
      if (result.checkpoints.length === 0) console.log('no evidence checkpoints kept')
      else
        console.log(
          table([
            ['NODE', 'SEQ', 'AT', 'HASH'],
            ...result.checkpoints.map((checkpoint) => [
              checkpoint.nodeId,
              String(checkpoint.seq),
              new Date(checkpoint.at).toISOString(),
              checkpoint.hash,
            ]),
          ]),
        )
      for (const anomaly of result.anomalies) {
        console.log(
          `${anomaly.kind.toUpperCase()} by ${anomaly.nodeId}: held seq ${anomaly.held.seq}, offered seq ` +
            `${anomaly.offered.seq} (seen ${new Date(anomaly.seenAt).toISOString()})`,
        )
      }
    })
}

async function fetchCheckpoints(
  program: Command,
  url: string | undefined,
  node: string | undefined,
): Promise<EvidenceCheckpointsResult> {
  if (node !== undefined) {
    const check = checkDeviceId(node)
    if (!check.ok) throw new CliUsageError(`--node is not a device ID: ${check.reason}`)
  }
  if (url !== undefined) {
    return withClient(program, url, (client) =>
      client.call('evidence.checkpoints', node === undefined ? {} : { node }),
    )
  }
  const stateDir = resolveStateDir(program.opts().stateDir)
  const stored = await readPeerCheckpoints(stateDir)
  const holder = stored?.holder ?? (await loadIdentity(statePaths(stateDir).deviceIdentity))?.deviceId
  if (holder === undefined) throw new CliUsageError(`no node identity in ${stateDir}`)
  const all = stored ?? { holder, checkpoints: [], anomalies: [] }
  return {
    holder,
    checkpoints: all.checkpoints.filter((checkpoint) => node === undefined || checkpoint.nodeId === node),
    anomalies: all.anomalies.filter((anomaly) => node === undefined || anomaly.nodeId === node),
  }
}

async function loadCheckpoints(
  program: Command,
  options: { url?: string; checkpoints?: string },
  nodeId: string | undefined,
): Promise<{ source: string; result: EvidenceCheckpointsResult } | undefined> {
  if (options.url === undefined && options.checkpoints === undefined) return undefined
  if (nodeId === undefined)
    throw new CliUsageError('no device identity in this state dir: name the node with --node <deviceId>')
  if (options.url !== undefined) {
    return { source: options.url, result: await fetchCheckpoints(program, options.url, nodeId) }
  }
  const file = resolve(options.checkpoints as string)
  let parsed: unknown
  try {
    parsed = JSON.parse(await readFile(file, 'utf8'))
  } catch (error) {
    throw new CliUsageError(`cannot read checkpoints from ${file}: ${(error as Error).message}`)
  }
  // Each checkpoint's signature is checked against the node later; here only the file's shape.
  const result = evidenceCheckpointsResultSchema.safeParse(parsed)
  if (!result.success)
    throw new CliUsageError(`${file} is not the output of \`clawmesh evidence checkpoints --json\``)
  return { source: file, result: result.data }
}

function describeComparison(comparison: CheckpointComparison, source: string, holder: string) {
  return {
    source,
    holder,
    checked: comparison.checked,
    invalid: comparison.invalid,
    newestSeq: comparison.newestSeq ?? null,
    findings: comparison.findings.map((finding) =>
      finding.kind === 'truncated'
        ? {
            kind: finding.kind,
            seq: finding.checkpoint.seq,
            checkpointHash: finding.checkpoint.hash,
            checkpointAt: finding.checkpoint.at,
            logEndSeq: finding.logEndSeq ?? null,
          }
        : {
            kind: finding.kind,
            seq: finding.checkpoint.seq,
            checkpointHash: finding.checkpoint.hash,
            checkpointAt: finding.checkpoint.at,
            logHash: finding.logHash,
          },
    ),
  }
}

function printFindings(comparison: CheckpointComparison, source: string, path: string, count: number): void {
  const newestTruncation = comparison.findings.filter((finding) => finding.kind === 'truncated').at(-1)
  const firstFork = comparison.findings.find((finding) => finding.kind === 'forked')
  if (newestTruncation?.kind === 'truncated') {
    console.error(
      `evidence log TRUNCATED: a checkpoint signed by this node names seq ${newestTruncation.checkpoint.seq} ` +
        `(${new Date(newestTruncation.checkpoint.at).toISOString()}), the log ends at ` +
        `${newestTruncation.logEndSeq === undefined ? 'no entry' : `seq ${newestTruncation.logEndSeq}`} ` +
        `(${count} entries): entries were removed from the end`,
    )
  }
  if (firstFork?.kind === 'forked') {
    console.error(
      `evidence log REWRITTEN at seq ${firstFork.checkpoint.seq}: the checkpoint signed by this node names hash ` +
        `${firstFork.checkpoint.hash}, the log's entry has hash ${firstFork.logHash}; the log was replaced ` +
        'from there on (re-signed with the device key, since the chain itself verifies)',
    )
  }
  console.error(`  checkpoints: ${source}`)
  console.error(`  file: ${path} (left untouched; keep a copy before doing anything else)`)
}
