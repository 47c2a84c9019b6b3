import { beforeAll, describe, expect, it } from 'vitest'
import { NOW, newSigner } from '../../test/helpers/safety-fixtures.ts'
import { type Signer, signValue } from '../signing.ts'
import { appendEntry, type EvidenceEntry, entryHash, verifyEvidenceChain } from './evidence-log.ts'

let node: Signer
let log: EvidenceEntry[]

beforeAll(async () => {
  node = await newSigner()
  log = []
  const types = ['proposal', 'approval', 'decision', 'execution', 'refusal'] as const
  for (const [index, type] of types.entries()) {
    log.push(await appendEntry(log.at(-1), node, type, { step: index }, NOW + index))
  }
})

/** Re-signs an edited entry with the node's own key: what an attacker holding the key could do. */
async function resign(entry: EvidenceEntry): Promise<EvidenceEntry> {
  const { signature: _old, ...body } = entry
  return { ...body, signature: await signValue(node, 'evidence-entry', body) }
}

describe('evidence log', () => {
  it('verifies an intact log and reports its head', async () => {
    expect(await verifyEvidenceChain(log, { nodeId: node.id })).toEqual({
      outcome: 'ok',
      count: 5,
      headHash: entryHash(log[4]!),
    })
  })

  it('verifies an empty log', async () => {
    expect(await verifyEvidenceChain([])).toMatchObject({ outcome: 'ok', count: 0 })
  })

  it('detects an edited entry at its index', async () => {
    const edited = log.map((entry, i) => (i === 2 ? { ...entry, data: { step: 99 } } : entry))
    expect(await verifyEvidenceChain(edited)).toMatchObject({
      outcome: 'broken',
      index: 2,
      reason: 'bad-signature',
    })
  })

  it('detects an edited and re-signed entry at the next link', async () => {
    const edited = [...log]
    edited[2] = await resign({ ...log[2]!, data: { step: 99 } })
    expect(await verifyEvidenceChain(edited)).toMatchObject({
      outcome: 'broken',
      index: 3,
      reason: 'broken-link',
    })
  })

  it('detects a removed entry', async () => {
    const removed = log.filter((_entry, i) => i !== 1)
    expect(await verifyEvidenceChain(removed)).toMatchObject({
      outcome: 'broken',
      index: 1,
      reason: 'sequence-gap',
    })
  })

  it('detects removal of the first entry', async () => {
    expect(await verifyEvidenceChain(log.slice(1))).toMatchObject({ index: 0, reason: 'sequence-gap' })
  })

  it('detects reordered entries', async () => {
    const reordered = [log[0]!, log[2]!, log[1]!, log[3]!, log[4]!]
    expect(await verifyEvidenceChain(reordered)).toMatchObject({
      outcome: 'broken',
      index: 1,
      reason: 'reordered',
    })
  })

  it('detects a duplicated entry as out of order', async () => {
    const duplicated = [log[0]!, log[1]!, log[1]!, log[2]!]
    expect(await verifyEvidenceChain(duplicated)).toMatchObject({ index: 2, reason: 'reordered' })
  })

  it('detects removal from the end against a recorded head', async () => {
    const head = { seq: 4, hash: entryHash(log[4]!) }
    expect(await verifyEvidenceChain(log.slice(0, 4), { expectedHead: head })).toMatchObject({
      outcome: 'broken',
      index: 4,
      reason: 'truncated',
    })
    expect((await verifyEvidenceChain(log, { expectedHead: head })).outcome).toBe('ok')
  })

  it('refuses an entry signed by another node', async () => {
    const other = await newSigner()
    const foreign = await appendEntry(log[1], other, 'execution', { step: 'forged' }, NOW + 10)
    const spliced = [log[0]!, log[1]!, foreign]
    expect(await verifyEvidenceChain(spliced, { nodeId: node.id })).toMatchObject({
      index: 2,
      reason: 'bad-signature',
    })
  })

  it('reports malformed entries with their index', async () => {
    const broken = [log[0]!, { ...log[1]!, type: 'gossip' }]
    expect(await verifyEvidenceChain(broken)).toMatchObject({ index: 1, reason: 'malformed' })
  })
})
