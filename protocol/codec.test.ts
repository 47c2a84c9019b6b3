import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { decodeJsonMessage, encodeJsonMessage } from './codec.ts'
import { ClawMeshError } from './errors.ts'

describe('JSON message codec', () => {
  it('decodes what it encodes', () => {
    fc.assert(
      fc.property(fc.jsonValue(), (value) => {
        const decoded = decodeJsonMessage(encodeJsonMessage(value, 1 << 20), 1 << 20)
        expect(decoded).toEqual(JSON.parse(JSON.stringify(value)))
      }),
    )
  })

  it('never throws anything but a ClawMeshError on arbitrary bytes', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 256 }), (bytes) => {
        try {
          decodeJsonMessage(bytes, 128)
        } catch (error) {
          expect(error).toBeInstanceOf(ClawMeshError)
          expect(['BAD_REQUEST', 'PAYLOAD_TOO_LARGE']).toContain((error as ClawMeshError).code)
        }
      }),
    )
  })

  it('refuses oversized messages in both directions', () => {
    expect(() => encodeJsonMessage('x'.repeat(100), 50)).toThrow(
      expect.objectContaining({ code: 'PAYLOAD_TOO_LARGE' }),
    )
    expect(() => decodeJsonMessage(new Uint8Array(51), 50)).toThrow(
      expect.objectContaining({ code: 'PAYLOAD_TOO_LARGE' }),
    )
  })
})
