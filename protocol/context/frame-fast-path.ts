/**
 * The frame schema's fast path for the two kinds that make up a site's traffic, observations and
 * events. A hop checks every frame of every batch against the zod schema (protocol/context/frame.ts),
 * and zod builds a fresh object, a result and an issue list for every member it checks: ~6 KB of
 * garbage per 512-byte frame, the largest share of what a node allocates per frame received
 * (docs/benchmarks-fanout.md, "A frame's garbage"). For a frame just parsed from JSON whose members
 * already sit in the schema's order, the schema's output is a copy equal to the input; this
 * function proves that case without copying.
 *
 * It only ever accepts. It returns the input itself when every member passes the same checks the
 * schema makes (same limits, same patterns, the same device-ID check) and the keys are exactly the
 * schema's, in its order; in every other case — another kind, a member out of order, an unknown or
 * missing key, any doubt — it returns undefined and the caller runs the schema, which decides and
 * words the refusal. So a frame the schema refuses is never accepted here: the differential test
 * (frame-fast-path.test.ts) holds the two to that.
 */
import { checkDeviceId } from '../device-id.ts'
import { DISPLAY_NAME_MAX_LENGTH, MESH_NAME_MAX_LENGTH } from '../limits.ts'
import { GENERATION_MAX, MESH_NAME_PATTERN } from '../mesh.ts'
import { FRAME_ID_PATTERN } from './batch-proof.ts'
import {
  EVENT_SEVERITIES,
  FRAME_LABEL_MAX_CHARS,
  FRAME_TEXT_MAX_CHARS,
  FRAME_TRUST_SOURCES_MAX,
  TRUST_TIERS,
} from './constants.ts'
import type { Frame } from './frame.ts'

type Check = (value: unknown) => boolean

type Member = readonly [key: string, check: Check, optional?: 'optional']

/** A plain object (what JSON.parse builds) whose enumerable keys are `members`' keys in that order,
 * those marked optional allowed to be absent, and whose values pass their checks. */
function strictObject(members: readonly Member[]): Check {
  const keys = members.map(([key]) => key)
  const checks = members.map(([, check]) => check)
  const optional = members.map(([, , marker]) => marker === 'optional')
  return (value) => {
    if (typeof value !== 'object' || value === null || Object.getPrototypeOf(value) !== Object.prototype) {
      return false
    }
    const record = value as Record<string, unknown>
    let next = 0
    // for…in lists own keys in insertion order (inherited enumerable keys too: then no shape matches).
    for (const key in record) {
      while (next < keys.length && keys[next] !== key) {
        if (!optional[next]) return false
        next++
      }
      if (next === keys.length || !(checks[next] as Check)(record[key])) return false
      next++
    }
    for (; next < keys.length; next++) if (!optional[next]) return false
    return true
  }
}

const string =
  (min: number, max: number): Check =>
  (value) =>
    typeof value === 'string' && value.length >= min && value.length <= max
const label = string(1, FRAME_LABEL_MAX_CHARS)
const text = string(0, FRAME_TEXT_MAX_CHARS)
const number: Check = (value) => typeof value === 'number' && Number.isFinite(value)
const boolean: Check = (value) => typeof value === 'boolean'
const oneOf =
  (values: readonly string[]): Check =>
  (value) =>
    typeof value === 'string' && values.includes(value)
const labelList: Check = (value) => {
  if (!Array.isArray(value) || Object.getPrototypeOf(value) !== Array.prototype) return false
  if (value.length > FRAME_TRUST_SOURCES_MAX) return false
  for (let index = 0; index < value.length; index++) if (!label(value[index])) return false
  return true
}

const observationData = strictObject([
  ['alarm', boolean, 'optional'],
  ['metric', label],
  ['sensor', label, 'optional'],
  [
    'threshold',
    strictObject([
      ['high', number, 'optional'],
      ['low', number, 'optional'],
    ]),
    'optional',
  ],
  ['unit', label],
  ['value', number],
  ['zone', label, 'optional'],
])
const eventData = strictObject([
  ['message', text],
  ['severity', oneOf(EVENT_SEVERITIES)],
  ['type', label],
  ['zone', label, 'optional'],
])

const frameId: Check = (value) => typeof value === 'string' && FRAME_ID_PATTERN.test(value)
const generation: Check = (value) =>
  Number.isSafeInteger(value) && (value as number) >= 1 && (value as number) <= GENERATION_MAX
const meshName: Check = (value) =>
  typeof value === 'string' &&
  value.length >= 1 &&
  value.length <= MESH_NAME_MAX_LENGTH &&
  MESH_NAME_PATTERN.test(value)
const origin: Check = (value) => typeof value === 'string' && checkDeviceId(value).ok
const timestamp: Check = (value) => Number.isSafeInteger(value) && (value as number) >= 0
const trust = strictObject([
  ['sources', labelList],
  ['tier', oneOf(TRUST_TIERS)],
])

/** A frame of one kind with no signature and no proof: how frames sit in a batch-signed batch. */
const batchedFrame = (kind: string, data: Check) =>
  strictObject([
    ['data', data],
    ['frameId', frameId],
    ['generation', generation],
    ['kind', (value) => value === kind],
    ['meshName', meshName],
    ['note', text, 'optional'],
    ['origin', origin],
    ['originName', string(1, DISPLAY_NAME_MAX_LENGTH)],
    ['timestamp', timestamp],
    ['trust', trust],
  ])

const byKind = new Map<unknown, Check>([
  ['observation', batchedFrame('observation', observationData)],
  ['event', batchedFrame('event', eventData)],
])

/** The input itself as a Frame when the batched-frame schema would accept it and return an equal
 * copy; undefined when that is not proven here (the caller then runs the schema). */
export function acceptBatchedFrameFast(input: unknown): Frame | undefined {
  if (typeof input !== 'object' || input === null) return undefined
  const check = byKind.get((input as { kind?: unknown }).kind)
  return check?.(input) === true ? (input as Frame) : undefined
}
