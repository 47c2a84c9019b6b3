/**
 * What grew between two V8 heap snapshots of one process (the soak's `--snapshot-leaker` writes
 * them): self size and count per constructor / kind, largest growth first. A quick look before
 * opening both in Chrome DevTools (Memory → Comparison) to follow retainers.
 *
 *   node test/bench/heap-diff.ts BEFORE.heapsnapshot AFTER.heapsnapshot [--top 25]
 */
import { readFile } from 'node:fs/promises'
import { parseArgs } from 'node:util'

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: { top: { type: 'string', default: '25' } },
})
const [beforePath, afterPath] = positionals
if (beforePath === undefined || afterPath === undefined)
  throw new Error('usage: node test/bench/heap-diff.ts BEFORE.heapsnapshot AFTER.heapsnapshot')

interface HeapSnapshot {
  snapshot: { meta: { node_fields: string[]; node_types: [string[], ...unknown[]] } }
  nodes: number[]
  strings: string[]
}

/** Self bytes and count per `kind:name` (objects by constructor, strings, arrays, code, closures). */
async function aggregate(path: string): Promise<Map<string, { bytes: number; count: number }>> {
  const heap = JSON.parse(await readFile(path, 'utf8')) as HeapSnapshot
  const fields = heap.snapshot.meta.node_fields
  const kinds = heap.snapshot.meta.node_types[0]
  const stride = fields.length
  const typeAt = fields.indexOf('type')
  const nameAt = fields.indexOf('name')
  const sizeAt = fields.indexOf('self_size')
  const totals = new Map<string, { bytes: number; count: number }>()
  for (let i = 0; i < heap.nodes.length; i += stride) {
    const kind = kinds[heap.nodes[i + typeAt] as number] ?? '?'
    // A string's name is its content: group strings by kind only.
    const name =
      kind === 'string' || kind === 'concatenated string' || kind === 'sliced string'
        ? ''
        : (heap.strings[heap.nodes[i + nameAt] as number] ?? '?').slice(0, 60)
    const key = `${kind}:${name}`
    const entry = totals.get(key) ?? { bytes: 0, count: 0 }
    entry.bytes += heap.nodes[i + sizeAt] as number
    entry.count++
    totals.set(key, entry)
  }
  return totals
}

const before = await aggregate(beforePath)
const after = await aggregate(afterPath)
const growth = [...new Set([...before.keys(), ...after.keys()])]
  .map((key) => {
    const b = before.get(key) ?? { bytes: 0, count: 0 }
    const a = after.get(key) ?? { bytes: 0, count: 0 }
    return {
      key,
      deltaKiB: Math.round((a.bytes - b.bytes) / 1024),
      deltaCount: a.count - b.count,
      afterKiB: Math.round(a.bytes / 1024),
    }
  })
  .sort((x, y) => y.deltaKiB - x.deltaKiB)
const total = (map: Map<string, { bytes: number }>) =>
  [...map.values()].reduce((sum, e) => sum + e.bytes, 0) / 1024 / 1024
console.log(`heap self size: ${total(before).toFixed(1)} MiB → ${total(after).toFixed(1)} MiB`)
console.table(growth.slice(0, Number(values.top)))
