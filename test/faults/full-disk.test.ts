/**
 * Full disk: a node's state dir on a small tmpfs that fills up while evidence and ledger lines are
 * appended. What must hold: actuation is refused before anything moves, with a clear error; no file
 * is corrupted (the evidence log verifies, the ledger loads); and when the space returns the node
 * carries on without a restart. Each test names the guard it depends on:
 *
 * - "rollback of a short append" (node/safety/durable-append.ts): a write the disk cut short is cut
 *   back out of the file. Without it the torn line stays, the next append lands after it, and the
 *   evidence log no longer verifies.
 * - "evidence writer recovery" (EvidenceLogWriter#recover): after a failed write the chain continues
 *   from the last entry on disk. Without it every later append is refused until a restart.
 * - "ledger claim release" (ExecutionLedger.begin): a `started` line cut back out releases its claim.
 *   Without it the proposal answers ALREADY_EXECUTED although it never ran.
 * - "storage headroom" (ActuatorGate#ensureStorage, ACTUATION_MIN_FREE_BYTES): the actuator refuses
 *   (UNAVAILABLE, storage-full) before the ledger and the device.
 *
 * Needs root to mount a tmpfs; skipped with a message otherwise.
 */
import { mkdtemp, readFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { afterAll, describe, expect, it } from 'vitest'
import { connectCliClient } from '../../node/cli/client-node.ts'
import { DurableAppendError, readJsonLines } from '../../node/safety/durable-append.ts'
import { EvidenceLogWriter, verifyEvidenceFile } from '../../node/safety/evidence-log-writer.ts'
import { ExecutionLedger, executionLedgerPath } from '../../node/safety/execution-ledger.ts'
import { signerFromPrivateKey } from '../../protocol/signing.ts'
import { startFarmSite, waitForZoneObservations } from '../helpers/farm-site.ts'
import { cliJson, runCli, stopAll, waitFor } from '../helpers/processes.ts'
import { canMountTmpfs, mountSmallDisk, type SmallDisk } from './tmpfs.ts'

const permitted = await canMountTmpfs()
if (!permitted) console.warn('[full-disk] skipped: mounting a tmpfs is not permitted here (needs root)')

const disks: SmallDisk[] = []
afterAll(async () => {
  await stopAll()
  for (const disk of disks) await disk.unmount()
})

/** Appends until the full disk refuses one (a line may still fit in the last page's slack). */
async function appendUntilRefused(append: (attempt: number) => Promise<unknown>): Promise<unknown> {
  for (let attempt = 0; attempt < 200; attempt++) {
    const error = await append(attempt).then(
      () => undefined,
      (caught: unknown) => caught,
    )
    if (error !== undefined) return error
  }
  throw new Error('the full disk never refused an append')
}

describe.skipIf(!permitted)('full disk (state dir on a small tmpfs)', () => {
  it('evidence and ledger appends fail whole, nothing is torn, and both carry on when space returns (guards: rollback of a short append, evidence writer recovery, ledger claim release)', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'clawmesh-fulldisk-'))
    const disk = await mountSmallDisk(dir, 256 * 1024)
    disks.push(disk)
    const signer = signerFromPrivateKey(await generateKeyPair('Ed25519'))
    const evidence = await EvidenceLogWriter.open({ stateDir: dir, signer })
    const ledger = await ExecutionLedger.open({ stateDir: dir })
    for (let index = 0; index < 5; index++) await evidence.append('decision', { index, note: 'before' })

    await disk.fill()
    const refused = await appendUntilRefused(() => evidence.append('decision', { note: 'x'.repeat(400) }))
    expect(refused).toBeInstanceOf(DurableAppendError)
    expect((refused as DurableAppendError).code).toBe('ENOSPC')
    expect((refused as DurableAppendError).rolledBack).toBe(true)
    // Still full: the same entry is refused again, whole (a smaller one may still fit the slack).
    await expect(evidence.append('decision', { note: 'x'.repeat(400) })).rejects.toBeInstanceOf(
      DurableAppendError,
    )
    const hashOf = (attempt: number) => attempt.toString(16).padStart(64, 'c')
    let refusedHash = ''
    const ledgerRefusal = await appendUntilRefused(async (attempt) => {
      refusedHash = hashOf(attempt)
      await ledger.begin(refusedHash)
      await ledger.finish(refusedHash, { status: 'completed' })
    })
    expect(ledgerRefusal).toBeInstanceOf(DurableAppendError)
    // Its `started` line was cut back out, so the claim is free again: it never ran.
    expect(ledger.hasExecuted(refusedHash)).toBe(false)

    // Nothing torn: every line complete, the chain verifies.
    expect((await readJsonLines(evidence.path)).torn).toBeUndefined()
    expect((await readJsonLines(executionLedgerPath(dir))).torn).toBeUndefined()
    expect((await verifyEvidenceFile(dir, { nodeId: signer.id })).verdict.outcome).toBe('ok')

    // Space returns: the same writer and ledger go on, no restart.
    await disk.free()
    const after = await evidence.append('decision', { note: 'after' })
    expect(after.seq).toBeGreaterThan(4)
    const fresh = refusedHash
    expect(await ledger.begin(fresh)).toEqual({ outcome: 'begun' })
    await ledger.finish(fresh, { status: 'completed' })
    expect((await evidence.verify()).outcome).toBe('ok')
    // A restart reads both files as they are.
    const reopened = await ExecutionLedger.open({ stateDir: dir })
    expect(reopened.hasExecuted(fresh)).toBe(true)
    expect((await EvidenceLogWriter.open({ stateDir: dir, signer })).head?.seq).toBe(after.seq)
  })

  it('a field node with a full state dir refuses actuation (UNAVAILABLE storage-full), moves nothing, and executes once when space returns (guard: storage headroom)', async () => {
    let disk: SmallDisk | undefined
    const site = await startFarmSite({
      operators: [{ name: 'bob', roles: 'operator' }],
      beforeStart: async (dirs) => {
        disk = await mountSmallDisk(dirs.field, 16 * 1024 * 1024)
        disks.push(disk)
      },
    })
    if (disk === undefined) throw new Error('no tmpfs')
    await waitForZoneObservations(site, 'zone-2')
    const { proposal } = await cliJson<{ proposal: { hash: string; proposal: { id: string } } }>(
      ['propose', 'actuator:valve:zone-2', 'open', '--arg', 'durationSec=60', '--url', site.cc.url],
      site.dirs.cc,
    )
    await disk.fill()
    expect(await disk.freeBytes()).toBe(0)
    // Answered once the execution ends, which it cannot until space returns.
    void runCli(['approve', proposal.proposal.id, '--url', site.cc.url], site.dirs.bob)

    const status = async () => {
      const client = await connectCliClient(site.field.url, site.dirs.field)
      try {
        return await client.call('mesh.health', {})
      } finally {
        await client.close()
      }
    }
    await waitFor(
      'the field node to refuse for a full disk',
      async () => ((await status()).counters['safety.refused.storage-full'] ?? 0) >= 1 || undefined,
      30_000,
    )
    expect(site.field.output()).toContain(
      `actuator refused proposal ${proposal.proposal.id}: its state dir is full`,
    )
    // The headroom check refused, before the ledger: not a ledger write that failed.
    expect(site.field.output()).toContain("bytes free on the state dir's file system")
    const during = await cliJson<{ proposals: Array<{ state: string; proposal: { id: string } }> }>(
      ['proposals', '--url', site.cc.url],
      site.dirs.cc,
    )
    expect(during.proposals.find((entry) => entry.proposal.id === proposal.proposal.id)?.state).toBe(
      'executing',
    )
    // Nothing moved: the ledger never recorded a start.
    const ledgerBefore = await readFile(executionLedgerPath(site.dirs.field), 'utf8').catch(() => '')
    expect(ledgerBefore).not.toContain(proposal.hash)

    await disk.free()
    const done = await waitFor(
      'the proposal to execute once space returned',
      async () => {
        const { proposals } = await cliJson<{
          proposals: Array<{ state: string; proposal: { id: string } }>
        }>(['proposals', '--url', site.cc.url], site.dirs.cc)
        const record = proposals.find((entry) => entry.proposal.id === proposal.proposal.id)
        return record?.state === 'completed' || record?.state === 'failed' ? record : undefined
      },
      45_000,
    )
    expect(done.state).toBe('completed')
    const ledgerLines = (await readFile(executionLedgerPath(site.dirs.field), 'utf8')).split('\n')
    expect(
      ledgerLines.filter((line) => line.includes('"started"') && line.includes(proposal.hash)),
    ).toHaveLength(1)
    await site.field.stop('SIGTERM')
    const verified = await runCli(['evidence', 'verify'], site.dirs.field)
    expect(verified.code, verified.stderr).toBe(0)
  }, 120_000)
})
