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

/** SHA-256 as lowercase hex. The portable default (@noble/hashes, pure JS) runs everywhere; a
 * platform with a native digest installs it with `useNativeSha256Hex` (the node does, at start),
 * since every frame is hashed on every hop. */
export function sha256Hex(data: Uint8Array | string): string {
  return sha256HexImplementation(typeof data === 'string' ? textEncoder.encode(data) : data)
}

let sha256HexImplementation = (data: Uint8Array): string => bytesToHex(sha256(data))

/** Replaces the SHA-256 used for hashing with a native one. It must compute SHA-256 (the node's
 * tests compare it with the portable one); only speed may differ. */
export function useNativeSha256Hex(implementation: (data: Uint8Array) => string): void {
  sha256HexImplementation = implementation
}

/** SHA-256 (hex) of a value's canonical encoding. */
export function canonicalHash(value: unknown): string {
  return sha256Hex(canonicalBytes(value))
}

// String concatenation and an explicit loop: this runs over every frame on every hop.
function encode(value: unknown, depth: number, seen: Set<object>): string {
  if (depth > CANONICAL_MAX_DEPTH)
    throw new CanonicalEncodingError(`nesting deeper than ${CANONICAL_MAX_DEPTH}`)
  switch (typeof value) {
    case 'string':
      return JSON.stringify(value)
    case 'number':
      if (!Number.isFinite(value)) throw new CanonicalEncodingError(`non-finite number ${value}`)
      // -0 and 0 must hash the same; JSON.stringify already prints -0 as "0".
      return JSON.stringify(value)
    case 'boolean':
      return value ? 'true' : 'false'
    case 'object':
      if (value === null) return 'null'
      break
    default:
      throw new CanonicalEncodingError(`cannot encode ${typeof value}`)
  }
  const object = value as object
  if (seen.has(object)) throw new CanonicalEncodingError('cyclic structure')
  seen.add(object)
  try {
    if (Array.isArray(object)) {
      let out = '['
      for (let index = 0; index < object.length; index++) {
        if (index > 0) out += ','
        const item: unknown = object[index]
        out += encode(item === undefined ? null : item, depth + 1, seen)
      }
      return `${out}]`
    }
    const prototype = Object.getPrototypeOf(object)
    if (prototype !== Object.prototype && prototype !== null) {
      throw new CanonicalEncodingError(
        `cannot encode instance of ${prototype?.constructor?.name ?? 'unknown'}`,
      )
    }
    const record = object as Record<string, unknown>
    const keys = Object.keys(record).sort()
    let out = '{'
    for (const key of keys) {
      const member = record[key]
      if (member === undefined) continue
      if (out.length > 1) out += ','
      out += `${JSON.stringify(key)}:${encode(member, depth + 1, seen)}`
    }
    return `${out}}`
  } finally {
    seen.delete(object)
  }
}
