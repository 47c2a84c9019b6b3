import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import { type Proposal, proposalHash, signApproval } from '../../protocol/safety/index.ts'
import {
  HOUR,
  makeProposal,
  NOW,
  newOperator,
  newSigner,
  type Operator,
} from '../../test/helpers/safety-fixtures.ts'
import {
  ProposalStore,
  type ProposalStoreChange,
  proposalJournalPath,
  proposalStorePath,
} from './proposal-store.ts'

let stateDir: string
let targetNode: string
let authorId: string
let operator: Operator

beforeAll(async () => {
  targetNode = (await newSigner()).id
  authorId = (await newSigner()).id
  operator = await newOperator(await newSigner())
})
beforeEach(async () => {
  stateDir = await mkdtemp(join(tmpdir(), 'clawmesh-proposals-'))
})
afterEach(async () => {
  await rm(stateDir, { recursive: true, force: true })
})

function proposal(overrides: Partial<Proposal> = {}): Proposal {
  return makeProposal({ targetNode, authorId, ...overrides })
}

const openStore = (now = NOW, extra: { maxTerminal?: number; compactAfterLines?: number } = {}) =>
  ProposalStore.open({ stateDir, now: () => now, ...extra })

async function created(store: ProposalStore, candidate: Proposal) {
  const result = await store.create(candidate)
  if (result.outcome === 'reject') throw new Error(result.detail)
  return result.record
}

describe('ProposalStore', () => {
  it('moves proposals only as the state machine allows and refuses illegal moves with the reason', async () => {
    const store = await openStore()
    const { hash } = await created(store, proposal())
    expect(await store.move(hash, 'start')).toMatchObject({ outcome: 'reject', reason: 'illegal-transition' })
    expect(await store.move(hash, 'submit')).toMatchObject({
      outcome: 'accept',
      record: { state: 'awaiting_approval' },
    })
    expect(await store.move(hash, 'reject', { reason: 'not now' })).toMatchObject({
      outcome: 'accept',
      record: { state: 'rejected', reason: 'not now' },
    })
    expect(await store.move(hash, 'approve')).toMatchObject({ outcome: 'reject', reason: 'terminal-state' })
    expect(store.get(hash)?.state).toBe('rejected')
    expect(await store.move('f'.repeat(64), 'submit')).toMatchObject({ reason: 'unknown-proposal' })
  })

  it('persists state, approvals and outcome across a reopen', async () => {
    const store = await openStore()
    const { hash } = await created(store, proposal())
    await store.move(hash, 'submit')
    const approval = await signApproval(operator.signer, {
      proposalHash: hash,
      decision: 'approve',
      operatorCertificate: operator.certificate,
      operatorLink: 'lan',
      at: NOW,
    })
    expect(await store.addApproval(hash, approval)).toMatchObject({ outcome: 'accept' })
    expect(await store.addApproval(hash, approval)).toMatchObject({ outcome: 'reject', reason: 'duplicate' })
    await store.move(hash, 'approve')
    await store.move(hash, 'start')
    await store.move(hash, 'complete', { outcome: 'valve opened for 120 s' })
    const reopened = await openStore()
    expect(reopened.get(hash)).toMatchObject({
      state: 'completed',
      outcome: 'valve opened for 120 s',
      approvals: [{ signature: approval.signature }],
    })
    expect(reopened.get('proposal-1')?.hash).toBe(hash)
  })

  it('records an approval, approved and executing as one journal line, resumed as executing after a reopen', async () => {
    const store = await openStore()
    const { hash } = await created(store, proposal())
    await store.move(hash, 'submit')
    const changes: ProposalStoreChange[] = []
    store.onChange((change) => changes.push(change))
    const linesBefore = (await readFile(proposalJournalPath(stateDir), 'utf8')).trimEnd().split('\n')
    const approval = await signApproval(operator.signer, {
      proposalHash: hash,
      decision: 'approve',
      operatorCertificate: operator.certificate,
      operatorLink: 'lan',
      at: NOW,
    })
    const decided = store.decide(hash, approval, ['approve', 'start'])
    if (decided.outcome !== 'accept') throw new Error(decided.detail)
    expect(changes).toEqual([])
    await decided.written
    const lines = (await readFile(proposalJournalPath(stateDir), 'utf8')).trimEnd().split('\n')
    expect(lines).toHaveLength(linesBefore.length + 1)
    expect(JSON.parse(lines.at(-1) as string)).toMatchObject({
      record: { state: 'executing', approvals: [{ signature: approval.signature }] },
    })
    expect(changes.map((change) => (change.kind === 'transition' ? change.event : change.kind))).toEqual([
      'approval',
      'approve',
      'start',
    ])
    const reopened = await openStore()
    expect(reopened.resumable().map((record) => [record.hash, record.state])).toEqual([[hash, 'executing']])
    expect(reopened.get(hash)?.approvals).toHaveLength(1)
  })

  it('changes nothing when one step of a combined decision is refused', async () => {
    const store = await openStore()
    const { hash } = await created(store, proposal())
    const approval = await signApproval(operator.signer, {
      proposalHash: hash,
      decision: 'approve',
      operatorCertificate: operator.certificate,
      operatorLink: 'lan',
      at: NOW,
    })
    // `proposed` cannot be approved before it is submitted: the approval is not kept either.
    expect(store.decide(hash, approval, ['approve', 'start'])).toMatchObject({
      outcome: 'reject',
      reason: 'illegal-transition',
    })
    await store.move(hash, 'submit')
    expect(store.decide(hash, approval, ['start'])).toMatchObject({ outcome: 'reject' })
    expect(store.get(hash)).toMatchObject({ state: 'awaiting_approval', approvals: [] })
    const reopened = await openStore()
    expect(reopened.get(hash)).toMatchObject({ state: 'awaiting_approval', approvals: [] })
  })

  it('refuses approvals for another proposal hash', async () => {
    const store = await openStore()
    const { hash } = await created(store, proposal())
    const approval = await signApproval(operator.signer, {
      proposalHash: 'e'.repeat(64),
      decision: 'approve',
      operatorCertificate: operator.certificate,
      operatorLink: 'lan',
      at: NOW,
    })
    expect(await store.addApproval(hash, approval)).toMatchObject({
      outcome: 'reject',
      reason: 'wrong-proposal',
    })
  })

  it('expires overdue proposals on reopen, but not one that is executing', async () => {
    const store = await openStore()
    const waiting = await created(store, proposal({ id: 'p-wait', expiresAt: NOW + 60_000 }))
    const running = await created(
      store,
      proposal({ id: 'p-run', args: { durationSec: 5 }, expiresAt: NOW + 60_000 }),
    )
    await store.move(running.hash, 'submit')
    await store.move(running.hash, 'approve')
    await store.move(running.hash, 'start')
    const reopened = await openStore(NOW + 2 * 60_000)
    expect(reopened.get(waiting.hash)?.state).toBe('expired')
    expect(reopened.get(running.hash)?.state).toBe('executing')
    expect(reopened.resumable().map((record) => record.hash)).toEqual([running.hash])
    expect((await openStore(NOW + 3 * 60_000)).get(waiting.hash)?.state).toBe('expired')
  })

  it('returns approved and executing proposals as resumable after a reopen', async () => {
    const store = await openStore()
    const approved = await created(store, proposal())
    await store.move(approved.hash, 'submit')
    await store.move(approved.hash, 'approve')
    await created(store, proposal({ id: 'p-other', args: { durationSec: 30 } }))
    expect((await openStore()).resumable().map((record) => record.state)).toEqual(['approved'])
  })

  it('merges a duplicate action within the window into the first proposal, also after a reopen', async () => {
    const store = await openStore()
    const first = await created(store, proposal({ id: 'p-1' }))
    const again = await store.create(proposal({ id: 'p-2', createdAt: NOW }), NOW + 1_000)
    expect(again).toMatchObject({
      outcome: 'merged',
      merged: true,
      record: { hash: first.hash, mergedCount: 1 },
    })
    const reopened = await openStore(NOW + 2_000)
    expect(await reopened.create(proposal({ id: 'p-3', createdAt: NOW }), NOW + 2_000)).toMatchObject({
      merged: true,
      record: { hash: first.hash, mergedCount: 2 },
    })
    expect(reopened.list()).toHaveLength(1)
    const later = await reopened.create(proposal({ id: 'p-4', createdAt: NOW }), NOW + 2 * 60_000)
    expect(later).toMatchObject({ outcome: 'created', merged: false })
  })

  it('does not merge a fresh request into a cancelled proposal for the same action', async () => {
    const store = await openStore()
    const first = await created(store, proposal({ id: 'p-1' }))
    await store.move(first.hash, 'cancel', { reason: 'emergency stop' })
    const again = await store.create(proposal({ id: 'p-2', createdAt: NOW }), NOW + 1_000)
    expect(again).toMatchObject({ outcome: 'created', merged: false, record: { state: 'proposed' } })
  })

  it('refuses expired, malformed and id-conflicting proposals', async () => {
    const store = await openStore()
    await created(store, proposal())
    expect(
      await store.create(proposal({ id: 'p-old', createdAt: NOW - 2 * HOUR, expiresAt: NOW - HOUR })),
    ).toMatchObject({
      reason: 'expired',
    })
    expect(await store.create({ ...proposal({ id: 'p-bad' }), level: 'L9' })).toMatchObject({
      reason: 'malformed',
    })
    expect(await store.create(proposal({ args: { durationSec: 999 } }))).toMatchObject({
      reason: 'id-conflict',
    })
  })

  it('refuses to open a file whose proposal no longer matches its hash', async () => {
    const store = await openStore()
    await created(store, proposal())
    await store.compact()
    const file = JSON.parse(await readFile(proposalStorePath(stateDir), 'utf8'))
    file.proposals[0].proposal.args.durationSec = 3600
    await writeFile(proposalStorePath(stateDir), JSON.stringify(file))
    await expect(openStore()).rejects.toMatchObject({ name: 'StateFileError' })
  })

  it('keeps a bounded number of terminal proposals, dropping the oldest', async () => {
    const store = await openStore(NOW, { maxTerminal: 2 })
    const hashes: string[] = []
    for (let i = 0; i < 4; i++) {
      const record = await created(store, proposal({ id: `p-${i}`, args: { durationSec: i } }))
      await store.move(record.hash, 'reject', { at: NOW + i })
      hashes.push(record.hash)
    }
    const live = await created(store, proposal({ id: 'p-live', args: { durationSec: 99 } }))
    const kept = (await openStore(NOW, { maxTerminal: 2 })).list().map((record) => record.hash)
    expect(kept.sort()).toEqual([hashes[2], hashes[3], live.hash].sort())
  })

  it('resolves a move that ends a proposal only once its outcome is recorded, and records no other', async () => {
    const recorded: string[] = []
    let release = () => {}
    const store = await ProposalStore.open({
      stateDir,
      now: () => NOW,
      recordOutcome: (record) => {
        recorded.push(record.state)
        return new Promise<void>((resolve) => {
          release = resolve
        })
      },
    })
    const record = await created(store, proposal())
    await store.move(record.hash, 'submit')
    expect(recorded).toEqual([])
    let moved = false
    const rejecting = store.move(record.hash, 'reject', { reason: 'not now' }).then(() => {
      moved = true
    })
    // Long enough for the journal line's own write: a move that did not wait for the outcome
    // record would have resolved by now.
    await new Promise((resolve) => setTimeout(resolve, 50))
    expect(recorded).toEqual(['rejected'])
    expect(moved).toBe(false)
    release()
    await rejecting
    expect(moved).toBe(true)
  })

  it('tells listeners about creation and resolution after the change is on disk', async () => {
    const store = await openStore()
    const changes: ProposalStoreChange[] = []
    store.onChange((change) => changes.push(change))
    const record = await created(store, proposal())
    expect(proposalHash(record.proposal)).toBe(record.hash)
    await store.move(record.hash, 'submit')
    await store.move(record.hash, 'reject')
    expect(
      changes.map((change) => [change.kind, 'resolved' in change ? change.resolved : undefined]),
    ).toEqual([
      ['created', undefined],
      ['transition', false],
      ['transition', true],
    ])
  })

  it('journals each change durably and replays the journal after a crash, dropping a torn last line', async () => {
    const store = await openStore()
    const { hash } = await created(store, proposal())
    await store.move(hash, 'submit')
    await store.move(hash, 'approve')
    // No fold happened: the snapshot does not exist, the three changes are journal lines.
    await expect(readFile(proposalStorePath(stateDir), 'utf8')).rejects.toMatchObject({ code: 'ENOENT' })
    const journal = await readFile(proposalJournalPath(stateDir), 'utf8')
    expect(journal.trimEnd().split('\n')).toHaveLength(3)
    // A crash cut the next write short.
    await writeFile(proposalJournalPath(stateDir), `${journal}{"seq":4,"record":{"ha`)
    const reopened = await openStore()
    expect(reopened.get(hash)?.state).toBe('approved')
    expect(reopened.resumable().map((record) => record.hash)).toEqual([hash])
    // Opening folded the journal into the snapshot.
    expect(await readFile(proposalJournalPath(stateDir), 'utf8')).toBe('')
    expect(JSON.parse(await readFile(proposalStorePath(stateDir), 'utf8'))).toMatchObject({
      journalSeq: 3,
      proposals: [{ hash, state: 'approved' }],
    })
  })

  it('folds the journal into the snapshot after the configured number of changes, losing nothing', async () => {
    const store = await openStore(NOW, { compactAfterLines: 3 })
    const hashes: string[] = []
    for (let i = 0; i < 4; i++) {
      const { hash } = await created(store, proposal({ id: `p-${i}`, args: { durationSec: i } }))
      await store.move(hash, 'submit')
      hashes.push(hash)
    }
    await store.compact()
    const reopened = await openStore()
    expect(reopened.list().map((record) => [record.hash, record.state])).toEqual(
      hashes.map((hash) => [hash, 'awaiting_approval']),
    )
  })

  it('does not let journal lines the snapshot already covers roll a proposal back', async () => {
    const store = await openStore()
    const { hash } = await created(store, proposal())
    await store.move(hash, 'submit')
    const oldLines = await readFile(proposalJournalPath(stateDir), 'utf8')
    await store.move(hash, 'approve')
    await store.compact()
    // A crash between writing the snapshot and emptying the journal leaves older lines behind.
    await writeFile(proposalJournalPath(stateDir), oldLines)
    expect((await openStore()).get(hash)?.state).toBe('approved')
  })

  it('refuses to open a journal with a line that is not a record', async () => {
    const store = await openStore()
    await created(store, proposal())
    await writeFile(proposalJournalPath(stateDir), '{"seq":1,"record":{}}\n')
    await expect(openStore()).rejects.toMatchObject({ name: 'StateFileError' })
  })
})
