import { describe, expect, it } from 'vitest'
import { HOST_WORKFLOWS, type HostFindingsFrameData } from '../host-ops/findings.ts'
import { OPERATOR_ROLES } from '../safety/operator-certificate.ts'
import {
  broadcastForm,
  decideInvokeAccess,
  decideMethodAccess,
  HOST_WORKFLOW_ACCESS,
} from './caller-access.ts'

const cc = { commandCenter: true }

describe('RPC access from the receiver’s records', () => {
  it('a viewer reads and may hand in a decision, but cannot propose or act as a device', () => {
    const viewer = { kind: 'operator', roles: ['viewer'] } as const
    expect(decideMethodAccess(viewer, 'mesh.world.query', cc).verdict).toBe('allow')
    expect(decideMethodAccess(viewer, 'proposal.approve', cc).verdict).toBe('allow')
    expect(decideMethodAccess(viewer, 'proposal.create', cc).verdict).toBe('deny')
    expect(decideMethodAccess(viewer, 'planner.ask', cc).verdict).toBe('deny')
    expect(decideMethodAccess(viewer, 'actuator.execute', cc).verdict).toBe('deny')
  })

  it('an operator proposes but never gets device privileges', () => {
    const operator = { kind: 'operator', roles: ['operator'] } as const
    expect(decideMethodAccess(operator, 'proposal.create', cc).verdict).toBe('allow')
    expect(decideMethodAccess(operator, 'trust.addOperator', cc).verdict).toBe('deny')
    expect(decideMethodAccess(operator, 'mesh.message.forward', cc).verdict).toBe('deny')
  })

  it('an ai-operator reads and proposes; its decisions reach the policy (which refuses them); nothing more', () => {
    const ai = { kind: 'operator', roles: ['ai-operator'] } as const
    expect(decideMethodAccess(ai, 'mesh.world.query', cc).verdict).toBe('allow')
    expect(decideMethodAccess(ai, 'proposal.create', cc).verdict).toBe('allow')
    expect(decideMethodAccess(ai, 'proposal.approve', cc).verdict).toBe('allow')
    for (const method of ['actuator.execute', 'operator.issue', 'pair.open', 'trust.addOperator'] as const)
      expect(decideMethodAccess(ai, method, cc).verdict).toBe('deny')
    expect(decideMethodAccess(ai, 'proposal.create', { commandCenter: false }).verdict).toBe('deny')
  })

  it('an operator key with no certificate on record only reads', () => {
    const bare = { kind: 'operator', roles: [] } as const
    expect(decideMethodAccess(bare, 'mesh.status', cc).verdict).toBe('allow')
    expect(decideMethodAccess(bare, 'proposal.approve', cc).verdict).toBe('deny')
  })

  it('on a field node an operator console only reads its state and frames', () => {
    const admin = { kind: 'operator', roles: ['admin'] } as const
    expect(decideMethodAccess(admin, 'context.sync', { commandCenter: false }).verdict).toBe('allow')
    expect(decideMethodAccess(admin, 'proposal.create', { commandCenter: false }).verdict).toBe('deny')
  })

  it('devices and the local admin keep what the mesh needs', () => {
    expect(decideMethodAccess({ kind: 'device' }, 'actuator.execute', cc).verdict).toBe('allow')
    expect(decideMethodAccess({ kind: 'device' }, 'operator.issue', cc).verdict).toBe('deny')
    expect(decideMethodAccess({ kind: 'local-admin' }, 'operator.issue', cc).verdict).toBe('allow')
  })
})

describe('host workflow access classes', () => {
  const viewer = { kind: 'operator', roles: ['viewer'] } as const
  it('a viewer runs doctor and service-check but not security-check, analyze-logs or disk-investigate', () => {
    expect(decideInvokeAccess(viewer, 'host:field-1', 'doctor').verdict).toBe('allow')
    expect(decideInvokeAccess(viewer, 'host:field-1', 'service-check').verdict).toBe('allow')
    for (const workflow of ['security-check', 'analyze-logs', 'disk-investigate']) {
      const verdict = decideInvokeAccess(viewer, 'host:field-1', workflow)
      expect(verdict).toMatchObject({ verdict: 'deny' })
      expect(verdict.verdict === 'deny' && verdict.reason).toContain('host-sensitive')
    }
  })
  it('an operator, an admin, a device and the local admin run every workflow', () => {
    for (const caller of [
      { kind: 'operator', roles: ['operator'] },
      { kind: 'operator', roles: ['viewer', 'admin'] },
      { kind: 'device' },
      { kind: 'local-admin' },
    ] as const) {
      for (const workflow of HOST_WORKFLOWS)
        expect(decideInvokeAccess(caller, 'host:hub', workflow).verdict).toBe('allow')
    }
  })
  it('an unknown workflow is sensitive; a key with no certificate on record reads only host-read', () => {
    expect(decideInvokeAccess(viewer, 'host:hub', 'run').verdict).toBe('deny')
    const bare = { kind: 'operator', roles: [] } as const
    expect(decideInvokeAccess(bare, 'host:hub', 'doctor').verdict).toBe('allow')
    expect(decideInvokeAccess(bare, 'host:hub', 'security-check').verdict).toBe('deny')
  })
  it('the planner reads sensors and actuator state, never a host workflow', () => {
    const planner = { kind: 'planner' } as const
    expect(decideInvokeAccess(planner, 'sensor:soil-moisture:zone-1', 'read').verdict).toBe('allow')
    expect(decideInvokeAccess(planner, 'actuator:valve:zone-1', 'state').verdict).toBe('allow')
    expect(decideInvokeAccess(planner, 'host:hub', 'doctor').verdict).toBe('deny')
    expect(decideInvokeAccess(planner, 'sensor:soil-moisture:zone-1', 'calibrate').verdict).toBe('deny')
  })
  it('every host workflow has a class and every role a host-sensitive answer', () => {
    expect(Object.keys(HOST_WORKFLOW_ACCESS).sort()).toEqual([...HOST_WORKFLOWS].sort())
    for (const role of OPERATOR_ROLES) {
      expect(['allow', 'deny']).toContain(
        decideInvokeAccess({ kind: 'operator', roles: [role] }, 'host:hub', 'security-check').verdict,
      )
    }
  })
})

describe('host findings frames reach viewers too', () => {
  const data = (workflow: 'doctor' | 'security-check'): HostFindingsFrameData => ({
    node: 'field-1',
    workflow,
    startedAt: 1,
    omitted: 0,
    findings: [
      { check: 'ssh', id: 'ssh-root-login', risk: 'high', status: 'fail', summary: 'root may log in' },
    ],
  })
  it('a host-sensitive frame keeps status and risk but not the summary; host-read is unchanged', () => {
    expect(broadcastForm(data('security-check')).findings).toEqual([
      { check: 'ssh', id: 'ssh-root-login', risk: 'high', status: 'fail', summary: '' },
    ])
    expect(broadcastForm(data('doctor'))).toEqual(data('doctor'))
  })
})
