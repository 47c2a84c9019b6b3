/**
 * The chaos loop's invariant checker (issue #20): reads every node's records from its stopped state
 * dir — the evidence log, the actuator's execution ledger, the command center's proposal store —
 * and reports each breach of the three safety invariants, plus two that tie the records together:
 *
 * 1. `executed-twice`: no proposal hash is begun twice in any ledger, on one node or two, nor has two
 *    `execution` evidence entries.
 * 2. `executed-without-approvals`: every executed hash has, in a command center's evidence log, the
 *    `approval` entries its level requires, each a valid operator signature over that hash by a
 *    distinct approving operator who is not the author, signed before the execution began.
 * 3. `approved-not-ended` / `ended-without-reason`: every proposal a command center approved ends
 *    completed, failed, expired (or cancelled, rejected) with its reason (a completed one with the
 *    outcome it reported). The ending is the proposal store's record while the store still holds
 *    it, else the latest `outcome` entry of the command center's evidence log: the store keeps only
 *    the newest PROPOSAL_STORE_MAX_TERMINAL ended proposals, the evidence log every ending.
 * 4. `outcome-contradicts-ledger`: a proposal the command center reports completed was finished as
 *    completed by its actuator's ledger, and one the ledger ran is not reported as never run.
 * 5. `ending-not-logged`: every ending the store holds is also the latest `outcome` entry of the
 *    evidence log, so what the checker reads there for older proposals is the record, not a gap.
 *
 * Reads only: nothing is repaired, compacted or expired (node/safety/proposal-store.ts
 * `readStoredProposals`). Time never enters: the records alone decide.
 */
import { readFile } from 'node:fs/promises'
import { z } from 'zod'
import { readJsonLines } from '../../node/safety/durable-append.ts'
import { evidenceLogPaths, verifyEvidenceFile } from '../../node/safety/evidence-log-writer.ts'
import { executionLedgerPath } from '../../node/safety/execution-ledger.ts'
import { readStoredProposals, type StoredProposal } from '../../node/safety/proposal-store.ts'
import {
  APPROVING_ROLES,
  approvalCertificateSchema,
  type EvidenceEntry,
  evidenceEntrySchema,
  type Proposal,
  type ProposalOutcomeEntry,
  proposalOutcomeEntrySchema,
  proposalSchema,
  requiredApprovers,
  TERMINAL_PROPOSAL_STATES,
  type VerifiedApproval,
  verifyApproval,
} from '../../protocol/safety/index.ts'

export interface ChaosNodeRecords {
  /** How the report names the node (`command-center`, `field-2`). */
  readonly name: string
  readonly stateDir: string
  /** A command center: its proposal store and its approvals are read. */
  readonly commandCenter: boolean
}

export const INVARIANT_VIOLATION_KINDS = [
  'records-unreadable',
  'executed-twice',
  'executed-without-approvals',
  'approved-not-ended',
  'ended-without-reason',
  'outcome-contradicts-ledger',
  'ending-not-logged',
] as const
export type InvariantViolationKind = (typeof INVARIANT_VIOLATION_KINDS)[number]

export interface InvariantViolation {
  readonly kind: InvariantViolationKind
  /** The node whose records are at fault, or the proposal hash. */
  readonly subject: string
  readonly detail: string
}

export interface ChaosInvariantReport {
  readonly nodes: ReadonlyArray<{
    readonly name: string
    readonly evidenceEntries: number
    readonly ledgerStarted: number
    readonly ledgerFinished: number
    readonly proposals: number
  }>
  /** Proposals known to a command center (its store or its evidence log). */
  readonly proposals: number
  /** Proposals a command center approved (a `decision: approved` entry, or a state past approval). */
  readonly approved: number
  /** Approval entries in the command centers' evidence logs. */
  readonly approvals: number
  /** Hashes begun in an actuator's ledger. */
  readonly executed: number
  /** How each approved proposal ended, by state (`approved`/`executing` if it never did). */
  readonly endings: Readonly<Record<string, number>>
  /** Approved proposals whose ending only the evidence log still holds (the store dropped them). */
  readonly endingsFromEvidenceOnly: number
  readonly violations: readonly InvariantViolation[]
}

const ledgerLineSchema = z.object({
  event: z.enum(['started', 'finished']),
  hash: z.string(),
  at: z.number(),
  status: z.enum(['completed', 'failed']).optional(),
  detail: z.string().optional(),
})
type LedgerLine = z.infer<typeof ledgerLineSchema>

interface NodeRead {
  readonly node: ChaosNodeRecords
  readonly evidence: readonly EvidenceEntry[]
  readonly ledger: readonly LedgerLine[]
  readonly proposals: readonly StoredProposal[]
}

const ENDED_WITH_REASON = new Set(['failed', 'expired', 'cancelled', 'rejected'])
/** States only an approved proposal reaches. */
const PAST_APPROVAL = new Set(['approved', 'executing', 'completed', 'failed'])
/** States that say the actuator never ran it. */
const NEVER_RUN = new Set(['proposed', 'awaiting_approval', 'expired', 'rejected'])

export async function checkChaosInvariants(
  nodes: readonly ChaosNodeRecords[],
): Promise<ChaosInvariantReport> {
  const violations: InvariantViolation[] = []
  const reads = await Promise.all(nodes.map((node) => readNode(node, violations)))
  const held = commandCenterRecords(reads.filter((read) => read.node.commandCenter))
  const executions = executionRecords(reads)
  violations.push(...checkExecutedOnce(executions))
  violations.push(...(await checkApprovals(held, executions)))
  const { endings, fromEvidenceOnly, violations: unended } = checkEndings(held)
  violations.push(...unended, ...checkOutcomesAgree(held, executions), ...checkEndingsLogged(held))
  return {
    nodes: reads.map((read) => ({
      name: read.node.name,
      evidenceEntries: read.evidence.length,
      ledgerStarted: read.ledger.filter((line) => line.event === 'started').length,
      ledgerFinished: read.ledger.filter((line) => line.event === 'finished').length,
      proposals: read.proposals.length,
    })),
    proposals: held.proposals.size,
    approved: held.approved.size,
    approvals: [...held.approvalsByHash.values()].reduce((sum, list) => sum + list.length, 0),
    executed: executions.starts.size,
    endings,
    endingsFromEvidenceOnly: fromEvidenceOnly,
    violations,
  }
}

/** What the command centers hold about each proposal, by hash. */
interface CommandCenterRecords {
  readonly ids: ReadonlySet<string>
  readonly proposals: Map<string, Proposal>
  readonly stored: Map<string, StoredProposal>
  readonly approvalsByHash: Map<string, unknown[]>
  readonly approved: Set<string>
  /** The latest `outcome` evidence entry of each hash. */
  readonly outcomes: Map<string, ProposalOutcomeEntry>
}

/** How a proposal ended, as the store holds it or (once the store dropped it) the evidence log. */
interface Ending {
  readonly id: string
  readonly state: string
  readonly reason?: string | undefined
  readonly outcome?: string | undefined
  readonly source: 'store' | 'evidence'
}

function endingOf(held: CommandCenterRecords, hash: string): Ending | undefined {
  const stored = held.stored.get(hash)
  if (stored !== undefined) return { ...stored, id: stored.proposal.id, source: 'store' }
  const logged = held.outcomes.get(hash)
  if (logged !== undefined) return { ...logged, id: logged.proposalId, source: 'evidence' }
  return undefined
}

function commandCenterRecords(commandCenters: readonly NodeRead[]): CommandCenterRecords {
  const held: CommandCenterRecords = {
    ids: new Set(commandCenters.flatMap((read) => read.evidence.slice(0, 1).map((entry) => entry.nodeId))),
    proposals: new Map(),
    stored: new Map(),
    approvalsByHash: new Map(),
    approved: new Set(),
    outcomes: new Map(),
  }
  for (const read of commandCenters) {
    for (const record of read.proposals) {
      held.stored.set(record.hash, record)
      held.proposals.set(record.hash, record.proposal)
      // An expired or cancelled one may have ended before or after its approval: the evidence
      // log's decision entry tells.
      if (PAST_APPROVAL.has(record.state)) held.approved.add(record.hash)
    }
    for (const entry of read.evidence) noteEvidenceEntry(held, entry)
  }
  return held
}

function noteEvidenceEntry(held: CommandCenterRecords, entry: EvidenceEntry): void {
  const data = entry.data as { hash?: unknown; proposal?: unknown; approval?: unknown; decision?: unknown }
  if (typeof data.hash !== 'string') return
  if (entry.type === 'proposal') {
    const parsed = proposalSchema.safeParse(data.proposal)
    if (parsed.success) held.proposals.set(data.hash, parsed.data)
  } else if (entry.type === 'approval') {
    held.approvalsByHash.set(data.hash, [...(held.approvalsByHash.get(data.hash) ?? []), data.approval])
  } else if (entry.type === 'decision' && data.decision === 'approved') {
    held.approved.add(data.hash)
  } else if (entry.type === 'outcome') {
    // A malformed one counts as none: the checks that need it report the gap.
    const parsed = proposalOutcomeEntrySchema.safeParse(data)
    if (parsed.success) held.outcomes.set(data.hash, parsed.data)
  }
}

/** What the actuators hold: ledger starts and finishes, and `execution` evidence entries, by hash. */
interface ExecutionRecords {
  readonly starts: Map<string, Array<{ node: string; at: number }>>
  readonly finishes: Map<string, LedgerLine & { node: string }>
  readonly executionEntries: Map<string, string[]>
}

function executionRecords(reads: readonly NodeRead[]): ExecutionRecords {
  const records: ExecutionRecords = { starts: new Map(), finishes: new Map(), executionEntries: new Map() }
  for (const read of reads) {
    const node = read.node.name
    for (const line of read.ledger) {
      if (line.event === 'started')
        records.starts.set(line.hash, [...(records.starts.get(line.hash) ?? []), { node, at: line.at }])
      else records.finishes.set(line.hash, { ...line, node })
    }
    for (const entry of read.evidence) {
      const hash = (entry.data as { hash?: unknown }).hash
      // Safe-state drives (an action's end) name the proposal they end, never its hash.
      if (entry.type !== 'execution' || typeof hash !== 'string') continue
      records.executionEntries.set(hash, [...(records.executionEntries.get(hash) ?? []), node])
    }
  }
  return records
}

/** Invariant 1: each hash begun at most once, across every ledger and every evidence log. */
function checkExecutedOnce(executions: ExecutionRecords): InvariantViolation[] {
  const violations: InvariantViolation[] = []
  for (const [hash, begun] of executions.starts) {
    if (begun.length <= 1) continue
    violations.push({
      kind: 'executed-twice',
      subject: hash,
      detail: `begun ${begun.length} times in execution ledgers (${begun.map((start) => start.node).join(', ')})`,
    })
  }
  for (const [hash, loggedBy] of executions.executionEntries) {
    if (loggedBy.length <= 1) continue
    violations.push({
      kind: 'executed-twice',
      subject: hash,
      detail: `${loggedBy.length} execution evidence entries (${loggedBy.join(', ')})`,
    })
  }
  return violations
}

/** Invariant 2: every execution carried the approvals its level requires, on record before it began. */
async function checkApprovals(
  held: CommandCenterRecords,
  executions: ExecutionRecords,
): Promise<InvariantViolation[]> {
  const violations: InvariantViolation[] = []
  for (const hash of new Set([...executions.starts.keys(), ...executions.executionEntries.keys()])) {
    const proposal = held.proposals.get(hash)
    if (proposal === undefined) {
      violations.push({
        kind: 'executed-without-approvals',
        subject: hash,
        detail: 'executed, but no command center has the proposal on record',
      })
      continue
    }
    const began = Math.min(...(executions.starts.get(hash) ?? []).map((start) => start.at))
    const counted = await approversOnRecord(hash, proposal, held.approvalsByHash.get(hash) ?? [], {
      trustedIssuers: (id) => held.ids.has(id),
      before: began,
    })
    const needed = requiredApprovers(proposal.level)
    if (counted.approvers.length >= needed) continue
    violations.push({
      kind: 'executed-without-approvals',
      subject: hash,
      detail:
        `proposal ${proposal.id} (${proposal.level}) executed with ${counted.approvers.length} of ${needed} ` +
        `approvals on record${counted.refused.length === 0 ? '' : `; not counted: ${counted.refused.join('; ')}`}`,
    })
  }
  return violations
}

/** Invariant 3: every approved proposal ended, with its reason. */
function checkEndings(held: CommandCenterRecords): {
  endings: Record<string, number>
  fromEvidenceOnly: number
  violations: InvariantViolation[]
} {
  const endings: Record<string, number> = {}
  const violations: InvariantViolation[] = []
  let fromEvidenceOnly = 0
  for (const hash of held.approved) {
    const ending = endingOf(held, hash)
    const state = ending?.state ?? 'not on record'
    endings[state] = (endings[state] ?? 0) + 1
    if (ending?.source === 'evidence') fromEvidenceOnly++
    const violation = endingViolation(hash, ending, ending?.id ?? held.proposals.get(hash)?.id ?? hash)
    if (violation !== undefined) violations.push(violation)
  }
  return { endings, fromEvidenceOnly, violations }
}

/** Why an approved proposal's ending breaks invariant 3, if it does. */
function endingViolation(
  hash: string,
  ending: Ending | undefined,
  id: string,
): InvariantViolation | undefined {
  if (ending === undefined) {
    return {
      kind: 'approved-not-ended',
      subject: hash,
      detail: `proposal ${id} was approved, and neither the command center's store nor its evidence log has how it ended`,
    }
  }
  if (!(ENDED_WITH_REASON.has(ending.state) || ending.state === 'completed')) {
    return {
      kind: 'approved-not-ended',
      subject: hash,
      detail: `proposal ${id} was approved and is ${ending.state} at the command center`,
    }
  }
  const because = ending.state === 'completed' ? ending.outcome : ending.reason
  if (because !== undefined && because.trim() !== '') return undefined
  const source = ending.source === 'store' ? 'proposal store' : 'outcome evidence entry'
  return {
    kind: 'ended-without-reason',
    subject: hash,
    detail: `proposal ${id} is ${ending.state} (per its ${source}) with no ${ending.state === 'completed' ? 'outcome' : 'reason'}`,
  }
}

/** Invariant 4: the command center's ending agrees with the actuator's ledger. */
function checkOutcomesAgree(held: CommandCenterRecords, executions: ExecutionRecords): InvariantViolation[] {
  const violations: InvariantViolation[] = []
  for (const hash of new Set([...held.stored.keys(), ...held.outcomes.keys()])) {
    const ending = endingOf(held, hash)
    if (ending === undefined) continue
    const contradiction = contradictionOf(ending, executions.finishes.get(hash), executions.starts.has(hash))
    if (contradiction !== undefined)
      violations.push({ kind: 'outcome-contradicts-ledger', subject: hash, detail: contradiction })
  }
  return violations
}

function contradictionOf(
  ending: Ending,
  finished: LedgerLine | undefined,
  begun: boolean,
): string | undefined {
  const { id } = ending
  if (ending.state === 'completed' && finished?.status !== 'completed') {
    const ledger =
      finished === undefined ? (begun ? 'begun and never finished' : 'never begun') : finished.status
    return `proposal ${id} is completed at the command center, the actuator's ledger has it ${ledger}`
  }
  if (ending.state === 'failed' && finished?.status === 'completed') {
    return `proposal ${id} is failed at the command center (${ending.reason ?? 'no reason'}), but its actuator completed it`
  }
  if (begun && NEVER_RUN.has(ending.state)) {
    return `proposal ${id} is ${ending.state} at the command center, but its actuator began it`
  }
  return undefined
}

/** Invariant 5: each ending the store holds is the latest `outcome` entry of the evidence log. */
function checkEndingsLogged(held: CommandCenterRecords): InvariantViolation[] {
  const violations: InvariantViolation[] = []
  for (const record of held.stored.values()) {
    if (!TERMINAL_PROPOSAL_STATES.has(record.state)) continue
    const logged = held.outcomes.get(record.hash)
    if (logged?.state === record.state) continue
    violations.push({
      kind: 'ending-not-logged',
      subject: record.hash,
      detail: `proposal ${record.proposal.id} is ${record.state} in the proposal store; the evidence log's latest outcome entry for it is ${logged === undefined ? 'missing' : logged.state}`,
    })
  }
  return violations
}

/** The distinct operators whose approval of `hash` is on record and counts: a valid certificate from
 * a command center of the mesh and a valid signature, `approve`, an approving role, not the
 * proposal's author, signed before the execution began. */
async function approversOnRecord(
  hash: string,
  proposal: Proposal,
  approvals: readonly unknown[],
  options: { trustedIssuers: (id: string) => boolean; before: number },
): Promise<{ approvers: string[]; refused: string[] }> {
  const approvers = new Set<string>()
  const refused: string[] = []
  for (const candidate of approvals) {
    const parsed = approvalCertificateSchema.safeParse(candidate)
    if (!parsed.success) {
      refused.push('a malformed approval')
      continue
    }
    // Checked as of its own signing time: the certificate must have been valid when it was used.
    const verdict = await verifyApproval(parsed.data, {
      trustedIssuers: options.trustedIssuers,
      now: parsed.data.body.at,
      isRevoked: () => false,
    })
    if (verdict.outcome === 'reject') {
      refused.push(`${verdict.reason}: ${verdict.detail}`)
      continue
    }
    const why = whyNotCounted(verdict.approval, hash, proposal, options.before)
    if (why === undefined) approvers.add(verdict.approval.operatorId)
    else refused.push(`${verdict.approval.operatorId}: ${why}`)
  }
  return { approvers: [...approvers], refused }
}

function whyNotCounted(
  approval: VerifiedApproval,
  hash: string,
  proposal: Proposal,
  executionBegan: number,
): string | undefined {
  if (approval.proposalHash !== hash) return `signed for ${approval.proposalHash}`
  if (approval.decision !== 'approve') return `a ${approval.decision}`
  if (approval.operatorId === proposal.author.id) return 'the author approving their own proposal'
  if (!approval.roles.some((role) => APPROVING_ROLES.includes(role)))
    return `roles ${approval.roles.join(', ')} cannot approve`
  if (approval.at > executionBegan)
    return `signed at ${approval.at}, after the execution began at ${executionBegan}`
  return undefined
}

async function readNode(node: ChaosNodeRecords, violations: InvariantViolation[]): Promise<NodeRead> {
  return {
    node,
    evidence: await readEvidence(node, violations),
    ledger: await readLedger(node, violations),
    proposals: node.commandCenter ? await readProposals(node, violations) : [],
  }
}

/** The evidence log, verified (chain, signatures, recorded head); a broken one is a violation and
 * its parseable entries are still read, so the other checks see what it holds. */
async function readEvidence(
  node: ChaosNodeRecords,
  violations: InvariantViolation[],
): Promise<EvidenceEntry[]> {
  const { verdict, entries } = await verifyEvidenceFile(node.stateDir)
  if (verdict.outcome === 'ok') return [...entries]
  violations.push({
    kind: 'records-unreadable',
    subject: node.name,
    detail: `evidence log broken at entry ${verdict.index}: ${verdict.reason}: ${verdict.detail}`,
  })
  const { lines } = await readJsonLines(evidenceLogPaths(node.stateDir).log)
  return lines.flatMap((line) => {
    try {
      const parsed = evidenceEntrySchema.safeParse(JSON.parse(line))
      return parsed.success ? [parsed.data] : []
    } catch {
      return []
    }
  })
}

async function readLedger(node: ChaosNodeRecords, violations: InvariantViolation[]): Promise<LedgerLine[]> {
  let text: string
  try {
    text = await readFile(executionLedgerPath(node.stateDir), 'utf8')
  } catch (error) {
    // No ledger: this node never began an execution.
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return []
    throw error
  }
  const lines: LedgerLine[] = []
  for (const [index, line] of text.split('\n').entries()) {
    if (line === '') continue
    try {
      lines.push(ledgerLineSchema.parse(JSON.parse(line)))
    } catch {
      violations.push({
        kind: 'records-unreadable',
        subject: node.name,
        detail: `execution ledger line ${index + 1} is not a ledger record`,
      })
    }
  }
  return lines
}

async function readProposals(
  node: ChaosNodeRecords,
  violations: InvariantViolation[],
): Promise<StoredProposal[]> {
  try {
    return await readStoredProposals(node.stateDir)
  } catch (error) {
    violations.push({
      kind: 'records-unreadable',
      subject: node.name,
      detail: `proposal store: ${(error as Error).message}`,
    })
    return []
  }
}
