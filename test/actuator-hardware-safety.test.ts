/**
 * Safety that lives at the hardware, with real processes: a command center and a field node on
 * loopback, an operator approving over the CLI, processes killed with SIGKILL.
 * - A bounded action ends by the actuator node's own timer, even with the command center gone.
 * - An action whose end passed while the actuator node was down is ended at its start.
 * - `failSafeAfterSec`: with no command center heard that long, the valve closes by itself.
 * - Re-check at execution: evidence that aged past its limit during approval is refused
 *   (`stale-evidence`), and so is an operation whose guard does not hold (`guard-failed`).
 * Each asserts on the record that would show the behaviour (the field node's evidence log, its
 * valve state, the proposal's reason), so each fails when its guard is removed.
 */
import { readFile, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { connectCliClient } from '../node/cli/client-node.ts'
import { FAIL_SAFE_CHECK_INTERVAL_MS } from '../node/devices/fail-safe-watchdog.ts'
import { DEMO_FARM_PATH } from '../node/site/site-model.ts'
import { startFarmSite, waitForZoneObservations } from './helpers/farm-site.ts'
import { cliJson, makeStateDir, runCli, startNode, stopAll, waitFor } from './helpers/processes.ts'

const VALVE = 'actuator:valve:zone-3'
/** Starting two nodes, killing and restarting one, on a shared 2-core machine. */
const TEST_TIMEOUT_MS = 120_000
/** How late the action timer may close the valve: the timer itself, plus a loaded machine. */
const TIMER_SLACK_MS = 1_500

afterEach(stopAll)

interface ProposalJson {
  state: string
  reason?: string
  proposal: { id: string }
}
interface EvidenceEntryJson {
  type: string
  at: number
  data: {
    proposalId?: string
    endsProposalId?: string
    trigger?: string
    capability?: string
    code?: string
    detail?: string
    status?: string
  }
}

/** The demo farm with `valve-zone-3` changed as a test needs. */
async function siteWith(change: (valve: Record<string, unknown>) => void): Promise<string> {
  const site = JSON.parse(await readFile(DEMO_FARM_PATH, 'utf8')) as { actuators: Record<string, unknown>[] }
  const valve = site.actuators.find((actuator) => actuator['id'] === 'valve-zone-3')
  if (valve === undefined) throw new Error('the demo farm has no valve-zone-3')
  change(valve)
  const path = join(await makeStateDir('site'), 'site.json')
  await writeFile(path, JSON.stringify(site, null, 2))
  return path
}

function openOperation(valve: Record<string, unknown>): Record<string, unknown> {
  const operations = valve['operations'] as Record<string, unknown>[]
  const open = operations.find((operation) => operation['name'] === 'open')
  if (open === undefined) throw new Error('valve-zone-3 has no open operation')
  return open
}

async function farm(site?: string) {
  const farmSite = await startFarmSite({
    operators: [{ name: 'bob', roles: 'operator' }],
    ...(site === undefined ? {} : { site }),
  })
  await waitForZoneObservations(farmSite, 'zone-3')
  return farmSite
}

type Farm = Awaited<ReturnType<typeof farm>>

/** Proposes `open` for `durationSec` on zone 3 and returns its id; bob approves after `approve`. */
async function propose(site: Farm, durationSec: number): Promise<string> {
  const { proposal } = await cliJson<{ proposal: ProposalJson }>(
    ['propose', VALVE, 'open', '--arg', `durationSec=${durationSec}`, '--url', site.cc.url],
    site.dirs.cc,
  )
  return proposal.proposal.id
}

async function approve(site: Farm, id: string): Promise<ProposalJson> {
  const approved = await runCli(['approve', id, '--url', site.cc.url, '--json'], site.dirs.bob)
  if (approved.code !== 0 && !approved.stderr.includes('refused'))
    throw new Error(`approve failed: ${approved.stderr}`)
  return waitFor('the proposal to resolve', async () => {
    const { proposals } = await cliJson<{ proposals: ProposalJson[] }>(
      ['proposals', '--url', site.cc.url],
      site.dirs.cc,
    )
    const record = proposals.find((entry) => entry.proposal.id === id)
    return record?.state === 'completed' || record?.state === 'failed' ? record : undefined
  })
}

async function fieldEvidence(dir: string): Promise<EvidenceEntryJson[]> {
  return (await cliJson<{ entries: EvidenceEntryJson[] }>(['evidence', 'list'], dir)).entries
}

async function valveOpen(url: string, dir: string): Promise<boolean> {
  const client = await connectCliClient(url, dir)
  try {
    const invoked = await client.call('capability.invoke', { capability: VALVE, operation: 'state' })
    return (invoked.result as { open: boolean }).open
  } finally {
    await client.close()
  }
}

describe('bounded actions end at the hardware', () => {
  it(
    'open 5 s, then the command center is partitioned away (killed): the valve closes at 5 s',
    async () => {
      const site = await farm()
      const id = await propose(site, 5)
      expect((await approve(site, id)).state).toBe('completed')
      const opened = (await fieldEvidence(site.dirs.field)).find(
        (entry) => entry.type === 'execution' && entry.data.proposalId === id,
      )
      expect(opened?.data.status).toBe('completed')
      await site.cc.stop('SIGKILL')

      const ended = await waitFor(
        'the actuator to end the action by its own timer',
        async () =>
          (await fieldEvidence(site.dirs.field)).find(
            (entry) => entry.type === 'execution' && entry.data.trigger === 'action-ended',
          ),
        15_000,
      )
      expect(ended.data).toMatchObject({ capability: VALVE, endsProposalId: id })
      // The execution entry is written after the device moved; the end is 5 s after that, on time.
      const lateness = ended.at - ((opened?.at ?? 0) + 5_000)
      expect(lateness).toBeGreaterThan(-1_000)
      expect(lateness).toBeLessThan(TIMER_SLACK_MS)
      expect(await valveOpen(site.field.url, site.dirs.field)).toBe(false)
      expect(site.field.output()).toContain(`${VALVE} → safe state (action-ended)`)
    },
    TEST_TIMEOUT_MS,
  )

  it(
    'kill -9 of the actuator node during an open, restarted after its end: closed at start',
    async () => {
      const site = await farm()
      const id = await propose(site, 4)
      expect((await approve(site, id)).state).toBe('completed')
      const port = site.field.port
      await site.field.stop('SIGKILL')
      // The mock valve latches where it was: still open on disk while its node is down.
      const positions = JSON.parse(
        await readFile(join(site.dirs.field, 'devices', 'mock-actuators.json'), 'utf8'),
      ) as Record<string, { open: boolean }>
      expect(positions['valve-zone-3']?.open).toBe(true)
      await new Promise((resolve) => setTimeout(resolve, 4_500))

      const field = await startNode(site.dirs.field, [...site.fieldArgs, '--port', String(port)])
      expect(await valveOpen(field.url, site.dirs.field)).toBe(false)
      const overdue = (await fieldEvidence(site.dirs.field)).filter(
        (entry) => entry.type === 'execution' && entry.data.trigger === 'action-overdue-at-start',
      )
      expect(overdue).toMatchObject([{ data: { capability: VALVE, endsProposalId: id } }])
    },
    TEST_TIMEOUT_MS,
  )

  it(
    'failSafeAfterSec: with no command center heard for that long, the valve goes to its safe state and says so',
    async () => {
      const site = await farm(
        await siteWith((valve) => {
          valve['failSafeAfterSec'] = 3
        }),
      )
      const id = await propose(site, 600)
      expect((await approve(site, id)).state).toBe('completed')
      expect(await valveOpen(site.field.url, site.dirs.field)).toBe(true)
      const killedAt = Date.now()
      await site.cc.stop('SIGKILL')

      const failSafe = await waitFor(
        'the fail-safe to close the valve',
        async () =>
          (await fieldEvidence(site.dirs.field)).find(
            (entry) => entry.type === 'execution' && entry.data.trigger === 'fail-safe',
          ),
        20_000,
      )
      expect(failSafe.data).toMatchObject({ capability: VALVE, endsProposalId: id })
      // Silence is counted from the watchdog's last look that heard the command center, at most
      // one check interval before the kill.
      expect(failSafe.at - killedAt).toBeGreaterThanOrEqual(3_000 - FAIL_SAFE_CHECK_INTERVAL_MS)
      expect(failSafe.at - killedAt).toBeLessThan(3_000 + FAIL_SAFE_CHECK_INTERVAL_MS + TIMER_SLACK_MS)
      expect(await valveOpen(site.field.url, site.dirs.field)).toBe(false)
      const client = await connectCliClient(site.field.url, site.dirs.field)
      try {
        const { counters } = await client.call('mesh.health', {})
        expect(counters['actuator.safe-state.fail-safe']).toBe(1)
      } finally {
        await client.close()
      }
    },
    TEST_TIMEOUT_MS,
  )
})

describe('the actuator re-checks at execution', () => {
  it(
    'an approval given after the evidence aged past its limit is refused at the actuator (stale-evidence)',
    async () => {
      const site = await farm(
        await siteWith((valve) => {
          openOperation(valve)['evidence'] = { metrics: ['soil-moisture'], maxAgeSec: 3 }
        }),
      )
      const id = await propose(site, 60)
      // The operator takes longer than the evidence stays fresh.
      await new Promise((resolve) => setTimeout(resolve, 4_000))
      const resolved = await approve(site, id)
      expect(resolved.state).toBe('failed')
      expect(resolved.reason).toContain('stale-evidence')
      const refusals = (await fieldEvidence(site.dirs.field)).filter(
        (entry) => entry.type === 'refusal' && entry.data.proposalId === id,
      )
      expect(refusals).toMatchObject([{ data: { hop: 'actuator', code: 'stale-evidence' } }])
      expect(await valveOpen(site.field.url, site.dirs.field)).toBe(false)
    },
    TEST_TIMEOUT_MS,
  )

  it(
    "a guard that does not hold on the actuator's own reading is refused (guard-failed)",
    async () => {
      const site = await farm(
        await siteWith((valve) => {
          // The pond never reads below -1000 cm: the guard is false whatever the simulation does.
          openOperation(valve)['guards'] = [{ sensor: 'level-pond', op: '<', value: -1000 }]
        }),
      )
      await waitForZoneObservations(site, 'zone-4')
      const id = await propose(site, 60)
      const resolved = await approve(site, id)
      expect(resolved.state).toBe('failed')
      expect(resolved.reason).toContain('guard-failed')
      const refusals = (await fieldEvidence(site.dirs.field)).filter(
        (entry) => entry.type === 'refusal' && entry.data.proposalId === id,
      )
      expect(refusals).toMatchObject([{ data: { hop: 'actuator', code: 'guard-failed' } }])
      // Decided on a reading the actuator holds, not for want of one.
      expect(refusals[0]?.data.detail).toMatch(/level-pond reads -?\d/)
      expect(await valveOpen(site.field.url, site.dirs.field)).toBe(false)
    },
    TEST_TIMEOUT_MS,
  )
})
