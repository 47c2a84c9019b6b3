/**
 * Emergency stop over real processes (a command center and a field node holding each execution
 * 8 s between its ledger's `started` and the device, standing in for a slow device write):
 * - a viewer's stop during an executing open: every actuator safe and latched, the open valve
 *   closed, the in-flight command refused at the actuator (`estop-latched`), its proposal cancelled;
 * - the latch survives a kill -9 of the actuator and refuses the next approved command;
 * - a viewer and a device key (what a planner or an AI agent holds) cannot ask for a clear, nobody
 *   can create an `estop.clear` proposal directly, a viewer cannot approve one; an operator's clear
 *   (an L2 decision) unlatches and the valve opens again.
 */
import { readFile } from 'node:fs/promises'
import { afterAll, describe, expect, it } from 'vitest'
import { type CliClient, connectCliClient } from '../node/cli/client-node.ts'
import { readPendingActions } from '../node/devices/action-timers.ts'
import type { ClawMeshError } from '../protocol/errors.ts'
import { loadOrCreateIdentity } from '../runtime/identity/device-identity.ts'
import { statePaths } from '../runtime/state/state-dir.ts'
import { TrustStore } from '../runtime/trust/trust-store.ts'
import { startFarmSite, waitForZoneObservations } from './helpers/farm-site.ts'
import {
  cliJson,
  makeStateDir,
  runCli,
  startNodeHoldingExecutions,
  stopAll,
  waitFor,
} from './helpers/processes.ts'

const VALVE_3 = 'actuator:valve:zone-3'
const VALVE_2 = 'actuator:valve:zone-2'
const HOLD_MS = 8_000
const ESTOP_TEST_TIMEOUT_MS = 300_000

afterAll(stopAll)

interface ProposalJson {
  state: string
  reason?: string
  refusal?: { code: string; hop: string }
  hash: string
  proposal: { id: string; operation: string; capability: string }
}
interface EvidenceJson {
  entries: Array<{
    type: string
    data: {
      proposalId?: string
      code?: string
      capability?: string
      trigger?: string
      endsProposalId?: string
    }
  }>
}

async function withClient<T>(url: string, dir: string, run: (client: CliClient) => Promise<T>): Promise<T> {
  const client = await connectCliClient(url, dir)
  try {
    return await run(client)
  } finally {
    await client.close()
  }
}

async function refusalCode(call: Promise<unknown>): Promise<string | undefined> {
  try {
    await call
  } catch (error) {
    const refusal = error as ClawMeshError
    return (refusal.data?.['code'] as string | undefined) ?? refusal.code
  }
  throw new Error('the call was expected to be refused')
}

const proposals = async (url: string, dir: string) =>
  (await cliJson<{ proposals: ProposalJson[] }>(['proposals', '--url', url], dir)).proposals

const valveOpen = (valve: string, url: string, dir: string) =>
  withClient(url, dir, async (client) => {
    const invoked = await client.call('capability.invoke', { capability: valve, operation: 'state' })
    return (invoked.result as { open: boolean }).open
  })

/** The actuators whose bounded action has an end pending in the node's action timers. */
const pendingEnds = async (dir: string) => readPendingActions(dir).actions.map((action) => action.capability)

describe('emergency stop', () => {
  it(
    'a stop during an executing open latches every actuator safe, cancels the proposal and survives a restart; only an operator clears',
    async () => {
      const aiDir = await makeStateDir('ai-agent')
      const site = await startFarmSite({
        operators: [
          { name: 'bob', roles: 'operator' },
          { name: 'vera', roles: 'viewer' },
        ],
        fieldHoldExecutionMs: HOLD_MS,
        // A key the command center trusts as a device, with no operator certificate: what a
        // planner node or an AI agent's key is to it.
        beforeStart: async (dirs) => {
          const trust = await TrustStore.open(statePaths(dirs.cc).trustedPeers)
          await trust.add(await cliKeyOf(aiDir), 'ai-agent')
        },
      })
      const { dirs } = site
      const cc = site.cc.url
      await runCli(['operator', 'enroll', '--name', 'alice', '--url', cc], dirs.cc)
      await waitForZoneObservations(site, 'zone-3')
      await waitForZoneObservations(site, 'zone-2')

      // Valve 3 opens (approved, executed after the hold).
      const first = await cliJson<{ proposal: ProposalJson }>(
        ['propose', VALVE_3, 'open', '--arg', 'durationSec=300', '--url', cc],
        dirs.cc,
      )
      expect((await runCli(['approve', first.proposal.proposal.id, '--url', cc], dirs.bob)).code).toBe(0)
      expect(await valveOpen(VALVE_3, site.field.url, dirs.field)).toBe(true)
      expect(await pendingEnds(dirs.field)).toContain(VALVE_3)

      // Valve 2's open is approved and executing: held between `started` and the device.
      const second = await cliJson<{ proposal: ProposalJson }>(
        ['propose', VALVE_2, 'open', '--arg', 'durationSec=300', '--url', cc],
        dirs.cc,
      )
      const secondId = second.proposal.proposal.id
      const approving = runCli(['approve', secondId, '--url', cc], dirs.bob)
      await waitFor('the field node to hold the second execution', () =>
        site.field.output().includes(`holding execution of ${secondId}`) ? true : undefined,
      )

      // A viewer presses the stop.
      const stopped = await cliJson<{
        actuators: Array<{ capability: string; outcome: string; latched: boolean }>
        cancelled: string[]
      }>(['estop', '--all', '--reason', 'person in the field', '--url', cc], dirs.vera)
      expect(stopped.actuators).toHaveLength(4)
      for (const actuator of stopped.actuators)
        expect(actuator).toMatchObject({ outcome: 'safe', latched: true })
      expect(stopped.cancelled).toContain(secondId)
      expect(await valveOpen(VALVE_3, site.field.url, dirs.field)).toBe(false)
      // The stop went through the action timers (the driver contract, not the mock): valve 3's
      // pending end is cancelled on disk, and the move is reported like any other to the safe state.
      const stopEvidence = await cliJson<EvidenceJson>(['evidence', 'list'], dirs.field)
      expect(
        stopEvidence.entries.filter(
          (entry) =>
            entry.type === 'execution' &&
            entry.data.trigger === 'emergency-stop' &&
            entry.data.capability === VALVE_3,
        ),
      ).toMatchObject([{ data: { endsProposalId: first.proposal.proposal.id } }])
      expect(await pendingEnds(dirs.field)).not.toContain(VALVE_3)

      // The held command reaches the device step after the stop: refused there, never executed.
      await approving
      await waitFor('the refusal at the actuator', async () => {
        const evidence = await cliJson<EvidenceJson>(['evidence', 'list'], dirs.field)
        return evidence.entries.some(
          (entry) =>
            entry.type === 'refusal' &&
            entry.data.proposalId === secondId &&
            entry.data.code === 'estop-latched',
        )
          ? true
          : undefined
      })
      const fieldEvidence = await cliJson<EvidenceJson>(['evidence', 'list'], dirs.field)
      expect(
        fieldEvidence.entries.filter(
          (entry) => entry.type === 'execution' && entry.data.proposalId === secondId,
        ),
      ).toHaveLength(0)
      expect(await valveOpen(VALVE_2, site.field.url, dirs.field)).toBe(false)
      const cancelled = (await proposals(cc, dirs.cc)).find((record) => record.proposal.id === secondId)
      expect(cancelled?.state).toBe('cancelled')
      expect(cancelled?.reason).toContain('emergency stop')

      // kill -9 of the actuator; the latch is still there after its restart.
      const fieldPort = site.field.port
      await site.field.stop('SIGKILL')
      const field = await startNodeHoldingExecutions(
        dirs.field,
        [...site.fieldArgs, '--port', String(fieldPort)],
        HOLD_MS,
      )
      const latches = await cliJson<{ latches: Array<{ capability: string }> }>(
        ['estop', 'status', '--url', field.url],
        dirs.field,
      )
      expect(latches.latches.map((latch) => latch.capability).sort()).toEqual([
        'actuator:pump:zone-4',
        'actuator:valve:zone-1',
        VALVE_2,
        VALVE_3,
      ])
      const third = await cliJson<{ proposal: ProposalJson }>(
        ['propose', VALVE_3, 'open', '--arg', 'durationSec=120', '--url', cc],
        dirs.cc,
      )
      await runCli(['approve', third.proposal.proposal.id, '--url', cc], dirs.bob)
      const thirdRecord = await waitFor(
        'the latched actuator to refuse the next command',
        async () => {
          const record = (await proposals(cc, dirs.cc)).find(
            (r) => r.proposal.id === third.proposal.proposal.id,
          )
          return record?.state === 'cancelled' || record?.state === 'completed' ? record : undefined
        },
        45_000,
      )
      expect(thirdRecord.state).toBe('cancelled')
      expect(thirdRecord.reason).toContain('estop-latched')
      expect(thirdRecord.refusal).toMatchObject({ code: 'estop-latched', hop: 'actuator' })
      expect(await valveOpen(VALVE_3, field.url, dirs.field)).toBe(false)

      // Who may clear: not a viewer (its key may not even propose), not a device key (a planner's or
      // an AI agent's: the handler checks for an operator or admin), not through proposal.create.
      expect(
        await refusalCode(
          withClient(cc, dirs.vera, (client) =>
            client.call('safety.estop.clear', { scope: { kind: 'all' } }),
          ),
        ),
      ).toBe('FORBIDDEN')
      expect(
        await refusalCode(
          withClient(cc, aiDir, (client) => client.call('safety.estop.clear', { scope: { kind: 'all' } })),
        ),
      ).toBe('estop-clear-not-permitted')
      expect(
        await refusalCode(
          withClient(cc, aiDir, (client) =>
            client.call('proposal.create', { capability: VALVE_3, operation: 'estop.clear', level: 'L2' }),
          ),
        ),
      ).toBe('estop-clear-reserved')

      // Bob asks for the clear of valve 3 without approving; the viewer's approval is refused.
      const asked = await cliJson<{ proposals: Array<{ id: string; hash: string }> }>(
        ['estop', 'clear', '--actuator', VALVE_3, '--no-approve', '--url', cc],
        dirs.bob,
      )
      expect(asked.proposals).toHaveLength(1)
      const clearId = asked.proposals[0]?.id as string
      const viewerApproval = await runCli(['approve', clearId, '--url', cc], dirs.vera)
      expect(viewerApproval.code).not.toBe(0)
      expect(viewerApproval.stderr).toContain('viewer-cannot-approve')
      expect((await proposals(cc, dirs.cc)).find((r) => r.proposal.id === clearId)?.state).toBe(
        'awaiting_approval',
      )

      // An operator's approval clears it at the actuator, which checks the approval itself.
      const cleared = await cliJson<{ verdict: string; proposal: ProposalJson }>(
        ['approve', clearId, '--url', cc],
        dirs.bob,
      )
      expect(cleared.proposal.state).toBe('completed')
      // `estop clear` asks and approves in one step for the operator who runs it.
      const zone2 = await cliJson<{ proposals: Array<{ state: string }> }>(
        ['estop', 'clear', '--zone', 'zone-2', '--url', cc],
        dirs.bob,
      )
      expect(zone2.proposals.map((p) => p.state)).toEqual(['completed'])
      const left = await cliJson<{ latches: Array<{ capability: string }> }>(
        ['estop', 'status', '--url', field.url],
        dirs.field,
      )
      expect(left.latches.map((latch) => latch.capability).sort()).toEqual([
        'actuator:pump:zone-4',
        'actuator:valve:zone-1',
      ])
      const again = await cliJson<{ proposal: ProposalJson }>(
        ['propose', VALVE_3, 'open', '--arg', 'durationSec=120', '--url', cc],
        dirs.cc,
      )
      const reopened = await cliJson<{ proposal: ProposalJson }>(
        ['approve', again.proposal.proposal.id, '--url', cc],
        dirs.bob,
      )
      expect(reopened.proposal.state).toBe('completed')
      expect(await valveOpen(VALVE_3, field.url, dirs.field)).toBe(true)
    },
    ESTOP_TEST_TIMEOUT_MS,
  )
})

async function cliKeyOf(dir: string): Promise<string> {
  return (await loadOrCreateIdentity(statePaths(dir).cliIdentity)).deviceId
}
