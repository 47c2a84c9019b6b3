import { describe, expect, it } from 'vitest'
import type { MeshEvent, ProposalRecordWire } from '../../../protocol/rpc/methods.ts'
import type { ConsoleDb, RecordKey } from '../storage/console-db.ts'
import { createConsoleStorage } from '../storage/console-storage.ts'
import { loadAlertAcks } from './alert-acks.ts'
import { deriveAlerts, isRefusalEvent, thresholdAlerts, unacknowledged } from './alerts.ts'
import type { ObservationPoint } from './mesh-state.ts'
import { refusalSummary } from './proposal-refusal.ts'
import { safeStateTargets } from './safe-state.ts'

function reading(source: string, at: number, value: number, alarm?: boolean): ObservationPoint {
  return {
    frameId: `${source}@${at}`,
    origin: 'field',
    originName: 'field-1',
    source,
    zone: 'zone-2',
    metric: 'soil-moisture',
    value,
    unit: '%',
    tier: 'T2',
    at,
    ...(alarm === undefined ? {} : { alarm }),
    threshold: { low: 20, high: 80 },
  }
}

function event(seq: number, at: number, type: string, message = type): MeshEvent {
  return { seq, at, level: 'warn', type, message }
}

const HASH = 'a'.repeat(64)

function refusedProposal(code: string, updatedAt: number): ProposalRecordWire {
  return {
    hash: HASH,
    proposal: {
      version: 1,
      id: 'p-1',
      capability: 'actuator:valve:zone-3',
      targetNode: 'field',
      operation: 'open',
      args: { durationSec: 60 },
      level: 'L2',
      evidence: [],
      author: { kind: 'planner', id: 'cc' },
      createdAt: 1,
      expiresAt: 10_000,
    },
    state: 'failed',
    approvals: [],
    mergedCount: 0,
    reason: `actuator refused (${code}): level-pond reads 12 cm`,
    refusal: { code, hop: 'actuator', detail: 'level-pond reads 12 cm' },
    receivedAt: 1,
    updatedAt,
  } as ProposalRecordWire
}

describe('threshold alerts', () => {
  it('one alert per crossing: in band → alarm; staying in alarm does not raise another', () => {
    const alerts = thresholdAlerts([
      reading('soil-zone-2', 1, 30, false),
      reading('soil-zone-2', 2, 15, true),
      reading('soil-zone-2', 3, 14, true),
      reading('soil-zone-2', 4, 25, false),
      reading('soil-zone-2', 5, 90, true),
    ])
    expect(alerts.map((alert) => alert.id)).toEqual(['threshold:soil-zone-2@2', 'threshold:soil-zone-2@5'])
    expect(alerts[0]?.title).toBe('zone-2 soil-moisture below its low threshold 20 %')
    expect(alerts[1]?.title).toBe('zone-2 soil-moisture above its high threshold 80 %')
  })

  it('a sensor already in alarm at the oldest reading held is one stable alert as the window moves on', () => {
    const window1 = thresholdAlerts([
      reading('soil-zone-2', 1, 15, true),
      reading('soil-zone-2', 2, 14, true),
    ])
    const window2 = thresholdAlerts([
      reading('soil-zone-2', 2, 14, true),
      reading('soil-zone-2', 3, 13, true),
    ])
    expect(window1.map((alert) => alert.id)).toEqual(['threshold:soil-zone-2:ongoing'])
    expect(window2.map((alert) => alert.id)).toEqual(['threshold:soil-zone-2:ongoing'])
  })

  it('a reading without an alarm flag never alerts', () => {
    expect(thresholdAlerts([reading('soil-zone-2', 1, 5), reading('soil-zone-2', 2, 5)])).toEqual([])
  })
})

describe('refusal alerts', () => {
  it('counted refusals from the event ring alert; other events do not', () => {
    expect(isRefusalEvent({ type: 'safety.refused.guard-failed' })).toBe(true)
    expect(isRefusalEvent({ type: 'peer.refused.untrusted' })).toBe(true)
    expect(isRefusalEvent({ type: 'rpc.refused.FORBIDDEN' })).toBe(true)
    expect(isRefusalEvent({ type: 'planner.proposal' })).toBe(false)
    expect(isRefusalEvent({ type: 'peer.refusedish' })).toBe(false)
  })

  it('all alerts newest first, with stable IDs: event time and sequence, proposal hash', () => {
    const alerts = deriveAlerts({
      observations: [reading('soil-zone-2', 10, 30, false), reading('soil-zone-2', 20, 10, true)],
      events: [
        event(7, 30, 'safety.refused.self-approval', 'forwarder refused proposal p-2'),
        event(8, 35, 'peer.hello'),
      ],
      proposals: [refusedProposal('guard-failed', 40)],
    })
    expect(alerts.map((alert) => [alert.id, alert.kind, alert.code])).toEqual([
      [`proposal:${HASH}`, 'refusal', 'guard-failed'],
      ['event:30:7', 'refusal', 'self-approval'],
      ['threshold:soil-zone-2@20', 'threshold', undefined],
    ])
    expect(alerts[0]?.title).toBe('open actuator:valve:zone-3 refused by the actuator (guard-failed)')
    expect(alerts[0]?.detail).toContain('level-pond reads 12 cm')
  })

  it("an operator's own rejection is shown on its card but is not an alert", () => {
    const rejected = refusedProposal('rejected-by-operator', 5)
    expect(deriveAlerts({ observations: [], events: [], proposals: [rejected] })).toEqual([])
    expect(refusalSummary(rejected)?.code).toBe('rejected-by-operator')
  })
})

describe('acknowledgements', () => {
  it('hide an alert for this operator only, and stay after a reload', async () => {
    const alerts = deriveAlerts({
      observations: [],
      events: [event(1, 10, 'safety.refused.stale-evidence'), event(2, 20, 'safety.refused.guard-failed')],
      proposals: [],
    })
    // One IndexedDB (here in memory) as a browser profile keeps it; each load is a fresh page.
    const records = new Map<RecordKey, unknown>()
    const db: ConsoleDb = {
      get: async (key) => records.get(key),
      put: async (key, value) => {
        records.set(key, structuredClone(value))
      },
      delete: async (key) => {
        records.delete(key)
      },
    }
    const load = async (operatorId: string) => loadAlertAcks(await createConsoleStorage(db), operatorId)
    const alice = await load('alice')
    await alice.acknowledge(['event:10:1'])
    expect(unacknowledged(alerts, alice.acknowledged()).map((alert) => alert.id)).toEqual(['event:20:2'])
    const aliceAgain = await load('alice')
    expect(unacknowledged(alerts, aliceAgain.acknowledged()).map((alert) => alert.id)).toEqual(['event:20:2'])
    const bob = await load('bob')
    expect(unacknowledged(alerts, bob.acknowledged())).toHaveLength(2)
  })
})

describe('the card’s refusal and the Twin’s safe state', () => {
  it('the card explains a policy code with the policy’s own sentence and keeps the hop’s detail', () => {
    expect(refusalSummary(refusedProposal('stale-evidence', 1))).toEqual({
      code: 'stale-evidence',
      hop: 'actuator',
      meaning:
        'At execution the evidence is older than the manifest allows; propose again on fresh readings.',
      detail: 'level-pond reads 12 cm',
    })
    expect(refusalSummary({})).toBeUndefined()
  })

  it('an actuator gets a "close now" only when the site names its safe-state operation', () => {
    const targets = safeStateTargets({
      id: 'farm',
      name: 'Farm',
      zones: [
        {
          id: 'zone-2',
          name: 'Beds',
          sensors: [],
          actuators: [
            {
              id: 'valve-zone-2',
              kind: 'valve',
              capability: 'actuator:valve:zone-2',
              safeStateOperation: 'close',
            },
            { id: 'valve-old', kind: 'valve' },
          ],
        },
      ],
    })
    expect([...targets]).toEqual([
      ['valve-zone-2', { capability: 'actuator:valve:zone-2', operation: 'close' }],
    ])
  })
})
