/**
 * A bounded least-recently-used map: a hit moves the entry to the back, an insert past the limit
 * drops the entry used longest ago. Used for per-origin caches (parsed public keys), where a mesh
 * of tens of nodes fits many times over and a flood of new IDs must not grow memory.
 */
export class BoundedLru<K, V> {
  readonly #entries = new Map<K, V>()
  readonly #limit: number

  constructor(limit: number) {
    if (!Number.isInteger(limit) || limit < 1)
      throw new RangeError(`LRU limit must be a positive integer, got ${limit}`)
    this.#limit = limit
  }

  get size(): number {
    return this.#entries.size
  }

  get(key: K): V | undefined {
    const value = this.#entries.get(key)
    if (value === undefined) return undefined
    // Map keeps insertion order: re-inserting marks the entry as the most recently used.
    this.#entries.delete(key)
    this.#entries.set(key, value)
    return value
  }

  set(key: K, value: V): void {
    this.#entries.delete(key)
    this.#entries.set(key, value)
    if (this.#entries.size > this.#limit) {
      const oldest = this.#entries.keys().next()
      if (oldest.done !== true) this.#entries.delete(oldest.value)
    }
  }
}
