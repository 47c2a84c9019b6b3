import type { MultiaddrConnection } from '@libp2p/interface'
import { noise } from '@libp2p/noise'
import { multiaddrConnectionPair } from '@libp2p/utils'
import type { Uint8ArrayList } from 'uint8arraylist'
import { describe, expect, it } from 'vitest'
import { encrypterWithIdentity, receiveBytes } from '../../test/helpers/noise-session.ts'
import { batchedEncryption, joinWrites, WRITE_BATCH_FLUSH_BYTES } from './write-batching.ts'

/** Counts what a connection hands its transport: one entry per write, with the buffers it holds. */
function countWrites(maConn: MultiaddrConnection): number[] {
  const writes: number[] = []
  const path = maConn as unknown as { sendData(data: Uint8ArrayList): unknown }
  const sendData = path.sendData.bind(path)
  path.sendData = (data) => {
    writes.push([...data].length)
    return sendData(data)
  }
  return writes
}

/** A Noise session over an in-memory connection pair; `writes` counts the dialler's transport writes
 * made after the handshake. */
async function securedPair(batched: boolean) {
  const [outbound, inbound] = multiaddrConnectionPair()
  const writes = countWrites(outbound)
  joinWrites(outbound)
  const factory = batched ? batchedEncryption(noise()) : noise()
  const dialler = await encrypterWithIdentity(factory)
  const listener = await encrypterWithIdentity(factory)
  const [a, b] = await Promise.all([
    dialler.encrypter.secureOutbound(outbound, { remotePeer: listener.peerId }),
    listener.encrypter.secureInbound(inbound),
  ])
  writes.length = 0
  return { a: a.connection, b: b.connection, writes, carrier: outbound }
}

const message = (fill: number, length = 100) => new Uint8Array(length).fill(fill)
const joined = (chunks: Uint8Array[]) => Buffer.concat(chunks)

describe('write batching', () => {
  it('sends what a connection writes in one event-loop turn as one transport write, in order', async () => {
    const { a, b, writes } = await securedPair(true)
    const arrived = receiveBytes(b, 300)
    a.send(message(1))
    a.send(message(2))
    a.send(message(3))
    expect(writes).toEqual([]) // nothing before the turn ends
    const chunks = await arrived
    expect(writes).toEqual([1]) // one write of one buffer: Noise's prefix and ciphertext joined
    expect(joined(chunks)).toEqual(Buffer.concat([message(1), message(2), message(3)]))
  })

  it('without it, every send is a write of its own (the behaviour it replaces)', async () => {
    const { a, b, writes } = await securedPair(false)
    const arrived = receiveBytes(b, 300)
    a.send(message(1))
    a.send(message(2))
    a.send(message(3))
    await arrived
    expect(writes).toEqual([1, 1, 1])
  })

  it('writes a batch at once when it reaches the flush size', async () => {
    const { a, b, writes } = await securedPair(true)
    const arrived = receiveBytes(b, WRITE_BATCH_FLUSH_BYTES)
    a.send(message(7, WRITE_BATCH_FLUSH_BYTES))
    expect(writes.length).toBeGreaterThan(0) // before the turn ends
    expect(joined(await arrived)).toEqual(Buffer.from(message(7, WRITE_BATCH_FLUSH_BYTES)))
  })

  it('sends what is still batched before the connection closes', async () => {
    const { a, b } = await securedPair(true)
    const arrived = receiveBytes(b, 100)
    a.send(message(9))
    await a.close()
    expect(joined(await arrived)).toEqual(Buffer.from(message(9)))
  })

  it('sends what is still batched when libp2p closes or aborts the connection under it (a reply before a hang-up)', async () => {
    for (const end of ['close', 'abort'] as const) {
      const { a, b, carrier } = await securedPair(true)
      const arrived = receiveBytes(b, 100)
      a.send(message(5))
      if (end === 'close') await carrier.close()
      else carrier.abort(new Error('hang up'))
      expect(joined(await arrived)).toEqual(Buffer.from(message(5)))
    }
  }, 5_000)
})
