import { mkdtemp, readFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { ClawMeshError } from '../../protocol/errors.ts'
import { issueOperatorRevocation } from '../../protocol/safety/revocation.ts'
import { HOUR, NOW, newSigner } from '../../test/helpers/safety-fixtures.ts'
import { Counters } from '../counters.ts'
import { createRevocationAdmission } from './revocation-admission.ts'
import { REVOCATION_RETENTION_MS, RevocationStore, revocationsPath } from './revocations.ts'
import { TrustStore } from './trust-store.ts'

const tempDir = () => mkdtemp(join(tmpdir(), 'revocations-'))

describe('revocation store', () => {
  it('keeps the latest revocation per operator, durable before add answers', async () => {
    const dir = await tempDir()
    const issuer = await newSigner()
    const operator = await newSigner()
    const store = await RevocationStore.open(dir, { now: () => NOW })
    const first = await issueOperatorRevocation(issuer, {
      operatorId: operator.id,
      revokedAt: NOW - HOUR,
      reason: 'a',
    })
    const later = await issueOperatorRevocation(issuer, {
      operatorId: operator.id,
      revokedAt: NOW,
      reason: 'b',
    })
    expect((await store.add(later)).outcome).toBe('added')
    expect((await store.add(first)).outcome).toBe('known')
    expect(store.isRevoked(operator.id, NOW)).toBe(true)
    expect(store.isRevoked(operator.id, NOW + 1)).toBe(false)
    const reopened = await RevocationStore.open(dir, { now: () => NOW })
    expect(reopened.list()).toEqual([later])
  })

  it('merges a file written by another process (the CLI) with what it holds', async () => {
    const dir = await tempDir()
    const issuer = await newSigner()
    const [bob, carol] = [await newSigner(), await newSigner()]
    const node = await RevocationStore.open(dir, { now: () => NOW })
    const cli = await RevocationStore.open(dir, { now: () => NOW })
    await node.add(await issueOperatorRevocation(issuer, { operatorId: bob.id, revokedAt: NOW, reason: 'x' }))
    // The CLI opened before the node's write: its write lacks bob's revocation.
    const carolRevoked = await issueOperatorRevocation(issuer, {
      operatorId: carol.id,
      revokedAt: NOW,
      reason: 'y',
    })
    await cli.add(carolRevoked)
    expect(await node.reload()).toEqual([carolRevoked])
    const file = JSON.parse(await readFile(revocationsPath(dir), 'utf8')) as { revocations: unknown[] }
    expect(file.revocations).toHaveLength(2)
  })

  it('forgets a revocation once every certificate it covers has expired', async () => {
    const dir = await tempDir()
    const issuer = await newSigner()
    const operator = await newSigner()
    await (await RevocationStore.open(dir, { now: () => NOW })).add(
      await issueOperatorRevocation(issuer, { operatorId: operator.id, revokedAt: NOW, reason: 'x' }),
    )
    const later = await RevocationStore.open(dir, { now: () => NOW + REVOCATION_RETENTION_MS + 1 })
    expect(later.size).toBe(0)
  })
})

describe('revocation admission (trust.revokeOperator on a member or relay)', () => {
  async function setup() {
    const dir = await tempDir()
    const commandCenter = await newSigner()
    const trust = await TrustStore.open(join(dir, 'trusted-peers.json'))
    const store = await RevocationStore.open(dir, { now: () => NOW })
    const counters = new Counters()
    const disconnected: string[] = []
    const admit = createRevocationAdmission({
      store,
      trust,
      isCommandCenter: (id) => id === commandCenter.id,
      disconnect: async (id) => void disconnected.push(id),
      counters,
      report: () => {},
      now: () => NOW,
    })
    return { commandCenter, trust, store, counters, disconnected, admit }
  }

  it('keeps a command center revocation, drops the operator entry and its connections', async () => {
    const { commandCenter, trust, store, counters, disconnected, admit } = await setup()
    const operator = await newSigner()
    await trust.add(operator.id, 'bob', { kind: 'operator', expiresAt: NOW + HOUR })
    const revocation = await issueOperatorRevocation(commandCenter, {
      operatorId: operator.id,
      revokedAt: NOW,
      reason: 'x',
    })
    expect(await admit(commandCenter.id, revocation)).toMatchObject({ added: true, trustRemoved: true })
    expect(trust.get(operator.id)).toBeUndefined()
    expect(disconnected).toEqual([operator.id])
    expect(store.isRevoked(operator.id, NOW - HOUR)).toBe(true)
    expect(counters.get('trust.revocation.accepted')).toBe(1)
    expect(await admit(commandCenter.id, revocation)).toMatchObject({ added: false })
    expect(counters.get('trust.revocation.accepted')).toBe(1)
  })

  it('refuses a caller that is not its command center and a revocation signed by another key; a device entry stays', async () => {
    const { commandCenter, trust, store, counters, admit } = await setup()
    const stranger = await newSigner()
    const device = await newSigner()
    await trust.add(device.id, 'field-2')
    const genuine = await issueOperatorRevocation(commandCenter, {
      operatorId: device.id,
      revokedAt: NOW,
      reason: 'x',
    })
    await expect(admit(stranger.id, genuine)).rejects.toMatchObject({
      data: { reason: 'not-command-center' },
    })
    const forged = await issueOperatorRevocation(stranger, {
      operatorId: device.id,
      revokedAt: NOW,
      reason: 'x',
    })
    await expect(admit(commandCenter.id, forged)).rejects.toBeInstanceOf(ClawMeshError)
    expect(counters.get('trust.revocation.refused.untrusted-issuer')).toBe(1)
    expect(store.size).toBe(0)
    expect(await admit(commandCenter.id, genuine)).toMatchObject({ trustRemoved: false })
    expect(trust.get(device.id)).toMatchObject({ name: 'field-2' })
  })
})
