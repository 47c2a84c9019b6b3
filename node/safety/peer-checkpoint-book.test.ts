import { mkdtemp, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { EVIDENCE_CHECKPOINT_HISTORY_MAX, signEvidenceCheckpoint } from '../../protocol/safety/index.ts'
import type { Signer } from '../../protocol/signing.ts'
import { Counters } from '../../runtime/counters.ts'
import { NOW, newSigner } from '../../test/helpers/safety-fixtures.ts'
import { EventRing } from '../mesh/event-ring.ts'
import { PeerCheckpointBook, peerCheckpointsPath, readPeerCheckpoints } from './peer-checkpoint-book.ts'

const HASH_A = 'a'.repeat(64)
const HASH_B = 'b'.repeat(64)

let stateDir: string
let node: Signer
let holder: string
let counters: Counters
let events: EventRing

let opened: PeerCheckpointBook[] = []
const open = async () => {
  const book = await PeerCheckpointBook.open({
    stateDir,
    holder,
    counters,
    events,
    log: () => {},
    now: () => NOW,
  })
  opened.push(book)
  return book
}
const checkpoint = (seq: number, hash = HASH_A, signer = node) =>
  signEvidenceCheckpoint(signer, { seq, hash }, NOW + seq)

beforeEach(async () => {
  stateDir = await mkdtemp(join(tmpdir(), 'clawmesh-checkpoints-'))
  node = await newSigner()
  holder = (await newSigner()).id
  counters = new Counters()
  events = new EventRing(50)
})
afterEach(async () => {
  for (const book of opened) await book.flush()
  opened = []
  await rm(stateDir, { recursive: true, force: true })
})

describe('peer checkpoint book', () => {
  it('keeps accepted checkpoints across a restart', async () => {
    const book = await open()
    expect(await book.offer(await checkpoint(3), node.id)).toMatchObject({ outcome: 'accept' })
    expect(await book.offer(await checkpoint(7), node.id)).toMatchObject({ outcome: 'accept' })
    await book.flush()
    const reopened = await open()
    expect(reopened.latest(node.id)).toMatchObject({ seq: 7 })
    expect(reopened.snapshot(node.id).checkpoints.map((held) => held.seq)).toEqual([3, 7])
    expect(counters.get('evidence.checkpoint.accepted')).toBe(2)
  })

  it('refuses a lower sequence, keeps the higher one and records the rollback as evidence', async () => {
    const book = await open()
    await book.offer(await checkpoint(7), node.id)
    const lower = await checkpoint(2)
    expect(await book.offer(lower, node.id)).toMatchObject({ outcome: 'reject', reason: 'rollback' })
    expect(book.latest(node.id)).toMatchObject({ seq: 7 })
    expect(counters.get('evidence.checkpoint.refused.rollback')).toBe(1)
    expect(events.list().map((event) => event.type)).toContain('evidence.checkpoint.refused.rollback')
    await book.flush()
    const stored = await readPeerCheckpoints(stateDir)
    expect(stored?.anomalies).toEqual([
      {
        kind: 'rollback',
        nodeId: node.id,
        held: expect.objectContaining({ seq: 7 }),
        offered: lower,
        seenAt: NOW,
      },
    ])
  })

  it('records a second hash for one sequence as a fork', async () => {
    const book = await open()
    await book.offer(await checkpoint(4, HASH_A), node.id)
    expect(await book.offer(await checkpoint(4, HASH_B), node.id)).toMatchObject({ reason: 'fork' })
    expect(book.snapshot().anomalies).toMatchObject([{ kind: 'fork' }])
    expect(counters.get('evidence.checkpoint.refused.fork')).toBe(1)
  })

  it('refuses a checkpoint whose node is not the frame origin, and keeps nothing of it', async () => {
    const book = await open()
    const other = await newSigner()
    expect(await book.offer(await checkpoint(9), other.id)).toMatchObject({ reason: 'origin-mismatch' })
    expect(book.latest(other.id)).toBeUndefined()
    expect(book.latest(node.id)).toBeUndefined()
    expect(counters.get('evidence.checkpoint.refused.origin-mismatch')).toBe(1)
  })

  it('keeps a bounded history per node, the latest last', async () => {
    const book = await open()
    for (let seq = 0; seq < EVIDENCE_CHECKPOINT_HISTORY_MAX + 5; seq++)
      await book.offer(await checkpoint(seq), node.id)
    const held = book.snapshot(node.id).checkpoints
    expect(held).toHaveLength(EVIDENCE_CHECKPOINT_HISTORY_MAX)
    expect(held.at(-1)?.seq).toBe(EVIDENCE_CHECKPOINT_HISTORY_MAX + 4)
    await book.flush()
    expect(JSON.parse(await readFile(peerCheckpointsPath(stateDir), 'utf8')).holder).toBe(holder)
  })

  it('decides concurrent offers one at a time: a lower one arriving alongside is still a rollback', async () => {
    const book = await open()
    await book.offer(await checkpoint(3), node.id)
    const [higher, lower] = await Promise.all([checkpoint(5), checkpoint(4)])
    const verdicts = await Promise.all([book.offer(higher, node.id), book.offer(lower, node.id)])
    expect(verdicts.map((verdict) => verdict.outcome)).toEqual(['accept', 'reject'])
    expect(book.latest(node.id)).toMatchObject({ seq: 5 })
  })
})
