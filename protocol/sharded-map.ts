/**
 * A string-keyed map split over several smaller Maps, for sets of tens of thousands of keys on a
 * message path (a world model's frame IDs, gossip's seen message IDs).
 *
 * V8 grows a Map by rehashing all of it inside the one insert that fills it, and rehashes it again
 * once deleted entries fill it (a cache that adds and expires keys): at 16,384 keys that one call
 * takes ~5 ms, at 65,536 ~15 ms (docs/benchmarks-fanout.md, "Stalls every node takes at the same
 * frame"). Every node of a site ingests the same frames, so every node stalls at the same
 * frame, and a frame crossing several hops waits for each. With the keys spread over
 * `SHARDED_MAP_SHARDS` Maps, each rehash moves a sixteenth of the keys, and the shards fill at
 * different moments.
 */

/** Shards per map: a power of two, so a key's shard is a mask of its hash. 16 shards turn a 15 ms
 * rehash of 65,536 keys into one of ~1 ms; more would add Maps without shortening much further. */
export const SHARDED_MAP_SHARDS = 16

const SHARD_MASK = SHARDED_MAP_SHARDS - 1

/** FNV-1a over the first two and last two UTF-16 code units: cheap, and it spreads keys that
 * differ anywhere at their ends (hex digests, base64 IDs) evenly. A key crafted to land in one
 * shard only makes that shard as large as an unsharded Map would have been. */
function shardOf(key: string): number {
  const last = key.length - 1
  let hash = 0x811c9dc5
  hash = Math.imul(hash ^ key.charCodeAt(0), 0x01000193)
  hash = Math.imul(hash ^ key.charCodeAt(1), 0x01000193)
  hash = Math.imul(hash ^ key.charCodeAt(last - 1), 0x01000193)
  hash = Math.imul(hash ^ key.charCodeAt(last), 0x01000193)
  return (hash ^ (hash >>> 16)) & SHARD_MASK
}

export class ShardedMap<V> {
  readonly #shards: Map<string, V>[] = Array.from({ length: SHARDED_MAP_SHARDS }, () => new Map())
  #size = 0

  get size(): number {
    return this.#size
  }

  get(key: string): V | undefined {
    return this.#shard(key).get(key)
  }

  has(key: string): boolean {
    return this.#shard(key).has(key)
  }

  set(key: string, value: V): this {
    const shard = this.#shard(key)
    const before = shard.size
    shard.set(key, value)
    this.#size += shard.size - before
    return this
  }

  delete(key: string): boolean {
    const deleted = this.#shard(key).delete(key)
    if (deleted) this.#size--
    return deleted
  }

  clear(): void {
    for (const shard of this.#shards) shard.clear()
    this.#size = 0
  }

  #shard(key: string): Map<string, V> {
    return this.#shards[shardOf(key)] as Map<string, V>
  }
}
