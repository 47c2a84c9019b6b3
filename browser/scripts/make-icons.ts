/**
 * Draws the console's PWA icons (a mesh of three linked nodes on a dark square) as PNGs without any
 * image library: `node browser/scripts/make-icons.ts` rewrites browser/public/icons/*.png.
 */
import { writeFile } from 'node:fs/promises'
import { deflateSync } from 'node:zlib'

const BACKGROUND = [15, 23, 32] as const
const LINK = [56, 189, 148] as const
const NODE = [226, 244, 236] as const

function crc32(bytes: Uint8Array): number {
  let crc = 0xffffffff
  for (const byte of bytes) {
    crc ^= byte
    for (let bit = 0; bit < 8; bit++) crc = crc & 1 ? (crc >>> 1) ^ 0xedb88320 : crc >>> 1
  }
  return (crc ^ 0xffffffff) >>> 0
}

function chunk(type: string, data: Uint8Array): Buffer {
  const header = Buffer.alloc(8)
  header.writeUInt32BE(data.byteLength, 0)
  header.write(type, 4, 'ascii')
  const crc = Buffer.alloc(4)
  crc.writeUInt32BE(crc32(Buffer.concat([header.subarray(4), data])), 0)
  return Buffer.concat([header, data, crc])
}

function distanceToSegment(px: number, py: number, a: number[], b: number[]): number {
  const [ax, ay] = a as [number, number]
  const [bx, by] = b as [number, number]
  const t = Math.max(
    0,
    Math.min(1, ((px - ax) * (bx - ax) + (py - ay) * (by - ay)) / ((bx - ax) ** 2 + (by - ay) ** 2)),
  )
  return Math.hypot(px - (ax + t * (bx - ax)), py - (ay + t * (by - ay)))
}

function icon(size: number): Buffer {
  const nodes = [
    [0.5, 0.26],
    [0.26, 0.7],
    [0.74, 0.7],
  ].map(([x, y]) => [(x as number) * size, (y as number) * size])
  const rows: Buffer[] = []
  for (let y = 0; y < size; y++) {
    const row = Buffer.alloc(1 + size * 3)
    for (let x = 0; x < size; x++) {
      let color: readonly number[] = BACKGROUND
      for (let i = 0; i < nodes.length; i++) {
        if (distanceToSegment(x, y, nodes[i]!, nodes[(i + 1) % nodes.length]!) < size * 0.025) color = LINK
      }
      for (const [nx, ny] of nodes) if (Math.hypot(x - nx!, y - ny!) < size * 0.09) color = NODE
      row.set(color, 1 + x * 3)
    }
    rows.push(row)
  }
  const header = Buffer.alloc(13)
  header.writeUInt32BE(size, 0)
  header.writeUInt32BE(size, 4)
  header.set([8, 2, 0, 0, 0], 8)
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk('IHDR', header),
    chunk('IDAT', deflateSync(Buffer.concat(rows), { level: 9 })),
    chunk('IEND', new Uint8Array()),
  ])
}

const directory = new URL('../public/icons/', import.meta.url)
for (const size of [192, 512]) await writeFile(new URL(`icon-${size}.png`, directory), icon(size))
