import { describe, expect, it } from 'vitest'
import { ClawMeshError, ERROR_CODES, normaliseError } from './errors.ts'

describe('error normaliser', () => {
  it('keeps ClawMeshErrors and maps everything else to INTERNAL without leaking the message', () => {
    const known = new ClawMeshError('NOT_FOUND', 'no such proposal')
    expect(normaliseError(known)).toBe(known)
    const leaked = normaliseError(new Error('ENOENT /home/secret/path'))
    expect(leaked.code).toBe('INTERNAL')
    expect(leaked.toWire().message).not.toContain('secret')
    expect(leaked.cause).toBeInstanceOf(Error)
    expect(normaliseError('a string').code).toBe('INTERNAL')
  })

  it('maps aborts and timeouts to TIMEOUT', () => {
    expect(normaliseError(AbortSignal.abort().reason).code).toBe('TIMEOUT')
    expect(normaliseError(Object.assign(new Error('x'), { name: 'TimeoutError' })).code).toBe('TIMEOUT')
  })

  it('round-trips through the wire form', () => {
    for (const code of Object.keys(ERROR_CODES) as Array<keyof typeof ERROR_CODES>) {
      const error = ClawMeshError.fromWire(new ClawMeshError(code, 'm', { data: { a: 1 } }).toWire())
      expect(error).toMatchObject({ code, message: 'm', data: { a: 1 } })
    }
  })
})
