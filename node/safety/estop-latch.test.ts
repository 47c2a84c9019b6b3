import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { EstopLatches } from './estop-latch.ts'

const VALVE = 'actuator:valve:zone-1'
const latch = (at: number) => ({
  capability: VALVE,
  latchedAt: at,
  operatorId: 'op',
  reason: 'r',
  orderIssuedAt: at,
})

let stateDir: string
beforeEach(async () => {
  stateDir = await mkdtemp(join(tmpdir(), 'clawmesh-latch-'))
})
afterEach(async () => {
  await rm(stateDir, { recursive: true, force: true })
})

describe('EstopLatches', () => {
  it('a latch, a cancel and a clear survive reopening the state dir', async () => {
    const latches = await EstopLatches.open(stateDir)
    await latches.set([latch(1_000)])
    await latches.cancel(
      { hash: 'c'.repeat(64), proposalId: 'p-1', reason: 'withdrawn', until: 9_000 },
      1_000,
    )
    const reopened = await EstopLatches.open(stateDir)
    expect(reopened.latch(VALVE)).toMatchObject({ operatorId: 'op', orderIssuedAt: 1_000 })
    expect(reopened.cancelled('c'.repeat(64))).toMatchObject({ proposalId: 'p-1' })

    await reopened.clear(VALVE, 2_000)
    const cleared = await EstopLatches.open(stateDir)
    expect(cleared.latch(VALVE)).toBeUndefined()
    // An order signed before the clear (a replay, a slow relay) does not latch again; a later one does.
    expect(cleared.clearedAfter(VALVE, 2_000)).toBe(true)
    expect(cleared.clearedAfter(VALVE, 2_001)).toBe(false)
  })

  it('keeps an existing latch when a second stop arrives', async () => {
    const latches = await EstopLatches.open(stateDir)
    await latches.set([latch(1_000)])
    await latches.set([latch(5_000)])
    expect(latches.latch(VALVE)?.latchedAt).toBe(1_000)
  })

  it('forgets cancels past their expiry', async () => {
    const latches = await EstopLatches.open(stateDir)
    await latches.cancel({ hash: 'a'.repeat(64), proposalId: 'p-1', reason: 'x', until: 2_000 }, 1_000)
    await latches.cancel({ hash: 'b'.repeat(64), proposalId: 'p-2', reason: 'y', until: 9_000 }, 3_000)
    expect(latches.cancelled('a'.repeat(64))).toBeUndefined()
    expect(latches.cancelled('b'.repeat(64))).toBeDefined()
  })
})
