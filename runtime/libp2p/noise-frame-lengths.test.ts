import type { MessageStream, MultiaddrConnection } from '@libp2p/interface'
import { noise } from '@libp2p/noise'
import { LengthPrefixedDecoder, multiaddrConnectionPair } from '@libp2p/utils'
import { Uint8ArrayList } from 'uint8arraylist'
import { describe, expect, it } from 'vitest'
import { encrypterWithIdentity, receiveBytes } from '../../test/helpers/noise-session.ts'
import { cheapFrameLengths, noiseFrameLength } from './noise-frame-lengths.ts'

describe('noiseFrameLength', () => {
  it('reads a 2-byte big-endian length, also across the chunks of a list', () => {
    expect(noiseFrameLength(new Uint8Array([0x01, 0x02, 0xff]))).toBe(258)
    expect(noiseFrameLength(new Uint8ArrayList(new Uint8Array([0xff]), new Uint8Array([0xfe, 9])))).toBe(
      65_534,
    )
    expect(noiseFrameLength.bytes).toBe(2)
  })

  it('signals a short read with a RangeError, the same one every time', () => {
    const caught = [new Uint8Array(0), new Uint8ArrayList(new Uint8Array([7]))].map((data) => {
      try {
        noiseFrameLength(data)
      } catch (error) {
        return error
      }
      return undefined
    })
    expect(caught[0]).toBeInstanceOf(RangeError)
    expect(caught[1]).toBe(caught[0])
  })

  it('lets the length-prefixed decoder wait for bytes that arrive one at a time', () => {
    const decoder = new LengthPrefixedDecoder({
      lengthDecoder: noiseFrameLength,
      encodingLength: () => 2,
    })
    const frames = [new Uint8Array(300).fill(1), new Uint8Array([2, 3]), new Uint8Array(256).fill(4)]
    const wire = Buffer.concat(
      frames.flatMap((frame) => [new Uint8Array([frame.length >> 8, frame.length & 0xff]), frame]),
    )
    const out: Uint8Array[] = []
    for (const byte of wire)
      for (const frame of decoder.decode(new Uint8Array([byte]))) out.push(frame.subarray())
    expect(out).toEqual(frames)
  })
})

/** Makes a connection hand its transport each write in pieces of 1, 7 and 4,096 bytes in turn, so
 * frame lengths arrive split (a write's first piece is a lone byte of its first length prefix). */
function splitWrites(maConn: MultiaddrConnection): void {
  const path = maConn as unknown as {
    sendData(data: Uint8ArrayList): { sentBytes: number; canSendMore: boolean }
  }
  const sendData = path.sendData.bind(path)
  const pieces = [1, 7, 4_096]
  path.sendData = (data) => {
    const bytes = data.subarray()
    let result = { sentBytes: 0, canSendMore: true }
    for (let offset = 0, turn = 0; offset < bytes.length; turn++) {
      const end = Math.min(bytes.length, offset + (pieces[turn % pieces.length] as number))
      const sent = sendData(new Uint8ArrayList(bytes.subarray(offset, end)))
      result = { sentBytes: result.sentBytes + sent.sentBytes, canSendMore: sent.canSendMore }
      offset = end
    }
    return result
  }
}

const receive = async (stream: MessageStream, bytes: number) =>
  Buffer.concat(await receiveBytes(stream, bytes))

describe('cheapFrameLengths', () => {
  it('secures connections that read their frames with it, split frame lengths included', async () => {
    const [outbound, inbound] = multiaddrConnectionPair()
    const dialler = await encrypterWithIdentity(cheapFrameLengths(noise()))
    const listener = await encrypterWithIdentity(cheapFrameLengths(noise()))
    const [a, b] = await Promise.all([
      dialler.encrypter.secureOutbound(outbound, { remotePeer: listener.peerId }),
      listener.encrypter.secureInbound(inbound),
    ])
    for (const secured of [a, b]) {
      expect(
        (secured.connection as unknown as { decoder: { lengthDecoder: unknown } }).decoder.lengthDecoder,
      ).toBe(noiseFrameLength)
    }
    splitWrites(outbound)
    const messages = [new Uint8Array(1_000).fill(1), new Uint8Array(70_000).fill(2)]
    const arrived = receive(b.connection, 71_000)
    for (const message of messages) a.connection.send(message)
    expect(await arrived).toEqual(Buffer.concat(messages))
    const back = receive(a.connection, 3)
    b.connection.send(new Uint8Array([7, 8, 9]))
    expect(await back).toEqual(Buffer.from([7, 8, 9]))
  })
})
