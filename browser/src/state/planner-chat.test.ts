import { describe, expect, it } from 'vitest'
import { ClawMeshError } from '../../../protocol/errors.ts'
import type { PlannerAnswer } from '../mesh/planner-client.ts'
import { chatFailureEntry, plannerAnswerEntry } from './planner-chat.ts'

const answer = (fields: Partial<PlannerAnswer>): PlannerAnswer => ({
  answer: 'opening it',
  planner: 'pi',
  ruleBased: false,
  proposals: [],
  answeredBy: 'cc-id',
  ...fields,
})
const names = (deviceId: string) => (deviceId === 'cc-id' ? 'command-center' : deviceId)

describe('the planner chat', () => {
  it('says which planner answered, by name, and what it proposed', () => {
    expect(plannerAnswerEntry(answer({ proposals: [{}] }), names, 5)).toEqual({
      at: 5,
      from: 'planner',
      text: 'opening it',
      detail: 'pi, answered by command-center, 1 proposal(s)',
    })
  })

  it('marks a model planner that fell back to rules, and shows its error', () => {
    expect(plannerAnswerEntry(answer({ ruleBased: true, error: 'model timed out' }), names, 5).detail).toBe(
      'pi (rule-based), answered by command-center — model timed out',
    )
    expect(plannerAnswerEntry(answer({ planner: 'rule-based', ruleBased: true }), names, 5).detail).toBe(
      'rule-based, answered by command-center',
    )
  })

  it('never makes up an answer: a command center without a planner is a system line', () => {
    expect(chatFailureEntry(new ClawMeshError('UNKNOWN_METHOD', 'planner.ask'), 1)).toEqual({
      at: 1,
      from: 'system',
      text: 'planner not available on this command center',
    })
    expect(chatFailureEntry(new Error('stream reset'), 1).text).toBe('stream reset')
  })
})
