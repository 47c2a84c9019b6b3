/**
 * `resetLeaderTerm` on a state dir: forgets a poisoned claim, holds the given term, records the reset
 * as signed evidence, and refuses while a node still owns the term file.
 */
import { mkdtemp, readFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { LEADER_TERM_MAX, signLeaderAnnouncement } from '../../protocol/planner-election.ts'
import { loadOrCreateIdentity } from '../../runtime/identity/device-identity.ts'
import { writeJsonAtomic } from '../../runtime/state/atomic-file.ts'
import { statePaths } from '../../runtime/state/state-dir.ts'
import { newSigner } from '../../test/helpers/safety-fixtures.ts'
import { verifyEvidenceFile } from '../safety/evidence-log-writer.ts'
import { leaderTermOwnerPath, leaderTermPath } from './election.ts'
import { LeaderTermResetError, resetLeaderTerm } from './leader-term-reset.ts'

async function poisonedStateDir(): Promise<{ stateDir: string; attacker: string; nodeId: string }> {
  const stateDir = await mkdtemp(join(tmpdir(), 'clawmesh-reset-'))
  const node = await loadOrCreateIdentity(statePaths(stateDir).deviceIdentity)
  const attacker = await newSigner()
  const highest = await signLeaderAnnouncement(attacker, {
    meshName: 'farm',
    generation: 1,
    role: 'planner',
    term: LEADER_TERM_MAX,
    issuedAt: 1,
  })
  await writeJsonAtomic(leaderTermPath(stateDir), { version: 1, highest })
  return { stateDir, attacker: attacker.id, nodeId: node.deviceId }
}

describe('resetLeaderTerm', () => {
  it('replaces a poisoned claim with the given term and records it as signed evidence', async () => {
    const { stateDir, attacker, nodeId } = await poisonedStateDir()
    const result = await resetLeaderTerm({ stateDir, to: 3, now: () => 1_000 })
    expect(result).toMatchObject({ previous: { term: LEADER_TERM_MAX, leader: attacker }, heldTerm: 3 })
    expect(JSON.parse(await readFile(leaderTermPath(stateDir), 'utf8'))).toEqual({
      version: 1,
      resetTo: { term: 3, at: 1_000 },
    })
    const { verdict, entries } = await verifyEvidenceFile(stateDir, { nodeId })
    expect(verdict.outcome).toBe('ok')
    expect(entries.at(-1)).toMatchObject({
      seq: result.evidenceSeq,
      type: 'maintenance',
      data: {
        action: 'leader-term-reset',
        previous: { term: LEADER_TERM_MAX, leader: attacker },
        heldTerm: 3,
      },
    })
  })

  it('without --to the node holds no term at all', async () => {
    const { stateDir } = await poisonedStateDir()
    const result = await resetLeaderTerm({ stateDir })
    expect(result.heldTerm).toBeNull()
    await expect(readFile(leaderTermPath(stateDir), 'utf8')).rejects.toMatchObject({ code: 'ENOENT' })
  })

  it('refuses (node-running) while a live process owns the term file, and changes nothing', async () => {
    const { stateDir } = await poisonedStateDir()
    const before = await readFile(leaderTermPath(stateDir), 'utf8')
    await writeJsonAtomic(leaderTermOwnerPath(stateDir), { pid: process.ppid })
    await expect(resetLeaderTerm({ stateDir, to: 3 })).rejects.toMatchObject({
      name: LeaderTermResetError.NAME,
      code: 'node-running',
    })
    expect(await readFile(leaderTermPath(stateDir), 'utf8')).toBe(before)
  })

  it('refuses (no-identity) on a state dir where no node ever ran', async () => {
    const stateDir = await mkdtemp(join(tmpdir(), 'clawmesh-reset-'))
    await expect(resetLeaderTerm({ stateDir })).rejects.toMatchObject({ code: 'no-identity' })
  })
})
