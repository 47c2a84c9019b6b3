import { describe, expect, it } from 'vitest'
import { BoundedLru } from './lru.ts'

describe('BoundedLru', () => {
  it('never holds more than its limit and drops the least recently used first', () => {
    const lru = new BoundedLru<string, number>(2)
    lru.set('a', 1)
    lru.set('b', 2)
    expect(lru.get('a')).toBe(1) // a is now the most recently used
    lru.set('c', 3)
    expect(lru.size).toBe(2)
    expect(lru.get('b')).toBeUndefined()
    expect(lru.get('a')).toBe(1)
    expect(lru.get('c')).toBe(3)
    lru.set('c', 4) // an update does not grow the map
    expect(lru.size).toBe(2)
    expect(lru.get('c')).toBe(4)
  })

  it('refuses a limit that is not a positive integer', () => {
    expect(() => new BoundedLru(0)).toThrow(RangeError)
    expect(() => new BoundedLru(1.5)).toThrow(RangeError)
  })
})
