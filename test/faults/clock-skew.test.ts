/**
 * One node's clock 10 minutes ahead or behind. What each check does is defined (docs/reliability.md,
 * "Clock skew"); this test holds the system to it.
 *
 * 1. The records that cross between nodes, checked at the skewed node's `now` (pure, fast):
 *    certificates and approvals from the future beyond CLOCK_SKEW_TOLERANCE_MS are refused, records
 *    from the past are judged by their own validity; frames beyond FRAME_DEFAULT_MAX_FUTURE_MS ahead
 *    are rejected, beyond FRAME_DEFAULT_MAX_PAST_MS behind ignored. Guards: the tolerance checks in
 *    verifyOperatorCertificate / verifyApproval / verifyOperatorRevocation and checkFrame's window.
 * 2. Real processes: a field node whose wall clock runs 10 minutes ahead (then behind) of its command
 *    center, through the test-only preload test/helpers/skewed-clock.ts. The command center refuses
 *    its frames (counted, so visible), holds none of them, and `doctor` on the field node reports the
 *    skew against the caller. Guards: checkFrame's window (frame.ts) and doctor's clockFinding.
 */
import { join } from 'node:path'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { connectCliClient } from '../../node/cli/client-node.ts'
import { createFrame, FRAME_DEFAULT_MAX_FUTURE_MS, verifyFrame } from '../../protocol/context/index.ts'
import { signApproval, verifyApproval } from '../../protocol/safety/approval.ts'
import { CLOCK_SKEW_TOLERANCE_MS } from '../../protocol/safety/constants.ts'
import {
  issueOperatorCertificate,
  verifyOperatorCertificate,
} from '../../protocol/safety/operator-certificate.ts'
import { issueOperatorRevocation, verifyOperatorRevocation } from '../../protocol/safety/revocation.ts'
import { type Signer, signerFromPrivateKey } from '../../protocol/signing.ts'
import { startFarmSite } from '../helpers/farm-site.ts'
import { cliJson, REPO_ROOT, stopAll, waitFor } from '../helpers/processes.ts'
import { CLOCK_OFFSET_ENV } from '../helpers/skewed-clock.ts'

const MINUTE = 60_000
const SKEW_MS = 10 * MINUTE
/** A record signed "now" on the command center reaches the skewed node a moment later. */
const TRANSIT_MS = 1_000
const T = 1_750_000_000_000
const HOUR = 60 * MINUTE

afterAll(stopAll)

describe('records checked by a node whose clock is 10 minutes off', () => {
  let commandCenter: Signer
  let operator: Signer
  beforeAll(async () => {
    commandCenter = signerFromPrivateKey(await generateKeyPair('Ed25519'))
    operator = signerFromPrivateKey(await generateKeyPair('Ed25519'))
  })
  const behind = T - SKEW_MS + TRANSIT_MS
  const ahead = T + SKEW_MS + TRANSIT_MS

  it('a certificate issued now: not yet valid on a node behind, valid on a node ahead (guard: certificate issuedAt tolerance)', async () => {
    const certificate = await issueOperatorCertificate(commandCenter, {
      operatorId: operator.id,
      displayName: 'op',
      roles: ['operator'],
      issuedAt: T,
      expiresAt: T + HOUR,
    })
    const check = (now: number) =>
      verifyOperatorCertificate(certificate, {
        trustedIssuers: new Set([commandCenter.id]),
        now,
        isRevoked: () => false,
      })
    expect(await check(behind)).toMatchObject({ outcome: 'reject', reason: 'not-yet-valid' })
    expect((await check(ahead)).outcome).toBe('accept')
    // Within the tolerance it is accepted either way: ordinary NTP drift never refuses.
    expect((await check(T - CLOCK_SKEW_TOLERANCE_MS + TRANSIT_MS)).outcome).toBe('accept')
    // A node ahead sees the certificate expire 10 minutes early.
    expect(await check(T + HOUR + TRANSIT_MS)).toMatchObject({
      outcome: 'reject',
      reason: 'expired',
    })
  })

  it('an approval signed now: refused as from the future on a node behind, accepted ahead (guard: approval `at` tolerance)', async () => {
    const certificate = await issueOperatorCertificate(commandCenter, {
      operatorId: operator.id,
      displayName: 'op',
      roles: ['operator'],
      issuedAt: T - HOUR,
      expiresAt: T + HOUR,
    })
    const approval = await signApproval(operator, {
      proposalHash: 'a'.repeat(64),
      decision: 'approve',
      operatorCertificate: certificate,
      operatorLink: 'lan',
      at: T,
    })
    const check = (now: number) =>
      verifyApproval(approval, { trustedIssuers: new Set([commandCenter.id]), now, isRevoked: () => false })
    expect(await check(behind)).toMatchObject({ outcome: 'reject', reason: 'from-future' })
    expect((await check(ahead)).outcome).toBe('accept')
  })

  it('a revocation issued now: refused from the future on a node behind (guard: revokedAt tolerance)', async () => {
    const revocation = await issueOperatorRevocation(commandCenter, {
      operatorId: operator.id,
      revokedAt: T,
      reason: 'lost phone',
    })
    const check = (now: number) =>
      verifyOperatorRevocation(revocation, { trustedIssuers: new Set([commandCenter.id]), now })
    expect(await check(behind)).toMatchObject({ outcome: 'reject', reason: 'from-future' })
    expect((await check(ahead)).outcome).toBe('accept')
  })

  it('a frame stamped now: rejected as future-dated on a node behind, ignored as stale on a node ahead (guard: frame time window)', async () => {
    const frame = await createFrame(operator, {
      meshName: 'farm',
      generation: 1,
      kind: 'observation',
      originName: 'field-1',
      timestamp: T,
      data: { zone: 'zone-1', metric: 'soil-moisture', value: 30, unit: '%' },
      trust: { tier: 'T1', sources: ['sensor:soil-moisture:zone-1'] },
    } as Parameters<typeof createFrame>[1])
    const check = (now: number) =>
      verifyFrame(frame, { meshName: 'farm', generation: 1, now, isTrustedOrigin: () => true })
    expect(await check(behind)).toMatchObject({ verdict: 'reject', reason: 'future-dated' })
    expect(await check(ahead)).toMatchObject({ verdict: 'ignore', reason: 'stale' })
    expect((await check(T - FRAME_DEFAULT_MAX_FUTURE_MS + TRANSIT_MS)).verdict).toBe('accept')
  })
})

const SKEWED_CLOCK = join(REPO_ROOT, 'test/helpers/skewed-clock.ts')

interface DoctorJson {
  findings: Array<{ id: string; status: string; summary: string }>
}

describe('a field node process whose clock is 10 minutes off', () => {
  it.each([
    ['ahead', SKEW_MS, 'frames.rejected.future-dated'],
    ['behind', -SKEW_MS, 'frames.ignored.stale'],
  ] as const)(
    '%s: the command center refuses its live frames (counted), holds none fresh, and doctor reports the skew (guards: frame time window, doctor clock finding)',
    async (_direction, offset, counter) => {
      const site = await startFarmSite({
        extraFieldArgs: ['--host-ops'],
        fieldPlacement: {
          nodeFlags: ['--import', SKEWED_CLOCK],
          env: { [CLOCK_OFFSET_ENV]: String(offset) },
        },
      })
      const ccHealth = async () => {
        const client = await connectCliClient(site.cc.url, site.dirs.cc)
        try {
          return await client.call('mesh.health', {})
        } finally {
          await client.close()
        }
      }
      // The field node publishes observations every few seconds; each one is refused.
      await waitFor(
        `${counter} at the command center`,
        async () => ((await ccHealth()).counters[counter] ?? 0) >= 2 || undefined,
        30_000,
      )
      const world = await cliJson<{ frames: Array<{ origin: string; timestamp: number }> }>(
        ['world', '--url', site.cc.url, '--kind', 'observation'],
        site.dirs.cc,
      )
      const fromField = world.frames.filter((frame) => frame.origin === site.ids.field)
      if (offset > 0) expect(fromField).toEqual([])
      // Behind: live frames are ignored as stale; the catch-up at connect (context.sync, which takes
      // history up to CONTEXT_SYNC_MAX_AGE_MS) brings some in, all older than the freshness any
      // evidence requirement accepts.
      else
        for (const frame of fromField)
          expect(Date.now() - frame.timestamp).toBeGreaterThan(SKEW_MS - TRANSIT_MS)

      const doctor = await cliJson<DoctorJson>(['doctor', '--url', site.field.url], site.dirs.field)
      const clock = doctor.findings.find((finding) => finding.id === 'clock-skew')
      expect(clock?.status).toBe('fail')
      expect(clock?.summary).toMatch(offset > 0 ? /ahead of the caller/ : /behind the caller/)
      const skew = Number(/by (\d+) ms/.exec(clock?.summary ?? '')?.[1])
      expect(Math.abs(skew - SKEW_MS)).toBeLessThan(5_000)
      await stopAll()
    },
    90_000,
  )
})
