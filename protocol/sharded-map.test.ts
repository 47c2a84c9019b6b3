import { describe, expect, it } from 'vitest'
import { ShardedMap } from './sharded-map.ts'

describe('ShardedMap', () => {
  it('answers get, has, delete and size as a Map would', () => {
    const sharded = new ShardedMap<number>()
    const map = new Map<string, number>()
    const keys = [
      '',
      'a',
      'ab',
      ...Array.from({ length: 5_000 }, (_, index) => (index * 2_654_435_761).toString(16)),
    ]
    for (const [index, key] of keys.entries()) {
      sharded.set(key, index)
      map.set(key, index)
    }
    sharded.set('a', -1) // an update does not grow it
    map.set('a', -1)
    for (const key of keys.filter((_, index) => index % 3 === 0)) {
      expect(sharded.delete(key)).toBe(map.delete(key))
    }
    expect(sharded.delete('never set')).toBe(false)
    expect(sharded.size).toBe(map.size)
    for (const key of keys) {
      expect(sharded.has(key)).toBe(map.has(key))
      expect(sharded.get(key)).toBe(map.get(key))
    }
    sharded.clear()
    expect(sharded.size).toBe(0)
    expect(sharded.has('ab')).toBe(false)
  })
})
