/**
 * A list of numbers appended at the end and trimmed from the front: the world model's indices of
 * history sequence numbers and its time index.
 *
 * Not a JS array, because of how V8 grows one: the push that fills it copies every element into a
 * new backing store, at ~0.2 ms per thousand elements, and the world model's index lists all fill
 * at the same ingest. At 50,000 frames that one ingest stalled for 12 ms, and since every node of a
 * site ingests the same frames, every node stalled at the same frame (docs/benchmarks-fanout.md,
 * "Stalls every node takes at the same frame"). Doubling a typed array instead only made the copy
 * cheaper (8 ms for the lists at 65,536 frames). So the list is a row of fixed-size typed-array
 * chunks: a push that fills one adds another, a shift that empties the first drops it, and nothing
 * is copied whole. Only a lone first chunk grows, by doubling up to the chunk size, so the many
 * short per-key lists stay small.
 */

/** Numbers per chunk (32 KiB): adding or dropping one is a small allocation; a 50,000-frame
 * history is 13 chunks per list. */
export const NUMBER_LIST_CHUNK = 4_096
const CHUNK_SHIFT = Math.log2(NUMBER_LIST_CHUNK)
const CHUNK_MASK = NUMBER_LIST_CHUNK - 1
/** A new list's first chunk holds this many before it doubles: most per-key lists (an origin's, a
 * zone's) stay short. */
export const NUMBER_LIST_INITIAL_CAPACITY = 16

export class NumberList {
  /** Every chunk but a lone first one holds NUMBER_LIST_CHUNK numbers. */
  #chunks: Float64Array[] = []
  /** Position of the oldest number in the first chunk. */
  #start = 0
  #length = 0

  get length(): number {
    return this.#length
  }

  /** The number at `index` (0 is the oldest); undefined outside the list. */
  at(index: number): number | undefined {
    if (index < 0 || index >= this.#length) return undefined
    const position = this.#start + index
    return (this.#chunks[position >> CHUNK_SHIFT] as Float64Array)[position & CHUNK_MASK]
  }

  last(): number | undefined {
    return this.at(this.#length - 1)
  }

  push(value: number): void {
    const position = this.#start + this.#length
    const chunkIndex = position >> CHUNK_SHIFT
    let chunk = this.#chunks[chunkIndex]
    if (chunk === undefined) {
      chunk = new Float64Array(chunkIndex === 0 ? NUMBER_LIST_INITIAL_CAPACITY : NUMBER_LIST_CHUNK)
      this.#chunks.push(chunk)
    } else if ((position & CHUNK_MASK) >= chunk.length) {
      // Only a lone first chunk is short: it doubles, up to the chunk size.
      const grown = new Float64Array(Math.min(NUMBER_LIST_CHUNK, chunk.length * 2))
      grown.set(chunk)
      chunk = grown
      this.#chunks[chunkIndex] = grown
    }
    chunk[position & CHUNK_MASK] = value
    this.#length++
  }

  /** Drops the oldest number. */
  shift(): void {
    if (this.#length === 0) return
    this.#length--
    this.#start++
    if (this.#length === 0) {
      this.#chunks = []
      this.#start = 0
    } else if (this.#start === NUMBER_LIST_CHUNK) {
      this.#chunks.shift()
      this.#start = 0
    }
  }

  /** Inserts `value` before position `index` (0 ≤ index ≤ length), moving the later numbers up one
   * chunk at a time. */
  insert(index: number, value: number): void {
    if (index < 0 || index > this.#length) throw new RangeError(`insert at ${index} of ${this.#length}`)
    this.push(value) // one more slot at the end
    const from = this.#start + index
    let to = this.#start + this.#length - 1
    while (to > from) {
      const chunk = this.#chunks[to >> CHUNK_SHIFT] as Float64Array
      const chunkStart = to - (to & CHUNK_MASK)
      if (from >= chunkStart) {
        chunk.copyWithin(from - chunkStart + 1, from - chunkStart, to - chunkStart)
        break
      }
      chunk.copyWithin(1, 0, to - chunkStart)
      chunk[0] = this.#get(chunkStart - 1)
      to = chunkStart - 1
    }
    this.#set(index, value)
  }

  /** Removes the number at position `index`, moving the later numbers down one chunk at a time. */
  removeAt(index: number): void {
    if (index < 0 || index >= this.#length) throw new RangeError(`remove at ${index} of ${this.#length}`)
    const last = this.#start + this.#length - 1
    let at = this.#start + index
    while (at < last) {
      const chunk = this.#chunks[at >> CHUNK_SHIFT] as Float64Array
      const chunkStart = at - (at & CHUNK_MASK)
      const chunkLast = chunkStart + chunk.length - 1
      if (last <= chunkLast) {
        chunk.copyWithin(at - chunkStart, at - chunkStart + 1, last - chunkStart + 1)
        break
      }
      chunk.copyWithin(at - chunkStart, at - chunkStart + 1)
      chunk[chunk.length - 1] = this.#get(chunkLast + 1)
      at = chunkLast + 1
    }
    this.#length--
    if (this.#length === 0) {
      this.#chunks = []
      this.#start = 0
    } else if ((last & CHUNK_MASK) === 0) {
      this.#chunks.pop() // the last chunk held only the number that moved down
    }
  }

  /** The number at an absolute position (counted from the first chunk's slot 0). */
  #get(position: number): number {
    return (this.#chunks[position >> CHUNK_SHIFT] as Float64Array)[position & CHUNK_MASK] as number
  }

  #set(index: number, value: number): void {
    const position = this.#start + index
    ;(this.#chunks[position >> CHUNK_SHIFT] as Float64Array)[position & CHUNK_MASK] = value
  }
}
