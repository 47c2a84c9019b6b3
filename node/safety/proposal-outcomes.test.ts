/**
 * The `outcome` evidence entries with the real proposal store and the real evidence log on a temp
 * dir: every ending is on disk when the move that made it resolves, also for proposals the store
 * has since dropped; a crash between the store's line and the entry is made good at the next start,
 * once, and a failed append is reported without undoing the store's change.
 */
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import {
  type Proposal,
  type ProposalOutcomeEntry,
  proposalOutcomeEntrySchema,
} from '../../protocol/safety/index.ts'
import type { Signer } from '../../protocol/signing.ts'
import { HOUR, makeProposal, NOW, newSigner } from '../../test/helpers/safety-fixtures.ts'
import { EvidenceLogWriter, verifyEvidenceFile } from './evidence-log-writer.ts'
import { ProposalOutcomes } from './proposal-outcomes.ts'
import { ProposalStore, type StoredProposal } from './proposal-store.ts'

let stateDir: string
let signer: Signer
let targetNode: string

beforeEach(async () => {
  stateDir = await mkdtemp(join(tmpdir(), 'clawmesh-outcomes-'))
  signer = await newSigner()
  targetNode = (await newSigner()).id
})
afterEach(async () => {
  await rm(stateDir, { recursive: true, force: true })
})

let sequence = 0
/** A distinct duration each, so no proposal merges into an earlier one as a duplicate. */
const proposal = (id: string, overrides: Partial<Proposal> = {}) =>
  makeProposal({ targetNode, authorId: signer.id, id, args: { durationSec: ++sequence }, ...overrides })

/** The evidence log and the store as the safety runtime opens them. */
async function openRecords(options: { maxTerminal?: number; now?: number } = {}) {
  const { writer, entries } = await EvidenceLogWriter.openReading({ stateDir, signer })
  const unlogged: string[] = []
  const outcomes = new ProposalOutcomes({
    evidence: writer,
    onUnlogged: (record) => unlogged.push(record.proposal.id),
  })
  const store = await ProposalStore.open({
    stateDir,
    now: () => options.now ?? NOW,
    recordOutcome: outcomes.record,
    ...(options.maxTerminal === undefined ? {} : { maxTerminal: options.maxTerminal }),
  })
  return { writer, entries, outcomes, store, unlogged }
}

/** The `outcome` entries on disk, read back and verified the way an auditor reads them. */
async function outcomesOnDisk(): Promise<ProposalOutcomeEntry[]> {
  const { verdict, entries } = await verifyEvidenceFile(stateDir, { nodeId: signer.id })
  expect(verdict.outcome).toBe('ok')
  return entries
    .filter((entry) => entry.type === 'outcome')
    .map((entry) => proposalOutcomeEntrySchema.parse(entry.data))
}

async function create(store: ProposalStore, candidate: Proposal): Promise<StoredProposal> {
  const result = await store.create(candidate)
  if (result.outcome === 'reject') throw new Error(result.detail)
  return result.record
}

describe('proposal outcomes in the evidence log', () => {
  it('logs each ending before the move resolves, and keeps those the store has dropped', async () => {
    const { store } = await openRecords({ maxTerminal: 1 })
    const failed = await create(store, proposal('p-fail'))
    await store.move(failed.hash, 'submit')
    expect(await outcomesOnDisk()).toEqual([])
    await store.move(failed.hash, 'approve')
    await store.move(failed.hash, 'start')
    await store.move(failed.hash, 'fail', { reason: 'valve jammed', at: NOW + 1 })
    // On disk as soon as the move resolved: no flush, no wait.
    expect(await outcomesOnDisk()).toEqual([
      { hash: failed.hash, proposalId: 'p-fail', state: 'failed', reason: 'valve jammed', endedAt: NOW + 1 },
    ])
    const completed = await create(store, proposal('p-done'))
    for (const event of ['submit', 'approve', 'start'] as const) await store.move(completed.hash, event)
    await store.move(completed.hash, 'complete', { outcome: '{"open":true}', at: NOW + 2 })
    // The store keeps one ended proposal; the log keeps both endings.
    expect(store.get(failed.hash)).toBeUndefined()
    expect((await outcomesOnDisk()).map((entry) => [entry.proposalId, entry.state, entry.outcome])).toEqual([
      ['p-fail', 'failed', undefined],
      ['p-done', 'completed', '{"open":true}'],
    ])
  })

  it('logs at the next start an ending a crash left out of the log, once', async () => {
    // The store's line made it to disk and the entry did not: the store alone, no recorder.
    const crashed = await ProposalStore.open({ stateDir, now: () => NOW })
    const record = await create(crashed, proposal('p-crash'))
    await crashed.move(record.hash, 'reject', { reason: 'not now' })

    const first = await openRecords()
    expect(await first.outcomes.logMissing(first.store.list(), first.entries)).toHaveLength(1)
    expect(await outcomesOnDisk()).toEqual([
      {
        hash: record.hash,
        proposalId: 'p-crash',
        state: 'rejected',
        reason: 'not now',
        endedAt: NOW,
        loggedAtRestart: true,
      },
    ])
    const second = await openRecords()
    expect(await second.outcomes.logMissing(second.store.list(), second.entries)).toEqual([])
    expect(await outcomesOnDisk()).toHaveLength(1)
  })

  it('does not log twice a proposal the store expires as it opens', async () => {
    const first = await openRecords()
    await create(first.store, proposal('p-old', { expiresAt: NOW + 1_000 }))
    const later = await openRecords({ now: NOW + HOUR })
    expect(later.store.list()[0]?.state).toBe('expired')
    expect(await later.outcomes.logMissing(later.store.list(), later.entries)).toEqual([])
    expect((await outcomesOnDisk()).map((entry) => entry.state)).toEqual(['expired'])
  })

  it('logs again when the store holds another ending than the log’s latest', async () => {
    const first = await openRecords()
    const record = await create(first.store, proposal('p-again'))
    for (const event of ['submit', 'approve', 'start'] as const) await first.store.move(record.hash, event)
    // The entry reached the disk and the store's line did not: the log says failed, the store
    // still has it executing, and it completes after the restart.
    await first.outcomes.record({ ...first.store.get(record.hash)!, state: 'failed', reason: 'lost' })
    const crashed = await ProposalStore.open({ stateDir, now: () => NOW })
    await crashed.move(record.hash, 'complete', { outcome: '{}' })
    const next = await openRecords()
    expect(await next.outcomes.logMissing(next.store.list(), next.entries)).toHaveLength(1)
    expect((await outcomesOnDisk()).map((entry) => entry.state)).toEqual(['failed', 'completed'])
  })

  it('reports an ending it could not log, and the store keeps the change', async () => {
    const unlogged: string[] = []
    const outcomes = new ProposalOutcomes({
      evidence: { append: () => Promise.reject(new Error('no space left on device')) },
      onUnlogged: (record, error) => unlogged.push(`${record.proposal.id}: ${error.message}`),
    })
    const store = await ProposalStore.open({ stateDir, now: () => NOW, recordOutcome: outcomes.record })
    const record = await create(store, proposal('p-full'))
    expect(await store.move(record.hash, 'reject')).toMatchObject({ outcome: 'accept' })
    expect(unlogged).toEqual(['p-full: no space left on device'])
    expect((await ProposalStore.open({ stateDir, now: () => NOW })).get(record.hash)?.state).toBe('rejected')
  })
})
