import { createHash } from 'node:crypto'
import { createRequire } from 'node:module'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { beforeAll, describe, expect, it } from 'vitest'
import { z } from 'zod'
import { signerFromPrivateKey } from '../signing.ts'
import { batchedFrameSchema, buildUnsignedFrame, type FrameFields } from './frame.ts'
import { acceptBatchedFrameFast } from './frame-fast-path.ts'

const NOW = 1_750_000_000_000
let origin: string

beforeAll(async () => {
  origin = signerFromPrivateKey(await generateKeyPair('Ed25519')).id
})

/** What a receiver holds after JSON.parse: the frame as it crossed the wire. */
function wire(fields: FrameFields): Record<string, unknown> {
  return JSON.parse(JSON.stringify(buildUnsignedFrame(origin, fields))) as Record<string, unknown>
}

const shared = { meshName: 'farm', generation: 1, originName: 'field-1', timestamp: NOW }
const trust = { tier: 'T1', sources: ['sensor:soil-moisture:zone-1'] }

function baseFrames(): Array<Record<string, unknown>> {
  return [
    wire({
      ...shared,
      kind: 'observation',
      trust,
      data: { metric: 'soil-moisture', value: 31.5, unit: '%' },
    } as FrameFields),
    wire({
      ...shared,
      kind: 'observation',
      trust: { tier: 'T0', sources: [] },
      note: 'every optional member',
      data: {
        alarm: true,
        metric: 'm',
        sensor: 's-1',
        threshold: { high: 40, low: -2.5 },
        unit: '%',
        value: -0.25,
        zone: 'zone-1',
      },
    } as FrameFields),
    wire({
      ...shared,
      kind: 'observation',
      trust,
      data: { metric: 'm', threshold: {}, unit: 'u', value: 0 },
    } as FrameFields),
    wire({
      ...shared,
      kind: 'event',
      trust,
      data: { message: '', severity: 'critical', type: 'pump.fault' },
    } as FrameFields),
    wire({
      ...shared,
      kind: 'event',
      trust,
      note: '',
      data: { message: 'valve 3 stuck', severity: 'warning', type: 't', zone: 'z' },
    } as FrameFields),
  ]
}

/** The invariant: whenever the fast path accepts, the schema accepts too and returns an equal
 * object with the same key order, and the fast path returned the input itself. */
function expectAgreement(input: unknown): 'fast' | 'schema' {
  const fast = acceptBatchedFrameFast(input)
  const parsed = batchedFrameSchema.safeParse(input)
  if (fast === undefined) return 'schema'
  expect(fast).toBe(input)
  expect(parsed.success, `the fast path accepted what the schema refuses: ${JSON.stringify(input)}`).toBe(
    true,
  )
  if (parsed.success) expect(JSON.stringify(fast)).toBe(JSON.stringify(parsed.data))
  return 'fast'
}

const ODD_VALUES: unknown[] = [
  undefined,
  null,
  '',
  'x',
  'x'.repeat(64),
  'x'.repeat(65),
  'x'.repeat(128),
  'x'.repeat(129),
  'x'.repeat(8_000),
  'x'.repeat(8_001),
  'a'.repeat(64),
  'A'.repeat(64),
  0,
  -0,
  1,
  -1,
  1.5,
  65_535,
  65_536,
  2 ** 53,
  2 ** 53 - 1,
  Number.NaN,
  Number.POSITIVE_INFINITY,
  true,
  false,
  [],
  ['a'],
  [''],
  Array.from({ length: 33 }, () => 's'),
  {},
  { a: 1 },
  'T1',
  'T4',
  'info',
  'observation',
  'event',
  'proposal',
  'Farm',
  'farm_1.b-c',
  '-farm',
]

/** Every member path of a value, nested objects and array items included. */
function paths(value: unknown, prefix: string[] = []): string[][] {
  if (typeof value !== 'object' || value === null) return []
  const out: string[][] = []
  for (const key of Object.keys(value)) {
    out.push([...prefix, key])
    out.push(...paths((value as Record<string, unknown>)[key], [...prefix, key]))
  }
  return out
}

function withChange(
  frame: Record<string, unknown>,
  path: string[],
  change: (parent: Record<string, unknown>, key: string) => void,
): Record<string, unknown> {
  const copy = JSON.parse(JSON.stringify(frame)) as Record<string, unknown>
  let parent = copy
  for (const key of path.slice(0, -1)) parent = parent[key] as Record<string, unknown>
  change(parent, path.at(-1) as string)
  return copy
}

describe('the batched frame fast path', () => {
  it('accepts frames as publishers send them, returning the input the schema would copy', () => {
    for (const frame of baseFrames()) expect(expectAgreement(frame)).toBe('fast')
  })

  it('never accepts what the schema refuses: every member replaced by odd values, removed, or joined by another', () => {
    let mutants = 0
    let refusedBySchema = 0
    for (const frame of baseFrames()) {
      for (const path of paths(frame)) {
        const mutated: Array<Record<string, unknown>> = ODD_VALUES.map((odd) =>
          withChange(frame, path, (parent, key) => {
            parent[key] = odd
          }),
        )
        mutated.push(
          withChange(frame, path, (parent, key) => {
            delete parent[key]
          }),
          // Moved to the end: the schema accepts it (and copies it into order); here it is not proven.
          withChange(frame, path, (parent, key) => {
            const value = parent[key]
            delete parent[key]
            parent[key] = value
          }),
        )
        for (const extra of ['extra', '0', 'proof', 'signature', 'constructor']) {
          mutated.push(
            withChange(frame, path, (parent) => {
              if (!Array.isArray(parent)) parent[extra] = 'x'
            }),
          )
        }
        for (const mutant of mutated) {
          mutants++
          if (!batchedFrameSchema.safeParse(mutant).success) refusedBySchema++
          expectAgreement(mutant)
        }
      }
    }
    // The mutations reach both sides of the schema's line.
    expect(mutants).toBeGreaterThan(2_000)
    expect(refusedBySchema).toBeGreaterThan(mutants / 2)
  })

  it('leaves a key JSON turns into an own "__proto__" member to the schema', () => {
    for (const frame of baseFrames()) {
      const text = JSON.stringify(frame)
      const polluted = JSON.parse(text.replace('"data":{', '"data":{"__proto__":{"alarm":true},'))
      expect(expectAgreement(polluted)).toBe('schema')
      const top = JSON.parse(`{"__proto__":1,${text.slice(1)}`)
      expect(expectAgreement(top)).toBe('schema')
    }
  })

  it('leaves other kinds, non-plain objects and a wrong origin to the schema', () => {
    const [frame] = baseFrames() as [Record<string, unknown>]
    expect(expectAgreement({ ...frame, kind: 'proposal', data: {} })).toBe('schema')
    expect(expectAgreement(Object.assign(Object.create(null), frame))).toBe('schema')
    expect(expectAgreement({ ...frame, origin: 'not-a-device-id' })).toBe('schema')
    expect(expectAgreement({ ...frame, origin: `${origin}x` })).toBe('schema')
    class Frame {}
    expect(expectAgreement(Object.assign(new Frame(), frame))).toBe('schema')
    for (const value of [null, undefined, 'frame', 7, [frame]]) expect(expectAgreement(value)).toBe('schema')
  })

  it('agrees with the schema on random frames built from the odd values', () => {
    // A fixed seed: the same cases on every run.
    let seed = 0x5eed
    const random = () => {
      seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31
      return seed / 2 ** 31
    }
    const pick = <T>(values: readonly T[]): T => values[Math.floor(random() * values.length)] as T
    const bases = baseFrames()
    let fast = 0
    for (let round = 0; round < 3_000; round++) {
      let frame = pick(bases)
      for (let change = 0; change < 1 + Math.floor(random() * 3); change++) {
        const path = pick(paths(frame))
        if (path === undefined) break
        const odd = random() < 0.5 ? pick(ODD_VALUES) : JSON.parse(JSON.stringify(pick(bases)))
        frame = withChange(frame, path, (parent, key) => {
          parent[key] = odd
        })
      }
      if (expectAgreement(frame) === 'fast') fast++
    }
    expect(fast).toBeGreaterThan(0)
  })

  it('was written against this schema for observations and events, and this zod', () => {
    // The fast path restates what the schema checks for these two kinds. Any change to either
    // variant — a member, a limit, a pattern, a refinement added — or to zod's version changes this
    // digest: bring frame-fast-path.ts in line with the schema (and ODD_VALUES above with any new
    // limit), then put the new digest here. (The origin's refinement is checkDeviceId, which the fast
    // path calls itself.)
    const zodVersion = (createRequire(import.meta.url)('zod/package.json') as { version: string }).version
    const variants = (
      batchedFrameSchema as unknown as { options: Array<{ shape: { kind: { value: string } } }> }
    ).options
    const described = ['observation', 'event'].map((kind) => {
      const variant = variants.find((option) => option.shape.kind.value === kind) as unknown as z.ZodType
      return z.toJSONSchema(variant, {
        unrepresentable: 'any',
        override: (context) => {
          const checks = (
            context.zodSchema._zod.def as {
              checks?: Array<{ _zod: { def: { check: string; fn?: unknown } } }>
            }
          ).checks
          if (checks !== undefined && checks.length > 0) {
            context.jsonSchema['x-checks'] = checks.map(({ _zod: { def } }) =>
              def.fn === undefined ? def.check : `${def.check}:${String(def.fn)}`,
            )
          }
        },
      })
    })
    const digest = createHash('sha256').update(JSON.stringify({ zodVersion, described })).digest('hex')
    expect(digest).toBe('c910578d5aac07220608b1d187ee55029c0144e409d4455d9db09a6d0c1336d6')
  })
})
