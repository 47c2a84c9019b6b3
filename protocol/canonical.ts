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
  // A value already in canonical form (every object's keys sorted, only plain JSON values) encodes
  // to exactly what JSON.stringify prints, which builds one string instead of one per member.
  // Parsed frames are in that form (their schemas list keys in canonical order), so this is the
  // path every hop takes; anything else goes through the encoder, which sorts and refuses.
  if (!prototypesDefineToJson() && isCanonicalForm(value, 0)) return JSON.stringify(value)
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
    const keys = sortedKeys(record)
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

/** Whether JSON.stringify(value) is the canonical encoding: plain objects with keys in canonical
 * order, plain arrays, strings, finite numbers, booleans and null (undefined object members are
 * dropped by both), within the depth limit (a cycle exceeds it). Anything else, including a
 * `toJSON` JSON.stringify would call, answers false and is left to the encoder. */
function isCanonicalForm(value: unknown, depth: number): boolean {
  switch (typeof value) {
    case 'string':
    case 'boolean':
      return true
    case 'number':
      return Number.isFinite(value)
    case 'object':
      break
    default:
      return false
  }
  if (value === null) return true
  if (depth >= CANONICAL_MAX_DEPTH) return false
  if (Array.isArray(value)) {
    if (Object.getPrototypeOf(value) !== Array.prototype || Object.hasOwn(value, 'toJSON')) return false
    for (let index = 0; index < value.length; index++) {
      const item: unknown = value[index]
      if (item !== undefined && !isCanonicalForm(item, depth + 1)) return false
    }
    return true
  }
  const prototype = Object.getPrototypeOf(value)
  if (prototype !== Object.prototype && prototype !== null) return false
  const record = value as Record<string, unknown>
  const keys = Object.keys(record)
  for (let index = 0; index < keys.length; index++) {
    const key = keys[index] as string
    if (index > 0 && (keys[index - 1] as string) > key) return false
    const member = record[key]
    if (member !== undefined && !isCanonicalForm(member, depth + 1)) return false
  }
  return true
}

/** JSON.stringify calls an inherited toJSON; the encoder never does. */
function prototypesDefineToJson(): boolean {
  return (
    (Object.prototype as { toJSON?: unknown }).toJSON !== undefined ||
    (Array.prototype as { toJSON?: unknown }).toJSON !== undefined
  )
}

/** The object's keys in canonical order. Objects built in that order (parsed canonical JSON, schemas
 * declared in it) are the common case; checking is free of the sort's working copy. */
function sortedKeys(record: Record<string, unknown>): string[] {
  const keys = Object.keys(record)
  for (let index = 1; index < keys.length; index++) {
    if ((keys[index - 1] as string) > (keys[index] as string)) return keys.sort()
  }
  return keys
}
