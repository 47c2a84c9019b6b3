/**
 * A cheaper "not enough bytes yet" on every secured connection. @libp2p/noise reads its frames
 * with @libp2p/utils' LengthPrefixedDecoder, which after taking every whole frame out of the bytes
 * received asks the length decoder once more and learns that fewer than 2 bytes are left from a
 * RangeError. Noise's decoder makes that a new RangeError each time, and a new error captures a
 * stack trace: ~5 µs per WebSocket message received (4.7 µs measured at a 20-frame stack), which
 * a site hub in the fan-out bench pays 200–430 times a second at 500 frames/s: small (~0.2 % of
 * a core), but paid on every node and relay for nothing. (A CPU profile shows it far larger, 3.8 %
 * of the hub: under the profiler, capturing a stack costs much more.) The decoder installed here
 * reads the same 2-byte big-endian length and signals a short read with one RangeError made once;
 * the decoder catches it and waits for more bytes, and nobody keeps it or reads its stack. Not a
 * byte of the protocol changes.
 */
import type { ConnectionEncrypter, MessageStream } from '@libp2p/interface'
import type { Uint8ArrayList } from 'uint8arraylist'
import { afterSecuring } from './after-securing.ts'

/** Noise frame lengths are 2-byte big-endian (the Noise spec's 65,535-byte message limit). */
const NOISE_LENGTH_BYTES = 2

/** The one short-read signal: LengthPrefixedDecoder tests `instanceof RangeError` and stops. */
const SHORT_READ = Object.freeze(new RangeError('fewer than 2 bytes of a Noise frame length'))

/** Reads a Noise frame length from the start of `data`; throws the shared RangeError when fewer
 * than 2 bytes have arrived. `bytes` tells the decoder how long the prefix was. */
export function noiseFrameLength(data: Uint8ArrayList | Uint8Array): number {
  if (data.length < NOISE_LENGTH_BYTES) throw SHORT_READ
  if (data instanceof Uint8Array) return ((data[0] as number) << 8) | (data[1] as number)
  return ((data.get(0) as number) << 8) | (data.get(1) as number)
}
noiseFrameLength.bytes = NOISE_LENGTH_BYTES

/** The part of @libp2p/noise's EncryptedMessageStream this module replaces. */
interface NoiseReader {
  decoder?: { lengthDecoder?: unknown }
}

/** Gives a secured connection the cheap length decoder. Returns false (and changes nothing) for a
 * connection that does not read through a LengthPrefixedDecoder, e.g. another encrypter's. */
export function useCheapFrameLengths(connection: MessageStream): boolean {
  const decoder = (connection as unknown as NoiseReader).decoder
  if (decoder === undefined || typeof decoder.lengthDecoder !== 'function') return false
  decoder.lengthDecoder = noiseFrameLength
  return true
}

/** Wraps a connection encrypter (e.g. `noise()`) so that each connection it secures reads its frame
 * lengths with `noiseFrameLength`. */
export function cheapFrameLengths<Components>(
  factory: (components: Components) => ConnectionEncrypter,
): (components: Components) => ConnectionEncrypter {
  return afterSecuring(factory, (secured) => {
    useCheapFrameLengths(secured)
  })
}
