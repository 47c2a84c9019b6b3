/**
 * Withdrawing proposals over real processes: the author may, another operator may not, an admin
 * may; and a proposal cancelled while its command is already at the actuator (held between the
 * ledger's `started` and the device) never moves the device: the actuator checks its own record of
 * cancels right before the write.
 */
import { afterAll, describe, expect, it } from 'vitest'
import { connectCliClient } from '../node/cli/client-node.ts'
import { startFarmSite, waitForZoneObservations } from './helpers/farm-site.ts'
import { cliJson, runCli, stopAll, waitFor } from './helpers/processes.ts'

const VALVE_1 = 'actuator:valve:zone-1'
const VALVE_2 = 'actuator:valve:zone-2'
const HOLD_MS = 8_000
const CANCEL_TEST_TIMEOUT_MS = 150_000

afterAll(stopAll)

interface ProposalJson {
  state: string
  reason?: string
  proposal: { id: string }
}
interface EvidenceJson {
  entries: Array<{ type: string; data: { proposalId?: string; code?: string } }>
}

const stateOf = async (id: string, url: string, dir: string) =>
  (await cliJson<{ proposals: ProposalJson[] }>(['proposals', '--url', url], dir)).proposals.find(
    (record) => record.proposal.id === id,
  )

describe('proposal cancel', () => {
  it(
    'the author and an admin may cancel, another operator may not; a command in flight never executes',
    async () => {
      const site = await startFarmSite({
        operators: [
          { name: 'bob', roles: 'operator' },
          { name: 'carol', roles: 'operator' },
          { name: 'dave', roles: 'operator,admin' },
        ],
        fieldHoldExecutionMs: HOLD_MS,
      })
      const { dirs } = site
      const cc = site.cc.url
      await waitForZoneObservations(site, 'zone-1')
      await waitForZoneObservations(site, 'zone-2')
      const propose = async (valve: string, seconds: number) =>
        (
          await cliJson<{ proposal: ProposalJson }>(
            ['propose', valve, 'open', '--arg', `durationSec=${seconds}`, '--url', cc],
            dirs.bob,
          )
        ).proposal.proposal.id

      // The author withdraws their own proposal.
      const own = await propose(VALVE_1, 100)
      const byAuthor = await cliJson<{ state: string; reason: string }>(
        ['proposal', 'cancel', own, '--reason', 'wrong zone', '--url', cc],
        dirs.bob,
      )
      expect(byAuthor).toMatchObject({ state: 'cancelled' })
      expect(byAuthor.reason).toContain('wrong zone')

      // Another operator may not; an admin may.
      const other = await propose(VALVE_1, 110)
      const byCarol = await runCli(['proposal', 'cancel', other, '--url', cc], dirs.carol)
      expect(byCarol.code).not.toBe(0)
      expect(byCarol.stderr).toContain('POLICY_DENIED')
      const client = await connectCliClient(cc, dirs.carol)
      const code = await client.call('proposal.cancel', { id: other }).then(
        () => 'allowed',
        (error: { data?: { code?: string } }) => error.data?.code,
      )
      await client.close()
      expect(code).toBe('cancel-not-permitted')
      expect((await stateOf(other, cc, dirs.cc))?.state).toBe('awaiting_approval')
      const byAdmin = await cliJson<{ state: string }>(['proposal', 'cancel', other, '--url', cc], dirs.dave)
      expect(byAdmin.state).toBe('cancelled')
      // A cancelled proposal cannot be approved any more.
      const late = await runCli(['approve', other, '--url', cc], dirs.carol)
      expect(late.code).not.toBe(0)
      expect((await stateOf(other, cc, dirs.cc))?.state).toBe('cancelled')

      // In flight: approved, sent, held at the actuator; the author cancels meanwhile.
      const inFlight = await propose(VALVE_2, 120)
      const approving = runCli(['approve', inFlight, '--url', cc], dirs.carol)
      await waitFor('the field node to hold the execution', () =>
        site.field.output().includes(`holding execution of ${inFlight}`) ? true : undefined,
      )
      const cancelled = await cliJson<{ state: string; actuatorConfirmed?: boolean }>(
        ['proposal', 'cancel', inFlight, '--url', cc],
        dirs.bob,
      )
      expect(cancelled).toMatchObject({ state: 'cancelled', actuatorConfirmed: true })
      await approving
      await waitFor('the refusal at the actuator', async () => {
        const evidence = await cliJson<EvidenceJson>(['evidence', 'list'], dirs.field)
        return evidence.entries.some(
          (entry) =>
            entry.type === 'refusal' && entry.data.proposalId === inFlight && entry.data.code === 'cancelled',
        )
          ? true
          : undefined
      })
      const evidence = await cliJson<EvidenceJson>(['evidence', 'list'], dirs.field)
      expect(
        evidence.entries.filter((entry) => entry.type === 'execution' && entry.data.proposalId === inFlight),
      ).toHaveLength(0)
      const fieldClient = await connectCliClient(site.field.url, dirs.field)
      const state = await fieldClient.call('capability.invoke', { capability: VALVE_2, operation: 'state' })
      await fieldClient.close()
      expect((state.result as { open: boolean }).open).toBe(false)
      expect((await stateOf(inFlight, cc, dirs.cc))?.state).toBe('cancelled')
    },
    CANCEL_TEST_TIMEOUT_MS,
  )
})
