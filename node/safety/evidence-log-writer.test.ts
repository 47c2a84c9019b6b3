import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import type { Signer } from '../../protocol/signing.ts'
import { NOW, newSigner } from '../../test/helpers/safety-fixtures.ts'
import {
  EvidenceLogError,
  EvidenceLogWriter,
  evidenceLogPaths,
  verifyEvidenceFile,
} from './evidence-log-writer.ts'

let stateDir: string
let signer: Signer

beforeEach(async () => {
  stateDir = await mkdtemp(join(tmpdir(), 'clawmesh-evidence-'))
  signer = await newSigner()
})
afterEach(async () => {
  await rm(stateDir, { recursive: true, force: true })
})

async function writeThree(): Promise<string[]> {
  const log = await EvidenceLogWriter.open({ stateDir, signer })
  await log.append('proposal', { id: 'p-1' }, NOW)
  await log.append('approval', { id: 'p-1', by: 'op-1' }, NOW + 1)
  await log.append('execution', { id: 'p-1', outcome: 'completed' }, NOW + 2)
  await log.flush()
  return (await readFile(evidenceLogPaths(stateDir).log, 'utf8')).trimEnd().split('\n')
}

async function writeLines(lines: string[]): Promise<void> {
  await writeFile(evidenceLogPaths(stateDir).log, `${lines.join('\n')}\n`)
}

async function openError(): Promise<EvidenceLogError> {
  const error = await EvidenceLogWriter.open({ stateDir, signer }).catch((caught: unknown) => caught)
  expect(error).toBeInstanceOf(EvidenceLogError)
  return error as EvidenceLogError
}

describe('EvidenceLogWriter', () => {
  it('appends one signed, chained entry per line and continues from the head after reopening', async () => {
    const lines = await writeThree()
    expect(lines).toHaveLength(3)
    expect(JSON.parse(lines[2] ?? '')).toMatchObject({ seq: 2, type: 'execution', nodeId: signer.id })
    const reopened = await EvidenceLogWriter.open({ stateDir, signer })
    expect(reopened.head?.seq).toBe(2)
    const next = await reopened.append('decision', { id: 'p-2' }, NOW + 3)
    expect(next.seq).toBe(3)
    expect(await reopened.verify()).toMatchObject({ outcome: 'ok', count: 4 })
  })

  it('serialises concurrent appends into one unbroken chain', async () => {
    const log = await EvidenceLogWriter.open({ stateDir, signer })
    const entries = await Promise.all(
      Array.from({ length: 10 }, (_, i) => log.append('decision', { i }, NOW + i)),
    )
    expect(entries.map((entry) => entry.seq)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9])
    // head.json is written after the entries, off the append path: wait for it before reading it.
    await log.flush()
    expect((await verifyEvidenceFile(stateDir)).verdict).toMatchObject({ outcome: 'ok', count: 10 })
  })

  it('records the head after the entries are durable, never ahead of the log', async () => {
    const log = await EvidenceLogWriter.open({ stateDir, signer })
    await Promise.all(Array.from({ length: 5 }, (_, i) => log.append('decision', { i }, NOW + i)))
    await log.flush()
    const head = JSON.parse(await readFile(evidenceLogPaths(stateDir).head, 'utf8'))
    expect(head).toMatchObject({ seq: 4, hash: log.head?.hash })
  })

  it('lists entries by type and keeps the newest when limited', async () => {
    await writeThree()
    const log = await EvidenceLogWriter.open({ stateDir, signer })
    await log.append('proposal', { id: 'p-2' }, NOW + 3)
    expect((await log.list({ type: 'proposal' })).map((entry) => entry.data)).toEqual([
      { id: 'p-1' },
      { id: 'p-2' },
    ])
    expect((await log.list({ limit: 2 })).map((entry) => entry.seq)).toEqual([2, 3])
  })

  it('refuses to open a log with an edited entry, names the entry, and leaves the file untouched', async () => {
    const lines = await writeThree()
    lines[1] = (lines[1] ?? '').replace('op-1', 'op-2')
    await writeLines(lines)
    const before = await readFile(evidenceLogPaths(stateDir).log, 'utf8')
    const error = await openError()
    expect(error.verdict).toMatchObject({ index: 1, reason: 'bad-signature' })
    expect(error.message).toContain('entry 1')
    expect(await readFile(evidenceLogPaths(stateDir).log, 'utf8')).toBe(before)
  })

  it('detects a removed entry', async () => {
    const lines = await writeThree()
    await writeLines([lines[0] ?? '', lines[2] ?? ''])
    expect((await openError()).verdict).toMatchObject({ index: 1, reason: 'sequence-gap' })
  })

  it('detects swapped entries', async () => {
    const lines = await writeThree()
    await writeLines([lines[0] ?? '', lines[2] ?? '', lines[1] ?? ''])
    expect((await openError()).verdict).toMatchObject({ index: 1, reason: 'reordered' })
  })

  it('detects entries removed from the end through the recorded head', async () => {
    const lines = await writeThree()
    await writeLines(lines.slice(0, 2))
    expect((await openError()).verdict).toMatchObject({ index: 2, reason: 'truncated' })
  })

  it('detects truncation while running, even with head.json removed', async () => {
    const log = await EvidenceLogWriter.open({ stateDir, signer })
    await log.append('proposal', { id: 'p-1' }, NOW)
    await log.append('proposal', { id: 'p-2' }, NOW + 1)
    await log.flush()
    const lines = (await readFile(log.path, 'utf8')).trimEnd().split('\n')
    await writeLines(lines.slice(0, 1))
    await rm(evidenceLogPaths(stateDir).head)
    expect(await log.verify()).toMatchObject({ outcome: 'broken', reason: 'truncated' })
  })

  it('reports a line that is not JSON, or an incomplete last line, as malformed at its index', async () => {
    const lines = await writeThree()
    await writeLines([lines[0] ?? '', '{not json', lines[2] ?? ''])
    expect((await openError()).verdict).toMatchObject({ index: 1, reason: 'malformed' })
    await writeFile(evidenceLogPaths(stateDir).log, `${lines.join('\n')}\n{"seq":3`)
    expect((await openError()).verdict).toMatchObject({ index: 3, reason: 'malformed' })
  })

  it("refuses to continue another node's log", async () => {
    await writeThree()
    const other = await newSigner()
    const error = await EvidenceLogWriter.open({ stateDir, signer: other }).catch((caught: unknown) => caught)
    expect((error as EvidenceLogError).verdict).toMatchObject({ index: 0, reason: 'bad-signature' })
  })
})
