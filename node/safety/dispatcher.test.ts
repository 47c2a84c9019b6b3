/** The dispatcher with a fake clock, a fake scheduler and a fake RPC send, over a real proposal
 * store in a temp dir: backoff, holding until leading, giving up at expiry, resuming. */
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest'
import { ClawMeshError } from '../../protocol/errors.ts'
import type { CertifiedCommand, Proposal } from '../../protocol/safety/index.ts'
import type { Signer } from '../../protocol/signing.ts'
import { makeProposal, NOW, newSigner } from '../../test/helpers/safety-fixtures.ts'
import { EventRing } from '../mesh/event-ring.ts'
import type { ExecuteResult } from './actuator-gate.ts'
import {
  DISPATCH_OUTCOME_GRACE_MS,
  DISPATCH_RETRY_INITIAL_MS,
  DISPATCH_RETRY_MAX_MS,
  Dispatcher,
  type DispatcherInit,
  type DispatchScheduler,
} from './dispatcher.ts'
import { ProposalStore } from './proposal-store.ts'
import { type RefusalRecords, refuseProposal } from './refusal.ts'

/** Timers that fire only when the test says so, moving the fake clock to their due time. */
class FakeScheduler implements DispatchScheduler {
  now = NOW
  readonly pending = new Map<number, { due: number; delayMs: number; callback: () => void }>()
  readonly delays: number[] = []
  #nextId = 1

  setTimer(callback: () => void, delayMs: number): unknown {
    const id = this.#nextId++
    this.pending.set(id, { due: this.now + delayMs, delayMs, callback })
    this.delays.push(delayMs)
    return id
  }

  clearTimer(handle: unknown): void {
    this.pending.delete(handle as number)
  }

  /** Fires the one pending timer (advancing the clock to it). */
  fire(): void {
    const [entry] = [...this.pending.entries()]
    if (entry === undefined) throw new Error('no timer pending')
    const [id, timer] = entry
    this.pending.delete(id)
    this.now = timer.due
    timer.callback()
  }
}

const unreachable = () => new ClawMeshError('UNAVAILABLE', 'actuator offline')

let commandCenter: Signer
let actuatorId: string
beforeAll(async () => {
  commandCenter = await newSigner()
  actuatorId = (await newSigner()).id
})

let stateDir: string
beforeEach(async () => {
  stateDir = await mkdtemp(join(tmpdir(), 'clawmesh-dispatch-'))
})
afterEach(async () => {
  await rm(stateDir, { recursive: true, force: true })
})

function completed(command: CertifiedCommand): ExecuteResult {
  return { proposalHash: command.body.commandHash, status: 'completed', result: { open: true } }
}

/** A store holding one proposal in `state` (approved, or executing as after a crash). */
async function setup(
  options: {
    state?: 'approved' | 'executing'
    proposal?: Partial<Proposal>
    send?: DispatcherInit['send']
    leadership?: DispatcherInit['leadership']
    cancelUnsent?: DispatcherInit['cancelUnsent']
  } = {},
) {
  const scheduler = new FakeScheduler()
  const proposals = await ProposalStore.open({ stateDir, now: () => scheduler.now })
  const created = await proposals.create(
    makeProposal({ targetNode: actuatorId, authorId: commandCenter.id, ...options.proposal }),
  )
  if (created.outcome === 'reject') throw new Error(created.detail)
  const { hash } = created.record
  await proposals.move(hash, 'submit')
  const events = options.state === 'executing' ? (['approve', 'start'] as const) : (['approve'] as const)
  const decided = proposals.decide(hash, undefined, events)
  if (decided.outcome === 'reject') throw new Error(decided.detail)
  await decided.written
  const send = vi.fn<DispatcherInit['send']>(options.send ?? (async () => Promise.reject(unreachable())))
  const dispatcher = new Dispatcher({
    deviceId: commandCenter.id,
    signer: commandCenter,
    proposals,
    evidenceFrame: () => undefined,
    leadership: options.leadership,
    ...(options.cancelUnsent === undefined ? {} : { cancelUnsent: options.cancelUnsent }),
    send,
    now: () => scheduler.now,
    scheduler,
    log: () => {},
  })
  const stateOf = () => proposals.get(hash)?.state
  return { dispatcher, proposals, scheduler, send, hash, stateOf }
}

describe('Dispatcher', () => {
  it('sends an approved proposal once and records the outcome', async () => {
    const { dispatcher, send, hash, stateOf, scheduler } = await setup({
      send: async (_target, command) => completed(command),
    })
    const result = await dispatcher.dispatch(hash)
    expect(result?.status).toBe('completed')
    expect(send).toHaveBeenCalledTimes(1)
    expect(send.mock.calls[0]?.[0]).toBe(actuatorId)
    expect(send.mock.calls[0]?.[1].body.issuedBy).toBe(commandCenter.id)
    expect(stateOf()).toBe('completed')
    expect(scheduler.pending.size).toBe(0)
  })

  it('retries an unreachable actuator with backoff doubling up to the cap, keeping it executing', async () => {
    const { dispatcher, send, hash, stateOf, scheduler } = await setup()
    expect(await dispatcher.dispatch(hash)).toBeUndefined()
    for (let attempt = 1; attempt <= 5; attempt++) {
      scheduler.fire()
      await vi.waitFor(() => expect(scheduler.delays).toHaveLength(attempt + 1))
    }
    expect(scheduler.delays).toEqual([
      DISPATCH_RETRY_INITIAL_MS,
      DISPATCH_RETRY_INITIAL_MS * 2,
      DISPATCH_RETRY_INITIAL_MS * 4,
      DISPATCH_RETRY_INITIAL_MS * 8,
      DISPATCH_RETRY_MAX_MS,
      DISPATCH_RETRY_MAX_MS,
    ])
    expect(send).toHaveBeenCalledTimes(6)
    expect(stateOf()).toBe('executing')
  })

  it('gives up when the proposal expires while the actuator is unreachable: state failed, no more timers', async () => {
    const { dispatcher, send, hash, stateOf, scheduler } = await setup({
      proposal: { expiresAt: NOW + 10_000 },
    })
    await dispatcher.dispatch(hash)
    // Retries at +1 s, +3 s, +7 s are before expiry; the one at +15 s is past it.
    for (let fired = 0; fired < 4; fired++) {
      scheduler.fire()
      await vi.waitFor(() => expect(send).toHaveBeenCalledTimes(fired + 2))
    }
    await vi.waitFor(() => expect(stateOf()).toBe('failed'))
    expect(scheduler.now).toBe(NOW + 15_000)
    expect(scheduler.pending.size).toBe(0)
  })

  // Guard for test/faults/partition.test.ts (cut during the execution): the actuator answers a
  // re-sent command with ALREADY_EXECUTED while its first delivery still runs; that is an outcome on
  // its way, not a failure.
  it('asks again when the actuator answers that it is still running the command, and records the outcome it then reports', async () => {
    let running = true
    const { dispatcher, send, hash, stateOf, scheduler } = await setup({
      state: 'executing',
      send: async () => {
        throw new ClawMeshError('ALREADY_EXECUTED', 'executed before', {
          data: {
            code: 'replay',
            previous: running
              ? { state: 'executing', startedAt: NOW }
              : { state: 'finished', status: 'completed' },
          },
        })
      },
    })
    await dispatcher.dispatch(hash)
    expect(stateOf()).toBe('executing')
    expect(scheduler.pending.size).toBe(1)
    running = false
    scheduler.fire()
    await vi.waitFor(() => expect(stateOf()).toBe('completed'))
    expect(send).toHaveBeenCalledTimes(2)
    expect(scheduler.pending.size).toBe(0)
  })

  // Guard for the heal-after-expiry partition: a command whose answer was lost may have run.
  it('keeps asking past the expiry, within the grace, when a send timed out, and records the outcome the actuator then reports', async () => {
    const expiresAt = NOW + 10_000
    let healed = false
    const { dispatcher, send, hash, stateOf, scheduler } = await setup({
      proposal: { expiresAt },
      send: async () => {
        if (!healed) throw new ClawMeshError('TIMEOUT', 'no answer')
        throw new ClawMeshError('ALREADY_EXECUTED', 'executed before', {
          data: { code: 'replay', previous: { state: 'finished', status: 'completed' } },
        })
      },
    })
    await dispatcher.dispatch(hash)
    while (scheduler.now < expiresAt + 20_000) {
      scheduler.fire()
      await vi.waitFor(() => expect(scheduler.pending.size).toBe(1))
    }
    expect(stateOf()).toBe('executing')
    // Commands re-issued past the expiry carry their issue time: the actuator refuses to start them.
    const last = send.mock.calls.at(-1)?.[1]
    expect(last?.body.issuedAt).toBeGreaterThanOrEqual(expiresAt)
    healed = true
    scheduler.fire()
    await vi.waitFor(() => expect(stateOf()).toBe('completed'))
    expect(scheduler.pending.size).toBe(0)
  })

  it('reports the outcome as unknown once the grace after expiry is over', async () => {
    const expiresAt = NOW + 10_000
    const { dispatcher, hash, proposals, scheduler } = await setup({
      proposal: { expiresAt },
      send: async () => Promise.reject(new ClawMeshError('TIMEOUT', 'no answer')),
    })
    await dispatcher.dispatch(hash)
    while (scheduler.pending.size > 0) {
      scheduler.fire()
      await vi.waitFor(() =>
        expect(proposals.get(hash)?.state === 'failed' || scheduler.pending.size === 1).toBe(true),
      )
    }
    expect(scheduler.now).toBeGreaterThanOrEqual(expiresAt + DISPATCH_OUTCOME_GRACE_MS)
    expect(scheduler.now).toBeLessThan(expiresAt + DISPATCH_OUTCOME_GRACE_MS + DISPATCH_RETRY_MAX_MS)
    expect(proposals.get(hash)).toMatchObject({
      state: 'failed',
      reason: expect.stringMatching(/^outcome unknown/),
    })
  })

  it('holds while this planner does not lead and sends at leadershipGained, under its term', async () => {
    let issuing: { leading: true; term: number } | { leading: false } = { leading: false }
    const { dispatcher, send, hash, stateOf, scheduler } = await setup({
      send: async (_target, command) => completed(command),
      leadership: { issuing: () => issuing },
    })
    expect(await dispatcher.dispatch(hash)).toBeUndefined()
    expect(send).not.toHaveBeenCalled()
    expect(stateOf()).toBe('approved')
    expect(scheduler.pending.size).toBe(1)

    issuing = { leading: true, term: 7 }
    dispatcher.leadershipGained()
    await vi.waitFor(() => expect(stateOf()).toBe('completed'))
    expect(send).toHaveBeenCalledTimes(1)
    expect(send.mock.calls[0]?.[1].body.leaderTerm).toBe(7)
    // The held retry was cancelled, not left to fire a second send.
    expect(scheduler.pending.size).toBe(0)
  })

  it('resumes an executing proposal after a restart and takes the ledger outcome of one executed before', async () => {
    const { dispatcher, send, stateOf, scheduler, proposals, hash } = await setup({
      state: 'executing',
      send: async () => {
        throw new ClawMeshError('ALREADY_EXECUTED', 'executed before', {
          data: { code: 'replay', previous: { state: 'finished', status: 'completed' } },
        })
      },
    })
    await dispatcher.resume()
    await vi.waitFor(() => expect(stateOf()).toBe('completed'))
    expect(send).toHaveBeenCalledTimes(1)
    expect(scheduler.pending.size).toBe(0)
    // Regression (chaos loop): a completed proposal whose first answer was lost kept no outcome.
    expect(JSON.parse(proposals.get(hash)?.outcome ?? 'null')).toEqual({
      recordedByActuator: { state: 'finished', status: 'completed' },
    })
  })

  it('fails at once, without retrying, when the actuator refuses', async () => {
    const { dispatcher, hash, stateOf, scheduler } = await setup({
      send: async () => {
        throw new ClawMeshError('POLICY_DENIED', 'refused', { data: { code: 'unbound-target' } })
      },
    })
    await dispatcher.dispatch(hash)
    expect(stateOf()).toBe('failed')
    expect(scheduler.pending.size).toBe(0)
  })

  it('keeps the refusal the actuator named (code, hop, detail) on the failed record, across a reopen', async () => {
    const records: RefusalRecords = {
      counters: { increment: () => {} },
      events: new EventRing(8),
      evidence: { append: vi.fn<RefusalRecords['evidence']['append']>() },
    }
    const { dispatcher, hash, proposals } = await setup({
      send: async (_target, command) =>
        refuseProposal(
          records,
          'actuator',
          command.body.proposal,
          'guard-failed',
          'level-pond reads 12 cm, the guard wants > 40',
        ),
    })
    await dispatcher.dispatch(hash)
    const refusal = {
      code: 'guard-failed',
      hop: 'actuator',
      detail: 'level-pond reads 12 cm, the guard wants > 40',
    }
    expect(proposals.get(hash)).toMatchObject({ state: 'failed', refusal })
    const reopened = await ProposalStore.open({ stateDir })
    expect(reopened.get(hash)?.refusal).toEqual(refusal)
  })

  it('records no refusal when the device itself failed or the actuator stayed unreachable', async () => {
    const { dispatcher, hash, proposals } = await setup({
      send: async (_target, command) => ({
        proposalHash: command.body.commandHash,
        status: 'failed',
        result: { error: 'DEVICE', message: 'stuck' },
      }),
    })
    await dispatcher.dispatch(hash)
    expect(proposals.get(hash)).toMatchObject({ state: 'failed', reason: 'stuck' })
    expect(proposals.get(hash)?.refusal).toBeUndefined()
  })

  it('stops retrying once closed', async () => {
    const { dispatcher, send, hash, scheduler } = await setup()
    await dispatcher.dispatch(hash)
    expect(scheduler.pending.size).toBe(1)
    dispatcher.close()
    expect(scheduler.pending.size).toBe(0)
    expect(await dispatcher.dispatch(hash)).toBeUndefined()
    expect(send).toHaveBeenCalledTimes(1)
  })

  describe('a planner that loses the leadership', () => {
    /** What the runtime's cancelUnsent does with the store (the actuator side is estop-command's). */
    const cancelVia = (proposals: ProposalStore) =>
      vi.fn(async (hash: string, reason: string) => {
        const moved = await proposals.move(hash, 'cancel', { reason })
        return moved.outcome === 'accept'
      })

    it('cancels the approved proposal it holds, with the reason, and never sends it', async () => {
      let issuing: { leading: false } | { leading: true; term: number } = { leading: false }
      const { proposals, send, hash, stateOf } = await setup({ leadership: { issuing: () => issuing } })
      const cancelUnsent = cancelVia(proposals)
      const deposed = new Dispatcher({
        deviceId: commandCenter.id,
        signer: commandCenter,
        proposals,
        evidenceFrame: () => undefined,
        leadership: { issuing: () => issuing },
        send,
        cancelUnsent,
        now: () => NOW,
        scheduler: new FakeScheduler(),
        log: () => {},
      })
      issuing = { leading: true, term: 3 }
      deposed.leadershipGained()
      issuing = { leading: false }
      await deposed.leadershipLost('12D3KooWnewLeader')
      expect(stateOf()).toBe('cancelled')
      expect(proposals.get(hash)?.reason).toContain('lost the leadership to 12D3KooWnewLeader')
      expect(cancelUnsent).toHaveBeenCalledTimes(1)
      // An approval that reaches it afterwards is cancelled too, not held.
      expect(await deposed.dispatch(hash)).toBeUndefined()
      expect(send).not.toHaveBeenCalled()
    })

    it('cancels an approval arriving while deposed instead of holding it', async () => {
      const issuing = { leading: false as const }
      const scheduler = new FakeScheduler()
      const proposals = await ProposalStore.open({ stateDir, now: () => scheduler.now })
      const send = vi.fn<DispatcherInit['send']>(async () => Promise.reject(unreachable()))
      const cancelUnsent = cancelVia(proposals)
      const dispatcher = new Dispatcher({
        deviceId: commandCenter.id,
        signer: commandCenter,
        proposals,
        evidenceFrame: () => undefined,
        leadership: { issuing: () => issuing },
        send,
        cancelUnsent,
        now: () => scheduler.now,
        scheduler,
        log: () => {},
      })
      expect(await dispatcher.leadershipLost(undefined)).toEqual([])
      const created = await proposals.create(
        makeProposal({ targetNode: actuatorId, authorId: commandCenter.id }),
      )
      if (created.outcome === 'reject') throw new Error(created.detail)
      await proposals.move(created.record.hash, 'submit')
      const decided = proposals.decide(created.record.hash, undefined, ['approve'])
      if (decided.outcome === 'reject') throw new Error(decided.detail)
      await decided.written
      await dispatcher.dispatch(created.record.hash)
      expect(proposals.get(created.record.hash)?.state).toBe('cancelled')
      expect(send).not.toHaveBeenCalled()
      expect(scheduler.pending.size).toBe(0)
    })

    it('a planner that has not led since it started still holds (a restart is not a lost leadership)', async () => {
      const { proposals, send, hash, stateOf, scheduler } = await setup({
        leadership: { issuing: () => ({ leading: false }) },
      })
      const cancelUnsent = cancelVia(proposals)
      const restarted = new Dispatcher({
        deviceId: commandCenter.id,
        signer: commandCenter,
        proposals,
        evidenceFrame: () => undefined,
        leadership: { issuing: () => ({ leading: false }) },
        send,
        cancelUnsent,
        now: () => scheduler.now,
        scheduler,
        log: () => {},
      })
      await restarted.dispatch(hash)
      expect(stateOf()).toBe('approved')
      expect(cancelUnsent).not.toHaveBeenCalled()
      restarted.close()
    })
  })
})
