import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { CanonicalEncodingError, canonicalHash, canonicalJson } from './canonical.ts'

const jsonValue = fc.jsonValue({ maxDepth: 6 })

function shuffleKeys(value: unknown, seed: number): unknown {
  if (Array.isArray(value)) return value.map((item) => shuffleKeys(item, seed))
  if (value === null || typeof value !== 'object') return value
  const entries = Object.entries(value as Record<string, unknown>)
  let state = seed
  entries.sort(() => {
    state = (state * 16807) % 2147483647
    return state % 2 === 0 ? 1 : -1
  })
  return Object.fromEntries(entries.map(([key, member]) => [key, shuffleKeys(member, seed)]))
}

describe('canonicalJson', () => {
  it('is independent of key order', () => {
    fc.assert(
      fc.property(jsonValue, fc.integer({ min: 1, max: 2 ** 30 }), (value, seed) => {
        expect(canonicalJson(shuffleKeys(value, seed))).toBe(canonicalJson(value))
      }),
    )
  })

  it('round-trips through JSON.parse to an equal value', () => {
    fc.assert(
      fc.property(jsonValue, (value) => {
        expect(JSON.parse(canonicalJson(value))).toEqual(JSON.parse(JSON.stringify(value)))
      }),
    )
  })

  it('is stable: encoding the decoded encoding gives the same bytes', () => {
    fc.assert(
      fc.property(jsonValue, (value) => {
        expect(canonicalJson(JSON.parse(canonicalJson(value)))).toBe(canonicalJson(value))
      }),
    )
  })

  it('sorts keys and drops undefined members', () => {
    expect(canonicalJson({ b: 1, a: [true, null], c: undefined })).toBe('{"a":[true,null],"b":1}')
  })

  it('refuses values JSON cannot carry faithfully', () => {
    for (const bad of [Number.NaN, Number.POSITIVE_INFINITY, 10n, () => 1, new Date(0), new Map()]) {
      expect(() => canonicalJson({ bad })).toThrow(CanonicalEncodingError)
    }
    const cyclic: Record<string, unknown> = {}
    cyclic['self'] = cyclic
    expect(() => canonicalJson(cyclic)).toThrow(CanonicalEncodingError)
  })

  it('hashes equal values equally and different values differently', () => {
    expect(canonicalHash({ a: 1, b: 2 })).toBe(canonicalHash({ b: 2, a: 1 }))
    expect(canonicalHash({ a: 1 })).not.toBe(canonicalHash({ a: 2 }))
    expect(canonicalHash('')).toBe('12ae32cb1ec02d01eda3581b127c1fee3b0dc53572ed6baf239721a03d82e126')
  })
})
