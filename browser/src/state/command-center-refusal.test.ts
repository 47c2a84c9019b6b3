import { describe, expect, it } from 'vitest'
import { ClawMeshError } from '../../../protocol/errors.ts'
import { refusalOf } from './command-center-refusal.ts'

describe('the refusal banner', () => {
  it('shows when the command center refuses this console', () => {
    expect(refusalOf(new ClawMeshError('UNAUTHORIZED', 'operator certificate expired'))).toBe(
      'the command center refused this console: operator certificate expired',
    )
    expect(refusalOf(new ClawMeshError('FORBIDDEN', 'viewer'))).toBeDefined()
  })

  it('does not show for failures that are not a refusal (a timeout, a bad request, a closed stream)', () => {
    expect(refusalOf(new ClawMeshError('TIMEOUT', 'slow'))).toBeUndefined()
    expect(refusalOf(new ClawMeshError('BAD_REQUEST', 'schema'))).toBeUndefined()
    expect(refusalOf(new Error('stream reset'))).toBeUndefined()
  })
})
