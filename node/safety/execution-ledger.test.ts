import { appendFile, mkdtemp, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { StateFileError } from '../../runtime/state/atomic-file.ts'
import { INTERRUPTED_EXECUTION_DETAIL } from './constants.ts'
import { ExecutionLedger, ExecutionLedgerError, executionLedgerPath } from './execution-ledger.ts'

const T = 1_750_000_000_000
const HASH_A = 'a'.repeat(64)
const HASH_B = 'b'.repeat(64)
let stateDir: string

beforeEach(async () => {
  stateDir = await mkdtemp(join(tmpdir(), 'clawmesh-ledger-'))
})
afterEach(async () => {
  await rm(stateDir, { recursive: true, force: true })
})

const openLedger = () => ExecutionLedger.open({ stateDir, now: () => T })

describe('ExecutionLedger', () => {
  it('refuses to begin a hash twice, also when both calls race', async () => {
    const ledger = await openLedger()
    const [first, second] = await Promise.all([ledger.begin(HASH_A), ledger.begin(HASH_A)])
    expect(first).toEqual({ outcome: 'begun' })
    expect(second).toMatchObject({ outcome: 'refused', reason: 'already-executed' })
    await ledger.finish(HASH_A, { status: 'completed' })
    expect(await ledger.begin(HASH_A)).toMatchObject({
      outcome: 'refused',
      previous: { state: 'finished', status: 'completed' },
    })
  })

  it('writes started to disk before begin resolves', async () => {
    const ledger = await openLedger()
    await ledger.begin(HASH_A)
    const lines = (await readFile(executionLedgerPath(stateDir), 'utf8')).trimEnd().split('\n')
    expect(lines.map((line) => JSON.parse(line))).toEqual([{ event: 'started', hash: HASH_A, at: T }])
  })

  it('remembers finished executions and their outcome across a restart', async () => {
    const ledger = await openLedger()
    await ledger.begin(HASH_A)
    await ledger.finish(HASH_A, { status: 'failed', detail: 'valve jammed' })
    const reopened = await openLedger()
    expect(reopened.hasExecuted(HASH_A)).toBe(true)
    expect(reopened.hasExecuted(HASH_B)).toBe(false)
    expect(reopened.outcome(HASH_A)).toMatchObject({
      state: 'finished',
      status: 'failed',
      detail: 'valve jammed',
    })
    expect(await reopened.begin(HASH_A)).toMatchObject({ outcome: 'refused' })
  })

  it('counts an execution begun but not finished before a restart as executed, with an interrupted outcome', async () => {
    const ledger = await openLedger()
    await ledger.begin(HASH_A)
    const reopened = await openLedger()
    expect(reopened.hasExecuted(HASH_A)).toBe(true)
    expect(reopened.outcome(HASH_A)).toEqual({
      state: 'interrupted',
      startedAt: T,
      status: 'failed',
      detail: INTERRUPTED_EXECUTION_DETAIL,
    })
    expect(await reopened.begin(HASH_A)).toMatchObject({ outcome: 'refused', reason: 'already-executed' })
    await expect(reopened.finish(HASH_A, { status: 'completed' })).rejects.toThrow(ExecutionLedgerError)
  })

  it('refuses to finish what was never begun, or finish twice', async () => {
    const ledger = await openLedger()
    await expect(ledger.finish(HASH_A, { status: 'completed' })).rejects.toMatchObject({
      name: 'ExecutionLedgerError',
    })
    await ledger.begin(HASH_A)
    await ledger.finish(HASH_A, { status: 'completed' })
    await expect(ledger.finish(HASH_A, { status: 'failed' })).rejects.toMatchObject({
      name: 'ExecutionLedgerError',
    })
  })

  it('drops an append cut short by a crash and keeps appending on a line of its own', async () => {
    const ledger = await openLedger()
    await ledger.begin(HASH_A)
    await appendFile(executionLedgerPath(stateDir), `{"event":"started","hash":"${HASH_B.slice(0, 10)}`)
    const reopened = await openLedger()
    expect(reopened.hasExecuted(HASH_A)).toBe(true)
    expect(reopened.hasExecuted(HASH_B)).toBe(false)
    await reopened.begin(HASH_B)
    const again = await openLedger()
    expect(again.hasExecuted(HASH_B)).toBe(true)
  })

  it('refuses to open a ledger with an unreadable record instead of skipping it', async () => {
    const ledger = await openLedger()
    await ledger.begin(HASH_A)
    await appendFile(executionLedgerPath(stateDir), 'garbage\n')
    const error = await openLedger().catch((caught: unknown) => caught)
    expect(error).toBeInstanceOf(StateFileError)
    expect((error as Error).message).toContain('line 2')
  })
})
