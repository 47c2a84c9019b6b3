/**
 * The chaos loop's invariant checker on hand-made records: a command center's evidence log and
 * proposal store, and a field node's evidence log and execution ledger, written in the on-disk
 * formats the nodes use. The healthy history passes; each test then breaks one invariant and
 * expects exactly that violation, so each test fails when its check is removed from the checker.
 * Endings are checked twice: as the store holds them, and as only the evidence log's `outcome`
 * entry still does once the store has dropped the proposal (it keeps the newest 200).
 */
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { evidenceLogPaths } from '../../node/safety/evidence-log-writer.ts'
import { executionLedgerPath } from '../../node/safety/execution-ledger.ts'
import { proposalStorePath, type StoredProposal } from '../../node/safety/proposal-store.ts'
import {
  appendEntry,
  type EvidenceEntry,
  type EvidenceEntryType,
  type Proposal,
  proposalHash,
  proposalOutcomeEntry,
  signApproval,
} from '../../protocol/safety/index.ts'
import type { Signer } from '../../protocol/signing.ts'
import { makeProposal, NOW, newOperator, newSigner, type Operator } from '../helpers/safety-fixtures.ts'
import { type ChaosNodeRecords, checkChaosInvariants } from './chaos-invariants.ts'

interface History {
  proposal: Proposal
  hash: string
  /** The command center's evidence entries, as [type, data, at]. */
  ccEvidence: Array<[EvidenceEntryType, unknown, number]>
  fieldEvidence: Array<[EvidenceEntryType, unknown, number]>
  ledger: Array<Record<string, unknown>>
  stored: StoredProposal[]
}

let root: string
let cc: Signer
let field: Signer
let bob: Operator
let carol: Operator
let dirs: { cc: string; field: string; field2: string }

beforeEach(async () => {
  root = await mkdtemp(join(tmpdir(), 'chaos-invariants-'))
  dirs = { cc: join(root, 'cc'), field: join(root, 'field'), field2: join(root, 'field2') }
  ;[cc, field] = [await newSigner(), await newSigner()]
  ;[bob, carol] = [await newOperator(cc, ['operator'], 'Bob'), await newOperator(cc, ['operator'], 'Carol')]
})
afterEach(async () => {
  await rm(root, { recursive: true, force: true })
})

const NODES = (): ChaosNodeRecords[] => [
  { name: 'command-center', stateDir: dirs.cc, commandCenter: true },
  { name: 'field-1', stateDir: dirs.field, commandCenter: false },
  { name: 'field-2', stateDir: dirs.field2, commandCenter: false },
]

const approve = (operator: Operator, hash: string, at = NOW - 500) =>
  signApproval(operator.signer, {
    proposalHash: hash,
    decision: 'approve',
    operatorCertificate: operator.certificate,
    operatorLink: 'local',
    at,
  })

/** An L2 proposal approved by Bob, executed once by field-1 and reported completed. */
async function healthyHistory(overrides: Partial<Proposal> = {}): Promise<History> {
  const proposal = makeProposal({
    targetNode: field.id,
    authorId: cc.id,
    author: { kind: 'device', id: cc.id },
    ...overrides,
  })
  const hash = proposalHash(proposal)
  const history: History = {
    proposal,
    hash,
    ccEvidence: [
      ['proposal', { hash, proposal }, NOW - 900],
      ['approval', { hash, approval: await approve(bob, hash) }, NOW - 400],
      ['decision', { hash, decision: 'approved', approvers: [bob.signer.id] }, NOW - 400],
    ],
    fieldEvidence: [
      ['execution', { hash, proposalId: proposal.id, status: 'completed', result: {} }, NOW - 100],
    ],
    ledger: [
      { event: 'started', hash, at: NOW - 300 },
      { event: 'finished', hash, at: NOW - 100, status: 'completed' },
    ],
    stored: [
      {
        hash,
        proposal,
        state: 'completed',
        approvals: [],
        outcome: '{"open":true}',
        mergedCount: 0,
        receivedAt: NOW - 900,
        updatedAt: NOW - 100,
      },
    ],
  }
  endAs(history, {})
  return history
}

/** The proposal ends as `fields` say, in the store and in the command center's `outcome` entry
 * alike, as the node records it. */
function endAs(history: History, fields: Partial<StoredProposal>): void {
  const record = { ...(history.stored[0] as StoredProposal), ...fields }
  history.stored[0] = record
  history.ccEvidence = history.ccEvidence.filter(([type]) => type !== 'outcome')
  history.ccEvidence.push(['outcome', proposalOutcomeEntry(record), record.updatedAt])
}

/** The store has dropped the ended proposal (it keeps the newest 200): only the log has its ending. */
function droppedFromStore(history: History): void {
  history.stored = []
}

async function writeEvidence(
  stateDir: string,
  signer: Signer,
  entries: History['ccEvidence'],
): Promise<void> {
  const written: EvidenceEntry[] = []
  for (const [type, data, at] of entries)
    written.push(await appendEntry(written.at(-1), signer, type, data, at))
  const path = evidenceLogPaths(stateDir).log
  await mkdir(dirname(path), { recursive: true })
  await writeFile(path, written.map((entry) => `${JSON.stringify(entry)}\n`).join(''))
}

async function writeHistory(history: History): Promise<void> {
  await writeEvidence(dirs.cc, cc, history.ccEvidence)
  await writeEvidence(dirs.field, field, history.fieldEvidence)
  await mkdir(dirname(executionLedgerPath(dirs.field)), { recursive: true })
  await writeFile(
    executionLedgerPath(dirs.field),
    history.ledger.map((line) => `${JSON.stringify(line)}\n`).join(''),
  )
  await mkdir(dirname(proposalStorePath(dirs.cc)), { recursive: true })
  await writeFile(proposalStorePath(dirs.cc), JSON.stringify({ version: 1, proposals: history.stored }))
}

async function violationsOf(history: History) {
  await writeHistory(history)
  const report = await checkChaosInvariants(NODES())
  return report.violations.map((violation) => violation.kind)
}

describe('chaos invariant checker', () => {
  it('passes a proposal approved, executed once and completed, and counts it', async () => {
    const history = await healthyHistory()
    await writeHistory(history)
    const report = await checkChaosInvariants(NODES())
    expect(report.violations).toEqual([])
    expect(report).toMatchObject({
      proposals: 1,
      approved: 1,
      approvals: 1,
      executed: 1,
      endings: { completed: 1 },
      endingsFromEvidenceOnly: 0,
    })
  })

  describe('no proposal executed twice', () => {
    it('flags a hash begun twice in one ledger', async () => {
      const history = await healthyHistory()
      history.ledger.push({ event: 'started', hash: history.hash, at: NOW - 50 })
      expect(await violationsOf(history)).toEqual(['executed-twice'])
    })

    it('flags a hash begun on two nodes', async () => {
      const history = await healthyHistory()
      await mkdir(dirname(executionLedgerPath(dirs.field2)), { recursive: true })
      await writeFile(
        executionLedgerPath(dirs.field2),
        `${JSON.stringify({ event: 'started', hash: history.hash, at: NOW - 200 })}\n`,
      )
      expect(await violationsOf(history)).toEqual(['executed-twice'])
    })

    it('flags two execution evidence entries for one hash', async () => {
      const history = await healthyHistory()
      history.fieldEvidence.push([...(history.fieldEvidence[0] as History['fieldEvidence'][number])])
      expect(await violationsOf(history)).toEqual(['executed-twice'])
    })
  })

  describe('none executed without its approvals', () => {
    it('flags an execution whose approval is not in the command center’s evidence log', async () => {
      const history = await healthyHistory()
      history.ccEvidence = history.ccEvidence.filter(([type]) => type !== 'approval')
      expect(await violationsOf(history)).toEqual(['executed-without-approvals'])
    })

    it('flags an L3 execution with one of its two approvals', async () => {
      const history = await healthyHistory({ level: 'L3' })
      expect(await violationsOf(history)).toEqual(['executed-without-approvals'])
      history.ccEvidence.push([
        'approval',
        { hash: history.hash, approval: await approve(carol, history.hash) },
        NOW - 400,
      ])
      expect(await violationsOf(history)).toEqual([])
    })

    it('does not count one operator twice toward L3', async () => {
      const history = await healthyHistory({ level: 'L3' })
      history.ccEvidence.push([
        'approval',
        { hash: history.hash, approval: await approve(bob, history.hash) },
        NOW - 400,
      ])
      expect(await violationsOf(history)).toEqual(['executed-without-approvals'])
    })

    it('does not count an approval signed for another proposal', async () => {
      const history = await healthyHistory()
      history.ccEvidence[1] = [
        'approval',
        { hash: history.hash, approval: await approve(bob, 'a'.repeat(64)) },
        NOW - 400,
      ]
      expect(await violationsOf(history)).toEqual(['executed-without-approvals'])
    })

    it('does not count an approval signed after the execution began', async () => {
      const history = await healthyHistory()
      history.ccEvidence[1] = [
        'approval',
        { hash: history.hash, approval: await approve(bob, history.hash, NOW - 200) },
        NOW - 150,
      ]
      expect(await violationsOf(history)).toEqual(['executed-without-approvals'])
    })

    it('does not count an approval whose certificate no command center of the mesh issued', async () => {
      const history = await healthyHistory()
      const stranger = await newOperator(await newSigner(), ['operator'], 'Mallory')
      history.ccEvidence[1] = [
        'approval',
        { hash: history.hash, approval: await approve(stranger, history.hash) },
        NOW - 400,
      ]
      expect(await violationsOf(history)).toEqual(['executed-without-approvals'])
    })

    it('does not count the author approving their own proposal', async () => {
      const history = await healthyHistory({ author: { kind: 'operator', id: bob.signer.id } })
      expect(await violationsOf(history)).toEqual(['executed-without-approvals'])
    })
  })

  describe('every approved proposal ends with a reason', () => {
    it('flags an approved proposal left executing', async () => {
      const history = await healthyHistory()
      history.stored[0] = { ...(history.stored[0] as StoredProposal), state: 'executing' }
      history.ccEvidence = history.ccEvidence.filter(([type]) => type !== 'outcome')
      history.ledger.pop()
      history.fieldEvidence = []
      expect(await violationsOf(history)).toEqual(['approved-not-ended'])
    })

    it('reads the ending of a proposal the store dropped from the evidence log', async () => {
      const history = await healthyHistory()
      droppedFromStore(history)
      await writeHistory(history)
      const report = await checkChaosInvariants(NODES())
      expect(report.violations).toEqual([])
      expect(report).toMatchObject({ approved: 1, endings: { completed: 1 }, endingsFromEvidenceOnly: 1 })
    })

    it('flags an approved proposal neither the store nor the evidence log has an ending for', async () => {
      const history = await healthyHistory()
      droppedFromStore(history)
      history.ccEvidence = history.ccEvidence.filter(([type]) => type !== 'outcome')
      expect(await violationsOf(history)).toEqual(['approved-not-ended'])
    })

    it('flags a failed proposal without its reason, and passes it with one', async () => {
      const history = await healthyHistory()
      history.ledger[1] = { ...history.ledger[1], status: 'failed', detail: 'valve jammed' }
      endAs(history, { state: 'failed', outcome: undefined })
      expect(await violationsOf(history)).toEqual(['ended-without-reason'])
      endAs(history, { reason: 'valve jammed' })
      expect(await violationsOf(history)).toEqual([])
    })

    it('flags a failed proposal without its reason when only its outcome entry is left', async () => {
      const history = await healthyHistory()
      history.ledger[1] = { ...history.ledger[1], status: 'failed', detail: 'valve jammed' }
      endAs(history, { state: 'failed', outcome: undefined })
      droppedFromStore(history)
      expect(await violationsOf(history)).toEqual(['ended-without-reason'])
    })

    it('accepts an approved proposal that expired before it was sent, with its reason', async () => {
      const history = await healthyHistory()
      history.ledger = []
      history.fieldEvidence = []
      endAs(history, { state: 'expired', reason: 'expired before it was executed' })
      expect(await violationsOf(history)).toEqual([])
      droppedFromStore(history)
      expect(await violationsOf(history)).toEqual([])
    })
  })

  describe('the ending agrees with the actuator’s ledger', () => {
    it('flags a proposal reported completed that its actuator never finished', async () => {
      const history = await healthyHistory()
      history.ledger.pop()
      expect(await violationsOf(history)).toEqual(['outcome-contradicts-ledger'])
      droppedFromStore(history)
      expect(await violationsOf(history)).toEqual(['outcome-contradicts-ledger'])
    })

    it('flags a proposal reported failed that its actuator completed', async () => {
      const history = await healthyHistory()
      endAs(history, { state: 'failed', reason: 'actuator unreachable' })
      expect(await violationsOf(history)).toEqual(['outcome-contradicts-ledger'])
      droppedFromStore(history)
      expect(await violationsOf(history)).toEqual(['outcome-contradicts-ledger'])
    })

    it('flags a proposal reported expired that its actuator began', async () => {
      const history = await healthyHistory()
      endAs(history, { state: 'expired', reason: 'expired' })
      expect(await violationsOf(history)).toEqual(['outcome-contradicts-ledger'])
      droppedFromStore(history)
      expect(await violationsOf(history)).toEqual(['outcome-contradicts-ledger'])
    })
  })

  describe('the store’s endings are in the evidence log', () => {
    it('flags an ending the store holds and the evidence log does not', async () => {
      const history = await healthyHistory()
      history.ccEvidence = history.ccEvidence.filter(([type]) => type !== 'outcome')
      expect(await violationsOf(history)).toEqual(['ending-not-logged'])
    })

    it('flags an ending the evidence log records otherwise, and passes a later entry that agrees', async () => {
      const history = await healthyHistory()
      const completed = history.ccEvidence.at(-1) as History['ccEvidence'][number]
      history.ccEvidence[history.ccEvidence.length - 1] = [
        'outcome',
        proposalOutcomeEntry({ ...(history.stored[0] as StoredProposal), state: 'failed', reason: 'lost' }),
        NOW - 90,
      ]
      expect(await violationsOf(history)).toEqual(['ending-not-logged'])
      // A crash between the entry and the store's line: the proposal resumed and ended again.
      history.ccEvidence.push(completed)
      expect(await violationsOf(history)).toEqual([])
    })
  })

  it('flags an evidence log whose chain does not verify', async () => {
    const history = await healthyHistory()
    await writeHistory(history)
    const path = evidenceLogPaths(dirs.cc).log
    const lines = (await readFile(path, 'utf8')).split('\n')
    lines.splice(1, 1)
    await writeFile(path, lines.join('\n'))
    const report = await checkChaosInvariants(NODES())
    // The approval entry is gone and the chain says so; the execution it allowed is flagged too.
    expect(report.violations.map((violation) => violation.kind).sort()).toEqual([
      'executed-without-approvals',
      'records-unreadable',
    ])
  })
})
