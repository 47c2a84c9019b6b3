import { describe, expect, it } from 'vitest'
import { ClawMeshError } from '../../protocol/errors.ts'
import { StateFileError } from '../state/atomic-file.ts'
import { CliUsageError } from './errors.ts'
import { describeSharedError } from './run-cli.ts'

// The shared error classes are imported only once something failed; the classes a command throws
// must still be the ones recognised (the same modules, not copies).
describe('describeSharedError', () => {
  it('names a mesh error by its code, a usage error with exit 2, a state file error by its message', async () => {
    expect(await describeSharedError(new ClawMeshError('NOT_FOUND', 'no proposal p-1'))).toEqual({
      line: 'error: NOT_FOUND: no proposal p-1',
      exitCode: 1,
    })
    expect(await describeSharedError(new CliUsageError('--url needs ws:// or wss://'))).toEqual({
      line: 'error: --url needs ws:// or wss://',
      exitCode: 2,
    })
    expect(await describeSharedError(new StateFileError('/s/x.json', 'x.json is not valid JSON'))).toEqual({
      line: 'error: x.json is not valid JSON',
      exitCode: 1,
    })
    expect(await describeSharedError(new Error('boom'))).toEqual({ line: 'error: boom', exitCode: 1 })
  })
})
