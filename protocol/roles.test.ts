import { describe, expect, it } from 'vitest'
import { COMMAND_CENTER_ROLES, isCommandCenterRole, NODE_ROLES } from './roles.ts'

describe('command center roles', () => {
  it('are planner then standby-planner, best first (the election rank)', () => {
    expect(COMMAND_CENTER_ROLES).toEqual(['planner', 'standby-planner'])
  })

  it.each(NODE_ROLES)('isCommandCenterRole(%s) holds only for planner roles', (role) => {
    expect(isCommandCenterRole(role)).toBe(role === 'planner' || role === 'standby-planner')
  })

  it('an unknown role is not a command center', () => {
    expect(isCommandCenterRole(undefined)).toBe(false)
  })
})
