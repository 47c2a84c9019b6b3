import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { CanonicalEncodingError, canonicalHash, canonicalJson } from './canonical.ts'
import { CANONICAL_MAX_DEPTH } from './limits.ts'

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

  // Values whose keys are already in canonical order are encoded by JSON.stringify; these are the
  // places where JSON.stringify and the encoder could disagree, each in already-sorted form.
  it('encodes already-sorted values exactly as the encoder does, including where JSON.stringify differs', () => {
    expect(canonicalJson({ a: [1, undefined, 'x'], b: undefined, c: -0 })).toBe('{"a":[1,null,"x"],"c":0}')
    expect(canonicalJson({ a: Object.assign([1], { toJSON: () => 'replaced' }) })).toBe('{"a":[1]}')
    expect(canonicalJson({ '9': 1, '10': 2 })).toBe('{"10":2,"9":1}')
    expect(canonicalJson({ a: 'line\nbreak "quoted" \ud800' })).toBe(
      JSON.stringify({ a: 'line\nbreak "quoted" \ud800' }),
    )
    const prototypes = [Object.prototype, Array.prototype] as Array<{ toJSON?: unknown }>
    for (const prototype of prototypes) {
      prototype.toJSON = () => 'polluted'
      try {
        expect(canonicalJson({ a: [1], b: { c: true } })).toBe('{"a":[1],"b":{"c":true}}')
      } finally {
        delete prototype.toJSON
      }
    }
  })

  it('refuses the same values when they are already sorted', () => {
    for (const bad of [Number.NaN, 10n, () => 1, new Date(0), Symbol('s')]) {
      expect(() => canonicalJson({ a: 1, bad })).toThrow(CanonicalEncodingError)
      expect(() => canonicalJson([1, bad])).toThrow(CanonicalEncodingError)
    }
    const cyclic: Record<string, unknown> = { a: 1 }
    cyclic['b'] = cyclic
    expect(() => canonicalJson(cyclic)).toThrow(CanonicalEncodingError)
    let deep: unknown = 1
    for (let level = 0; level <= CANONICAL_MAX_DEPTH + 1; level++) deep = { a: deep }
    expect(() => canonicalJson(deep)).toThrow(CanonicalEncodingError)
    expect(() => canonicalJson(undefined)).toThrow(CanonicalEncodingError)
  })
})
