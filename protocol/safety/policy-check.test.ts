import { describe, expect, it } from 'vitest'
import { OPERATOR_ROLES } from './operator-certificate.ts'
import type { OperationManifest } from './policy.ts'
import { checkPolicy, POLICY_CHECK_ACTIONS, type PolicyCheckInput } from './policy-check.ts'

const NOW = 1_800_000_000_000
const TARGET = '12D3KooWKaQy6U36CUBoEC9Vz93GfJEXMM2vsoyLpbxQB5Z2KYyw'
const evidence = { zone: 'zone-1', metrics: ['soil_moisture'], maxAgeMs: 600_000 }
const VALVE: OperationManifest[] = [
  { operation: 'open', minimumLevel: 'L2', evidence },
  {
    operation: 'open-short',
    minimumLevel: 'L1',
    bounds: [{ arg: 'durationSec', min: 1, max: 60 }],
    evidence,
  },
  { operation: 'start', minimumLevel: 'L3', evidence },
]

const ask = (
  subject: PolicyCheckInput['subject'],
  action: PolicyCheckInput['action'],
  operation: string,
  capability = 'actuator:valve:zone-1',
  manifest: readonly OperationManifest[] = VALVE,
) =>
  checkPolicy({
    subject,
    action,
    capability,
    operation,
    manifest,
    commandCenter: true,
    targetNode: TARGET,
    now: NOW,
  })

const viewer = { kind: 'operator', roles: ['viewer'] } as const
const operator = { kind: 'operator', roles: ['operator'] } as const
const planner = { kind: 'planner' } as const

describe('policy-check answers with the rules the hops run', () => {
  it('a viewer may read but neither propose nor approve', () => {
    expect(ask(viewer, 'read_state', 'state')).toMatchObject({ decision: 'allow', level: 'L0' })
    expect(ask(viewer, 'propose', 'open')).toMatchObject({ decision: 'deny', rule: 'rpc:proposal.create' })
    expect(ask(viewer, 'approve', 'open')).toMatchObject({
      decision: 'deny',
      rule: 'policy:viewer-cannot-approve',
    })
    expect(ask(viewer, 'execute', 'open-short')).toMatchObject({
      decision: 'deny',
      rule: 'rpc:proposal.create',
    })
  })
  it('an operator proposes; L2 needs one approval, L3 two, L1 runs within bounds', () => {
    expect(ask(operator, 'propose', 'open')).toMatchObject({ decision: 'allow', level: 'L2' })
    expect(ask(operator, 'execute', 'open')).toMatchObject({
      decision: 'needs-approval',
      level: 'L2',
      approvers: 1,
    })
    expect(ask(operator, 'execute', 'start')).toMatchObject({
      decision: 'needs-approval',
      level: 'L3',
      approvers: 2,
    })
    expect(ask(operator, 'execute', 'open-short')).toMatchObject({ decision: 'allow', level: 'L1' })
    expect(ask(operator, 'approve', 'open')).toMatchObject({ decision: 'allow', level: 'L2' })
    expect(ask(operator, 'approve', 'start')).toMatchObject({ decision: 'allow', level: 'L3', approvers: 1 })
  })
  it('the planner proposes but its approval is refused and it may not auto-run an undeclared L1', () => {
    expect(ask(planner, 'propose', 'open')).toMatchObject({ decision: 'allow', rule: 'planner-tools' })
    expect(ask(planner, 'approve', 'open')).toMatchObject({
      decision: 'deny',
      rule: 'policy:malformed-approval',
    })
    expect(ask(planner, 'execute', 'open')).toMatchObject({ decision: 'needs-approval', level: 'L2' })
    expect(ask(planner, 'execute', 'open-short')).toMatchObject({
      decision: 'deny',
      rule: 'policy:l1-author-not-permitted',
    })
    const autoRun = VALVE.map((entry) =>
      entry.operation === 'open-short' ? { ...entry, plannerMayAutoRun: true } : entry,
    )
    expect(ask(planner, 'execute', 'open-short', 'actuator:valve:zone-1', autoRun)).toMatchObject({
      decision: 'allow',
    })
  })
  it('host workflows: a viewer reads doctor, not security-check; the planner reads neither', () => {
    const host: OperationManifest[] = [
      { operation: 'doctor', minimumLevel: 'L0' },
      { operation: 'security-check', minimumLevel: 'L0' },
    ]
    expect(ask(viewer, 'read_state', 'doctor', 'host:field-1', host)).toMatchObject({ decision: 'allow' })
    expect(ask(viewer, 'read_state', 'security-check', 'host:field-1', host)).toMatchObject({
      decision: 'deny',
      rule: 'host-access',
    })
    expect(ask(operator, 'execute', 'security-check', 'host:field-1', host)).toMatchObject({
      decision: 'allow',
    })
    expect(ask(planner, 'read_state', 'doctor', 'host:field-1', host)).toMatchObject({
      decision: 'deny',
      rule: 'planner-tools',
    })
  })
  it('an operation the manifest does not declare is unknown; a state-changing one is no read', () => {
    expect(ask(operator, 'execute', 'explode')).toMatchObject({
      decision: 'deny',
      rule: 'policy:unknown-operation',
    })
    expect(ask(operator, 'read_state', 'open')).toMatchObject({ decision: 'deny', level: 'L2' })
  })
  it('answers every role defined in protocol and every action', () => {
    for (const role of OPERATOR_ROLES) {
      for (const action of POLICY_CHECK_ACTIONS) {
        const answer = ask({ kind: 'operator', roles: [role] }, action, 'open')
        expect(['allow', 'needs-approval', 'deny']).toContain(answer.decision)
        expect(answer.rule).not.toBe('')
      }
    }
  })
})
