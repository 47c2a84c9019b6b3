/**
 * JSON codec for length-prefixed messages (RPC bodies, frames). Decoding never trusts the input:
 * size is checked before parsing, and parse failures become a typed error, not an exception leak.
 */
import { ClawMeshError } from './errors.ts'

const textEncoder = new TextEncoder()
const textDecoder = new TextDecoder('utf-8', { fatal: true })

export function encodeJsonMessage(value: unknown, maxBytes: number): Uint8Array {
  const bytes = textEncoder.encode(JSON.stringify(value))
  if (bytes.byteLength > maxBytes) {
    throw new ClawMeshError(
      'PAYLOAD_TOO_LARGE',
      `message of ${bytes.byteLength} bytes exceeds the limit of ${maxBytes}`,
    )
  }
  return bytes
}

export function decodeJsonMessage(bytes: Uint8Array, maxBytes: number): unknown {
  if (bytes.byteLength > maxBytes) {
    throw new ClawMeshError(
      'PAYLOAD_TOO_LARGE',
      `message of ${bytes.byteLength} bytes exceeds the limit of ${maxBytes}`,
    )
  }
  let text: string
  try {
    text = textDecoder.decode(bytes)
  } catch (error) {
    throw new ClawMeshError('BAD_REQUEST', 'message is not valid UTF-8', { cause: error })
  }
  try {
    return JSON.parse(text)
  } catch (error) {
    throw new ClawMeshError('BAD_REQUEST', 'message is not valid JSON', { cause: error })
  }
}
