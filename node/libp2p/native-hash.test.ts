import { sha256 } from '@noble/hashes/sha2.js'
import { bytesToHex } from '@noble/hashes/utils.js'
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { canonicalHash, sha256Hex } from '../../protocol/canonical.ts'
import { installNativeSha256, nativeSha256 } from './native-hash.ts'

describe('native SHA-256', () => {
  it('computes the same digests as the portable implementation', () => {
    const portable = canonicalHash({ frame: 'x'.repeat(600), value: 1.5 })
    installNativeSha256()
    expect(canonicalHash({ value: 1.5, frame: 'x'.repeat(600) })).toBe(portable)
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 70_000 }), (data) => {
        const expected = bytesToHex(sha256(data))
        expect(sha256Hex(data)).toBe(expected)
        expect(bytesToHex(nativeSha256(data))).toBe(expected)
      }),
      { numRuns: 200 },
    )
  })
})
