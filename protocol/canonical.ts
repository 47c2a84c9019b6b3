/**
 * Canonical JSON and hashing. Everything that is signed or hashed (frames, proposals, approvals,
 * evidence entries) is first turned into these bytes, so two implementations that agree on the
 * value agree on the hash. Rules: object keys sorted by UTF-16 code unit, no whitespace, `undefined`
 * object members dropped, only finite numbers, no non-plain objects.
 */
import { sha256 } from '@noble/hashes/sha2.js'
import { bytesToHex } from '@noble/hashes/utils.js'
import { CANONICAL_MAX_DEPTH } from './limits.ts'

export class CanonicalEncodingError extends Error {
  static readonly NAME = 'CanonicalEncodingError'
  override readonly name = CanonicalEncodingError.NAME
}

const textEncoder = new TextEncoder()

/** Encodes a JSON-compatible value canonically. Throws CanonicalEncodingError on values JSON cannot
 * represent faithfully (NaN, Infinity, bigint, functions, class instances, cycles, excess depth). */
export function canonicalJson(value: unknown): string {
  return encode(value, 0, new Set())
}

export function canonicalBytes(value: unknown): Uint8Array {
  return textEncoder.encode(canonicalJson(value))
}

export function sha256Hex(data: Uint8Array | string): string {
  return bytesToHex(sha256(typeof data === 'string' ? textEncoder.encode(data) : data))
}

/** SHA-256 (hex) of a value's canonical encoding. */
export function canonicalHash(value: unknown): string {
  return sha256Hex(canonicalBytes(value))
}

function encode(value: unknown, depth: number, seen: Set<object>): string {
  if (depth > CANONICAL_MAX_DEPTH)
    throw new CanonicalEncodingError(`nesting deeper than ${CANONICAL_MAX_DEPTH}`)
  if (value === null) return 'null'
  switch (typeof value) {
    case 'boolean':
      return value ? 'true' : 'false'
    case 'string':
      return JSON.stringify(value)
    case 'number':
      if (!Number.isFinite(value)) throw new CanonicalEncodingError(`non-finite number ${value}`)
      // -0 and 0 must hash the same; JSON.stringify already prints -0 as "0".
      return JSON.stringify(value)
    case 'object':
      break
    default:
      throw new CanonicalEncodingError(`cannot encode ${typeof value}`)
  }
  const object = value as object
  if (seen.has(object)) throw new CanonicalEncodingError('cyclic structure')
  seen.add(object)
  try {
    if (Array.isArray(object)) {
      return `[${object.map((item) => encode(item === undefined ? null : item, depth + 1, seen)).join(',')}]`
    }
    const prototype = Object.getPrototypeOf(object)
    if (prototype !== Object.prototype && prototype !== null) {
      throw new CanonicalEncodingError(
        `cannot encode instance of ${prototype?.constructor?.name ?? 'unknown'}`,
      )
    }
    const record = object as Record<string, unknown>
    const members: string[] = []
    for (const key of Object.keys(record).sort()) {
      const member = record[key]
      if (member === undefined) continue
      members.push(`${JSON.stringify(key)}:${encode(member, depth + 1, seen)}`)
    }
    return `{${members.join(',')}}`
  } finally {
    seen.delete(object)
  }
}
