import { describe, expect, it } from 'vitest'
import { decideMethodAccess } from './caller-access.ts'

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
