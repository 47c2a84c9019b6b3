import { describe, expect, it } from 'vitest'
import type { EvidenceFact, EvidenceRequirement } from './evidence.ts'
import { checkAtExecution, type ExecutionCheckInput } from './execution-check.ts'

const NOW = 1_800_000_000_000
const REQUIREMENT: EvidenceRequirement = { zone: 'zone-3', metrics: ['soil-moisture'], maxAgeMs: 60_000 }
const soil = (timestamp: number): EvidenceFact => ({
  frameId: `f-${timestamp}`,
  tier: 'T1',
  kind: 'observation',
  zone: 'zone-3',
  metric: 'soil-moisture',
  timestamp,
  basis: 'measured by soil-zone-3',
})

function input(overrides: Partial<ExecutionCheckInput> = {}): ExecutionCheckInput {
  return {
    requirement: REQUIREMENT,
    guards: [],
    safeState: false,
    evidence: [soil(NOW - 10_000)],
    readings: () => undefined,
    now: NOW,
    ...overrides,
  }
}

describe('checkAtExecution', () => {
  it('accepts evidence exactly at its age limit and refuses it one millisecond later', () => {
    expect(checkAtExecution(input({ evidence: [soil(NOW - 60_000)] }))).toEqual({ outcome: 'accept' })
    expect(checkAtExecution(input({ evidence: [soil(NOW - 60_001)] }))).toMatchObject({
      outcome: 'reject',
      code: 'stale-evidence',
    })
  })

  it('counts only relevant evidence: a fresh reading of another zone does not refresh a stale one', () => {
    const elsewhere = { ...soil(NOW), zone: 'zone-1' }
    expect(checkAtExecution(input({ evidence: [soil(NOW - 120_000), elsewhere] }))).toMatchObject({
      code: 'stale-evidence',
    })
  })

  it('never re-checks a move to the safe state', () => {
    expect(checkAtExecution(input({ safeState: true, evidence: [] }))).toEqual({ outcome: 'accept' })
  })

  it('evaluates each guard on the reading, at its boundary', () => {
    const readings = () => ({ value: 40, timestamp: NOW - 1_000 })
    const guard = (op: '<' | '<=' | '>' | '>=') => [{ sensor: 'level-pond', op, value: 40 }]
    expect(checkAtExecution(input({ guards: guard('>='), readings }))).toEqual({ outcome: 'accept' })
    expect(checkAtExecution(input({ guards: guard('<='), readings }))).toEqual({ outcome: 'accept' })
    expect(checkAtExecution(input({ guards: guard('>'), readings }))).toMatchObject({ code: 'guard-failed' })
    expect(checkAtExecution(input({ guards: guard('<'), readings }))).toMatchObject({ code: 'guard-failed' })
  })

  it('fails a guard without a reading, or with one older than the evidence limit', () => {
    const guards = [{ sensor: 'level-pond', op: '>' as const, value: 10 }]
    expect(checkAtExecution(input({ guards }))).toMatchObject({ code: 'guard-failed' })
    const old = () => ({ value: 80, timestamp: NOW - 60_001 })
    expect(checkAtExecution(input({ guards, readings: old }))).toMatchObject({ code: 'guard-failed' })
  })
})
