import { beforeAll, describe, expect, it } from 'vitest'
import { NOW, newSigner } from '../../test/helpers/safety-fixtures.ts'
import type { Signer } from '../signing.ts'
import {
  admitEvidenceCheckpoint,
  compareWithCheckpoints,
  type EvidenceCheckpoint,
  signEvidenceCheckpoint,
  verifyEvidenceCheckpoint,
} from './evidence-checkpoint.ts'
import { appendEntry, type EvidenceEntry, entryHash } from './evidence-log.ts'

let node: Signer
let other: Signer
let log: EvidenceEntry[]

async function chain(signer: Signer, data: readonly unknown[]): Promise<EvidenceEntry[]> {
  const entries: EvidenceEntry[] = []
  for (const [index, item] of data.entries())
    entries.push(await appendEntry(entries.at(-1), signer, 'refusal', item, NOW + index))
  return entries
}

const checkpointAt = (entries: readonly EvidenceEntry[], seq: number, signer = node) =>
  signEvidenceCheckpoint(signer, { seq, hash: entryHash(entries[seq] as EvidenceEntry) }, NOW + 100 + seq)

beforeAll(async () => {
  node = await newSigner()
  other = await newSigner()
  log = await chain(node, [{ step: 0 }, { step: 1 }, { step: 2 }, { step: 3 }])
})

describe('evidence checkpoint signature', () => {
  it('accepts a checkpoint signed by the node it names', async () => {
    const checkpoint = await checkpointAt(log, 3)
    expect(await verifyEvidenceCheckpoint(checkpoint, node.id)).toEqual({ outcome: 'accept', checkpoint })
  })

  it('refuses a checkpoint naming another node than its origin', async () => {
    const checkpoint = await checkpointAt(log, 3)
    expect(await verifyEvidenceCheckpoint(checkpoint, other.id)).toMatchObject({
      outcome: 'reject',
      reason: 'origin-mismatch',
    })
  })

  it('refuses a checkpoint changed after signing, or signed by another key', async () => {
    const checkpoint = await checkpointAt(log, 3)
    expect(await verifyEvidenceCheckpoint({ ...checkpoint, seq: 9 }, node.id)).toMatchObject({
      reason: 'bad-signature',
    })
    const forged = { ...(await checkpointAt(log, 3, other)), nodeId: node.id }
    expect(await verifyEvidenceCheckpoint(forged, node.id)).toMatchObject({ reason: 'bad-signature' })
  })

  it('refuses extra fields and malformed hashes', async () => {
    const checkpoint = await checkpointAt(log, 3)
    expect(await verifyEvidenceCheckpoint({ ...checkpoint, note: 'x' })).toMatchObject({
      reason: 'malformed',
    })
    expect(await verifyEvidenceCheckpoint({ ...checkpoint, hash: 'ab' })).toMatchObject({
      reason: 'malformed',
    })
  })
})

describe('admitting a checkpoint: sequence numbers only move forward', () => {
  let held: EvidenceCheckpoint
  beforeAll(async () => {
    held = await checkpointAt(log, 2)
  })

  it('accepts the first checkpoint of a node and a higher one', async () => {
    expect(await admitEvidenceCheckpoint(held, node.id, undefined)).toMatchObject({ outcome: 'accept' })
    expect(await admitEvidenceCheckpoint(await checkpointAt(log, 3), node.id, held)).toMatchObject({
      outcome: 'accept',
    })
  })

  it('treats the same sequence and hash as a duplicate', async () => {
    const again = await signEvidenceCheckpoint(node, { seq: held.seq, hash: held.hash }, NOW + 999)
    expect(await admitEvidenceCheckpoint(again, node.id, held)).toEqual({ outcome: 'duplicate' })
  })

  it('refuses a lower sequence as a rollback', async () => {
    expect(await admitEvidenceCheckpoint(await checkpointAt(log, 1), node.id, held)).toMatchObject({
      outcome: 'reject',
      reason: 'rollback',
    })
  })

  it('refuses a second hash for the held sequence as a fork', async () => {
    const rewritten = await chain(node, [{ step: 0 }, { step: 1 }, { step: 'other' }])
    expect(await admitEvidenceCheckpoint(await checkpointAt(rewritten, 2), node.id, held)).toMatchObject({
      outcome: 'reject',
      reason: 'fork',
    })
  })

  it('checks the origin before the sequence: a peer cannot move another node forward', async () => {
    const fromOther = await checkpointAt(log, 3, other)
    expect(await admitEvidenceCheckpoint(fromOther, node.id, held)).toMatchObject({
      reason: 'origin-mismatch',
    })
  })
})

describe('comparing a log with checkpoints', () => {
  it('finds nothing when the log matches every checkpoint', async () => {
    const checkpoints = [await checkpointAt(log, 1), await checkpointAt(log, 3)]
    expect(await compareWithCheckpoints(log, checkpoints, node.id)).toEqual({
      checked: 2,
      invalid: 0,
      newestSeq: 3,
      findings: [],
    })
  })

  it('reports a checkpoint beyond the end of the log as truncated', async () => {
    const checkpoint = await checkpointAt(log, 3)
    const result = await compareWithCheckpoints(log.slice(0, 2), [checkpoint], node.id)
    expect(result.findings).toEqual([{ kind: 'truncated', checkpoint, logEndSeq: 1 }])
    expect((await compareWithCheckpoints([], [checkpoint], node.id)).findings).toMatchObject([
      { kind: 'truncated', logEndSeq: undefined },
    ])
  })

  it('reports a chain re-signed with the node key as forked where it departs', async () => {
    const checkpoints = [await checkpointAt(log, 0), await checkpointAt(log, 3)]
    const rewritten = await chain(node, [{ step: 0 }, { step: 2 }, { step: 3 }, { step: 'made up' }])
    const result = await compareWithCheckpoints(rewritten, checkpoints, node.id)
    expect(result.findings).toEqual([
      { kind: 'forked', checkpoint: checkpoints[1], logHash: entryHash(rewritten[3] as EvidenceEntry) },
    ])
  })

  it('ignores checkpoints not signed by the node (anyone can write a file)', async () => {
    const forged = { ...(await checkpointAt(log, 3, other)), nodeId: node.id, seq: 50 }
    const ofOther = await checkpointAt(log, 3, other)
    const result = await compareWithCheckpoints(log, [forged, ofOther, 'junk'], node.id)
    expect(result).toEqual({ checked: 0, invalid: 3, newestSeq: undefined, findings: [] })
  })
})
