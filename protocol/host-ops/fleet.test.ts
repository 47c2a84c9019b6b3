import { describe, expect, it } from 'vitest'
import { type FleetRow, MonitorGate, UNREACHABLE_FINDING_ID, unreachableRow } from './fleet.ts'

const row = (node: string, failing: string[]): FleetRow => ({
  node,
  capability: `host:${node}`,
  status: failing.length > 0 ? 'fail' : 'ok',
  counts: { fail: failing.length, warn: 0, unavailable: 0, ok: 3 },
  failing: failing.map((id) => ({ id, summary: `${id} is failing` })),
  worst: failing.length > 0 ? 'the worst finding' : '',
  durationMs: 5,
})

describe('MonitorGate: one alert per crossing, with hysteresis', () => {
  it('alerts once when a finding turns fail and stays quiet while it stays failing', () => {
    const gate = new MonitorGate({ clearRuns: 2 })
    expect(gate.observe([row('a', [])])).toEqual([])
    expect(gate.observe([row('a', ['disk'])])).toEqual([
      { kind: 'failed', node: 'a', finding: 'disk', summary: 'disk is failing' },
    ])
    expect(gate.observe([row('a', ['disk'])])).toEqual([])
    expect(gate.observe([row('a', ['disk'])])).toEqual([])
  })
  it('re-arms only after the finding stayed clear for clearRuns runs in a row', () => {
    const gate = new MonitorGate({ clearRuns: 2 })
    gate.observe([row('a', ['disk'])])
    // Flapping: one clear run, then failing again — no second alert.
    expect(gate.observe([row('a', [])])).toEqual([])
    expect(gate.observe([row('a', ['disk'])])).toEqual([])
    expect(gate.observe([row('a', [])])).toEqual([])
    expect(gate.observe([row('a', [])])).toEqual([{ kind: 'recovered', node: 'a', finding: 'disk' }])
    expect(gate.observe([row('a', ['disk'])])).toHaveLength(1)
  })
  it('keys per node and finding; an unreachable node recovers only its reachability', () => {
    const gate = new MonitorGate({ clearRuns: 1 })
    expect(gate.observe([row('a', ['disk']), row('b', ['disk'])])).toHaveLength(2)
    const down = unreachableRow('host:a', 'UNAVAILABLE: no answer', 9000)
    expect(gate.observe([down])).toEqual([
      { kind: 'failed', node: 'a', finding: UNREACHABLE_FINDING_ID, summary: 'UNAVAILABLE: no answer' },
    ])
    expect(gate.observe([row('a', ['disk'])])).toEqual([
      { kind: 'recovered', node: 'a', finding: UNREACHABLE_FINDING_ID },
    ])
  })
})
