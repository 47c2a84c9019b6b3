/** Action timers and the fail-safe watchdog over the mock drivers, with a real state dir: ends are
 * durable before the device moves, survive a restart, and past-due ones end at start. */
import { appendFile, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import { DEMO_FARM_PATH, loadSiteFile, type SiteModel } from '../site/site-model.ts'
import {
  ACTIONS_JOURNAL_COMPACT_AFTER,
  ActionTimers,
  actionsJournalPath,
  readPendingActions,
  type SafeStateReport,
} from './action-timers.ts'
import { FailSafeWatchdog } from './fail-safe-watchdog.ts'
import { MockActuators, mockActuatorsPath } from './mock-actuator.ts'

const VALVE = 'actuator:valve:zone-3'
let site: SiteModel
let stateDir: string
let clock: number

beforeAll(async () => {
  site = await loadSiteFile(DEMO_FARM_PATH)
})
beforeEach(async () => {
  stateDir = await mkdtemp(join(tmpdir(), 'clawmesh-actions-'))
  clock = Date.now()
})
afterEach(async () => {
  await rm(stateDir, { recursive: true, force: true })
})

/** One "boot" of the actuator node: drivers from the state file, timers from theirs. */
function boot() {
  const drivers = new MockActuators(site.actuators, clock, { stateFile: mockActuatorsPath(stateDir) })
  const reports: SafeStateReport[] = []
  const timers = new ActionTimers({
    stateDir,
    drivers,
    now: () => clock,
    report: async (report) => {
      reports.push(report)
    },
    log: () => {},
  })
  return { drivers, timers, reports }
}

/** The pending actions the journal on disk holds: what a node starting now would re-arm. */
const pendingOnDisk = async () => readPendingActions(stateDir).actions

const waitUntil = async (probe: () => boolean) => {
  for (let i = 0; i < 300 && !probe(); i++) await new Promise((resolve) => setTimeout(resolve, 10))
}

describe('ActionTimers', () => {
  it('writes the end before the device moves, and ends the action at its time', async () => {
    const { drivers, timers, reports } = boot()
    await timers.start()
    const opened = await timers.apply(VALVE, 'open', { durationSec: 1 }, 'p-1')
    expect(opened).toMatchObject({ ok: true, state: { open: true } })
    expect(await pendingOnDisk()).toMatchObject([
      { capability: VALVE, until: clock + 1_000, proposalId: 'p-1' },
    ])
    clock += 1_000
    await waitUntil(() => reports.length > 0)
    expect(reports).toMatchObject([
      { capability: VALVE, trigger: 'action-ended', action: { proposalId: 'p-1' } },
    ])
    expect(drivers.get(VALVE)!.state.open).toBe(false)
    expect(await pendingOnDisk()).toEqual([])
    timers.stop()
  })

  it('after a crash, drives an action past its end to the safe state at start, and re-arms the others', async () => {
    const first = boot()
    await first.timers.start()
    await first.timers.apply(VALVE, 'open', { durationSec: 5 }, 'p-short')
    await first.timers.apply('actuator:valve:zone-1', 'open', { durationSec: 600 }, 'p-long')
    first.timers.stop() // the process dies; the valves stay where they are (latching)

    clock += 10_000
    const second = boot()
    expect(second.drivers.get(VALVE)!.state.open).toBe(true)
    await second.timers.start()
    expect(second.reports).toMatchObject([{ capability: VALVE, trigger: 'action-overdue-at-start' }])
    expect(second.drivers.get(VALVE)!.state.open).toBe(false)
    expect(second.drivers.get('actuator:valve:zone-1')!.state.open).toBe(true)
    expect(second.timers.pending().map((action) => action.proposalId)).toEqual(['p-long'])
    second.timers.stop()
  })

  it('forgets the end of an action a close operation already ended', async () => {
    const { timers, reports } = boot()
    await timers.start()
    await timers.apply(VALVE, 'open', { durationSec: 60 })
    await timers.apply(VALVE, 'close', {})
    expect(timers.pending()).toEqual([])
    expect(reports).toEqual([])
    timers.stop()
  })

  it('keeps the earlier end when a refused operation never moved the device', async () => {
    const { timers } = boot()
    await timers.start()
    await timers.apply(VALVE, 'open', { durationSec: 60 }, 'p-1')
    expect(await timers.apply(VALVE, 'open', { durationSec: 9_999 }, 'p-2')).toMatchObject({ ok: false })
    expect(timers.pending()).toMatchObject([{ proposalId: 'p-1' }])
    timers.stop()
  })
})

describe('the action journal', () => {
  it('replays complete records and drops a last one a crash cut short', async () => {
    const first = boot()
    await first.timers.start()
    await first.timers.apply(VALVE, 'open', { durationSec: 600 }, 'p-kept')
    first.timers.stop()
    await new Promise((resolve) => setTimeout(resolve, 50))
    // A crash in the middle of the next append: its fsync never returned, the device never moved.
    await appendFile(actionsJournalPath(stateDir), '{"clear":"actuator:val')
    const second = boot()
    expect(second.timers.pending().map((action) => action.proposalId)).toEqual(['p-kept'])
  })

  it('takes over the pending ends of the first version’s actions.json, then removes it', async () => {
    await mkdir(join(stateDir, 'devices'), { recursive: true })
    const legacy = join(stateDir, 'devices', 'actions.json')
    const action = { capability: VALVE, operation: 'open', startedAt: clock, until: clock + 60_000 }
    await writeFile(legacy, JSON.stringify({ version: 1, actions: [action] }))
    const { timers } = boot()
    await timers.start()
    expect(timers.pending()).toEqual([action])
    expect(await pendingOnDisk()).toEqual([action])
    await expect(readFile(legacy)).rejects.toMatchObject({ code: 'ENOENT' })
    timers.stop()
  })

  it('rewrites a long journal with only the pending actions', async () => {
    const { timers } = boot()
    await timers.start()
    await timers.apply('actuator:valve:zone-1', 'open', { durationSec: 600 }, 'p-long')
    for (let round = 0; round < ACTIONS_JOURNAL_COMPACT_AFTER / 2 + 1; round++) {
      await timers.apply(VALVE, 'open', { durationSec: 60 })
      await timers.apply(VALVE, 'close', {})
    }
    const lines = (await readFile(actionsJournalPath(stateDir), 'utf8')).split('\n').length
    expect(lines).toBeLessThan(ACTIONS_JOURNAL_COMPACT_AFTER)
    expect((await pendingOnDisk()).map((action) => (action as { proposalId?: string }).proposalId)).toEqual([
      'p-long',
    ])
    timers.stop()
  })
})

describe('FailSafeWatchdog', () => {
  it('sends an actuator that declares failSafeAfterSec to its safe state once, after that much silence', async () => {
    const actuators = site.actuators.map((actuator) =>
      actuator.capability === VALVE ? { ...actuator, failSafeAfterSec: 30 } : actuator,
    )
    const drivers = new MockActuators(actuators, clock)
    const safe: string[] = []
    let heard = true
    const watchdog = new FailSafeWatchdog({
      drivers,
      commandCenterHeard: () => heard,
      driveSafe: async (capability, trigger) => {
        safe.push(`${capability} ${trigger}`)
      },
      now: () => clock,
    })
    watchdog.start()
    await watchdog.check()
    heard = false
    clock += 29_999
    await watchdog.check()
    expect(safe).toEqual([])
    clock += 1
    await watchdog.check()
    await watchdog.check()
    expect(safe).toEqual([`${VALVE} fail-safe`])
    heard = true
    await watchdog.check()
    heard = false
    clock += 30_000
    await watchdog.check()
    expect(safe).toEqual([`${VALVE} fail-safe`, `${VALVE} fail-safe`])
    watchdog.stop()
  })
})
