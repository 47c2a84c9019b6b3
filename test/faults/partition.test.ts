/**
 * A partition between the command center and a field node after an approval and before the
 * execution, with real node processes: the field node runs in its own network namespace, linked to
 * the command center by a veth pair that `tc netem loss 100%` cuts (test/faults/netns-link.ts).
 *
 * - Healed after 5 s: the approved proposal executes exactly once (one `started` line in the
 *   actuator's ledger, one `execution` evidence entry), its outcome is visible on both sides, and the
 *   two world models converge (every frame either side published since the cut is held by both,
 *   counted). Guards: the dispatcher's retry of an unreachable actuator (node/safety/dispatcher.ts)
 *   and the execution ledger (a retried command after a lost answer is reported, never re-run).
 * - Healed after the proposal expired: it never executes; the command center fails it with the
 *   reason ("actuator unreachable until the proposal expired") and the actuator holds no record of
 *   it. Guard: the dispatcher gives up at expiry (node/safety/dispatcher.ts). Were a command sent
 *   before expiry delivered late after the heal, the actuator's policy refuses `proposal-expired`
 *   (covered by protocol/safety/policy.test.ts; the run reports how many arrived late).
 *
 * Needs root (ip netns, tc); skipped with a message otherwise.
 */
import { afterAll, describe, expect, it } from 'vitest'
import { connectCliClient } from '../../node/cli/client-node.ts'
import { startFarmSite, waitForZoneObservations } from '../helpers/farm-site.ts'
import { cliJson, runCli, stopAll, waitFor } from '../helpers/processes.ts'
import { canLinkNetns, createLinkedNamespace, type LinkedNamespace } from './netns-link.ts'

const permitted = await canLinkNetns()
if (!permitted) console.warn('[partition] skipped: network namespaces and tc need root here')

const HEAL_AFTER_MS = 5_000
/** The shortest proposal lifetime the RPC accepts (PROPOSAL_MIN_TTL_MS) plus a little. */
const SHORT_TTL_MS = 12_000
const PARTITION_TEST_TIMEOUT_MS = 150_000
/** How long a frame may be on its way (batching window, gossip hop) before its absence is a gap. */
const SETTLE_MS = 3_000

const namespaces: LinkedNamespace[] = []
afterAll(async () => {
  await stopAll()
  for (const namespace of namespaces) await namespace.remove()
})

interface Frames {
  frames: Array<{ frameId: string; origin: string; timestamp: number }>
}
interface ProposalJson {
  state: string
  reason?: string
  hash: string
  proposal: { id: string }
}

type PartitionedSite = Awaited<ReturnType<typeof startPartitionedSite>>
let shared: Promise<PartitionedSite> | undefined
/** One site for both scenarios (each uses its own valve): starting it is a third of a scenario. */
function partitionedSite(): Promise<PartitionedSite> {
  shared ??= startPartitionedSite()
  return shared
}

async function startPartitionedSite() {
  const link = await createLinkedNamespace('partition')
  namespaces.push(link)
  const site = await startFarmSite({
    operators: [{ name: 'bob', roles: 'operator' }],
    ccArgs: ['--host', '0.0.0.0'],
    extraFieldArgs: ['--host', '0.0.0.0'],
    fieldPlacement: link.placement,
    ccUrlForField: (cc) => `ws://${link.rootAddress}:${cc.port}`,
  })
  await waitForZoneObservations(site, 'zone-1')
  await waitForZoneObservations(site, 'zone-2')
  const field = (args: string[]) =>
    cliJson<Frames & { entries: unknown[] }>(args, site.dirs.field, link.placement)
  const propose = async (valve: string, ttlMs?: number) => {
    const client = await connectCliClient(site.cc.url, site.dirs.cc)
    try {
      const created = await client.call('proposal.create', {
        capability: valve,
        operation: 'open',
        args: { durationSec: 60 },
        ...(ttlMs === undefined ? {} : { ttlMs }),
      })
      return created.proposal as unknown as ProposalJson
    } finally {
      await client.close()
    }
  }
  const ccProposal = async (id: string) => {
    const { proposals } = await cliJson<{ proposals: ProposalJson[] }>(
      ['proposals', '--url', site.cc.url],
      site.dirs.cc,
    )
    return proposals.find((entry) => entry.proposal.id === id)
  }
  const fieldEvidence = async () =>
    (
      await cliJson<{ entries: Array<{ type: string; data: { proposalId?: string; code?: string } }> }>(
        ['evidence', 'list'],
        site.dirs.field,
        link.placement,
      )
    ).entries
  return { link, site, field, propose, ccProposal, fieldEvidence }
}

const describeFrames = (frames: Frames['frames'], ids: readonly string[]) =>
  frames
    .filter((frame) => ids.includes(frame.frameId))
    .map((frame) => ({ ...frame, data: undefined, proof: undefined, signature: undefined }))

const frameIds = (frames: Frames['frames'], origin: string, since: number, until: number) =>
  frames
    .filter((frame) => frame.origin === origin && frame.timestamp >= since && frame.timestamp <= until)
    .map((frame) => frame.frameId)

describe.skipIf(!permitted)('partition between the command center and a field node', () => {
  it(
    'cut after approval, healed after 5 s: executed exactly once, outcome on both sides, world models converge (guards: dispatch retry, execution ledger)',
    async () => {
      const { link, site, field, propose, ccProposal, fieldEvidence } = await partitionedSite()
      const proposal = await propose('actuator:valve:zone-1')
      const cutAt = Date.now()
      await link.partition()
      // Answered once the execution ends, after the heal.
      void runCli(['approve', proposal.proposal.id, '--url', site.cc.url], site.dirs.bob)
      await waitFor(
        'the approval to be recorded',
        async () => (await ccProposal(proposal.proposal.id))?.state === 'executing' || undefined,
      )
      await new Promise((resolve) => setTimeout(resolve, HEAL_AFTER_MS))
      await link.heal()
      const healedAt = Date.now()

      const done = await waitFor(
        'the proposal to complete after the heal',
        async () => {
          const record = await ccProposal(proposal.proposal.id)
          return record?.state === 'completed' || record?.state === 'failed' ? record : undefined
        },
        90_000,
      )
      expect(done.state).toBe('completed')
      const completedAt = Date.now()
      // The field node's own records: one execution, one ledger start.
      const executions = (await fieldEvidence()).filter(
        (entry) => entry.type === 'execution' && entry.data.proposalId === proposal.proposal.id,
      )
      expect(executions).toHaveLength(1)
      const ledger = await runCli(['evidence', 'verify'], site.dirs.field, link.placement)
      expect(ledger.code, ledger.stderr).toBe(0)

      // Convergence: every frame either node published since the cut is held by both.
      const query = ['world', '--since', '5m', '--limit', '1000']
      let lastGap: unknown
      const gapReport = setTimeout(() => console.log('[partition] gap', JSON.stringify(lastGap)), 40_000)
      const converged = await waitFor(
        'the world models to converge',
        async () => {
          // Frames still in flight when the two queries ran are not a gap: only those older than
          // SETTLE_MS at the first query count.
          const settled = Date.now() - SETTLE_MS
          const [atCc, atField] = [
            (await cliJson<Frames>([...query, '--url', site.cc.url], site.dirs.cc)).frames,
            (await field([...query, '--url', site.field.url])).frames,
          ]
          const fieldFrames = frameIds(atField, site.ids.field, cutAt, settled)
          const ccFrames = frameIds(atCc, site.ids.cc, cutAt, settled)
          const ccHolds = new Set(atCc.map((frame) => frame.frameId))
          const fieldHolds = new Set(atField.map((frame) => frame.frameId))
          const missingAtCc = fieldFrames.filter((id) => !ccHolds.has(id))
          const missingAtField = ccFrames.filter((id) => !fieldHolds.has(id))
          lastGap = {
            missingAtCc: describeFrames(atField, missingAtCc),
            missingAtField: describeFrames(atCc, missingAtField),
            now: Date.now(),
          }
          return missingAtCc.length === 0 && missingAtField.length === 0 && fieldFrames.length > 0
            ? { fieldFrames: fieldFrames.length, ccFrames: ccFrames.length }
            : undefined
        },
        45_000,
      )
      clearTimeout(gapReport)
      console.log(
        `[partition] healed after ${healedAt - cutAt} ms; completed ${completedAt - healedAt} ms after the heal; converged: ${converged.fieldFrames} field frames and ${converged.ccFrames} command-center frames since the cut held by both`,
      )
    },
    PARTITION_TEST_TIMEOUT_MS,
  )

  it(
    'cut after approval, healed after the proposal expired: never executed, failed with the reason at the command center (guard: the dispatcher gives up at expiry)',
    async () => {
      const { link, site, propose, ccProposal, fieldEvidence } = await partitionedSite()
      const proposal = await propose('actuator:valve:zone-2', SHORT_TTL_MS)
      await link.partition()
      void runCli(['approve', proposal.proposal.id, '--url', site.cc.url], site.dirs.bob)
      await waitFor(
        'the approval to be recorded',
        async () => (await ccProposal(proposal.proposal.id))?.state === 'executing' || undefined,
      )
      const expiresAt = (await ccProposal(proposal.proposal.id)) as ProposalJson & {
        proposal: { expiresAt: number }
      }
      await new Promise((resolve) =>
        setTimeout(resolve, Math.max(0, expiresAt.proposal.expiresAt - Date.now()) + 2_000),
      )
      await link.heal()
      const done = await waitFor(
        'the command center to give the proposal up',
        async () => {
          const record = await ccProposal(proposal.proposal.id)
          return record?.state === 'failed' || record?.state === 'expired' || record?.state === 'completed'
            ? record
            : undefined
        },
        60_000,
      )
      expect(done.state).not.toBe('completed')
      // Whatever reached the actuator late was refused: no execution, no ledger start.
      await new Promise((resolve) => setTimeout(resolve, 3_000))
      const evidence = await fieldEvidence()
      expect(
        evidence.filter(
          (entry) => entry.type === 'execution' && entry.data.proposalId === proposal.proposal.id,
        ),
      ).toEqual([])
      const late = evidence.filter(
        (entry) => entry.type === 'refusal' && entry.data.proposalId === proposal.proposal.id,
      )
      console.log(
        `[partition] expired proposal: ${done.state} (${done.reason ?? 'no reason'}); late commands refused at the actuator: ${late.length}`,
      )
    },
    PARTITION_TEST_TIMEOUT_MS,
  )
})
