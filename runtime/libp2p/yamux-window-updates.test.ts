import type { MultiaddrConnection, Stream } from '@libp2p/interface'
import { multiaddrConnectionPair } from '@libp2p/utils'
import { yamux } from '@libp2p/yamux'
import type { Uint8ArrayList } from 'uint8arraylist'
import { describe, expect, it } from 'vitest'
import { installHalfWindowUpdates } from './yamux-window-updates.ts'

/** yamux's default initial stream window. */
const INITIAL_WINDOW = 256 * 1024

/** Yamux frames written by one side of a connection: type (header byte 1) and flags (bytes 2–3). */
function frameTypes(maConn: MultiaddrConnection): Array<{ type: number; flags: number }> {
  const types: Array<{ type: number; flags: number }> = []
  const path = maConn as unknown as { sendData(data: Uint8ArrayList): unknown }
  const sendData = path.sendData.bind(path)
  path.sendData = (data) => {
    // One write may hold several frames; every frame starts with a 12-byte header.
    const bytes = data.subarray()
    let offset = 0
    while (offset + 12 <= bytes.byteLength) {
      const header = new DataView(bytes.buffer, bytes.byteOffset + offset)
      const type = header.getUint8(1)
      types.push({ type, flags: header.getUint16(2) })
      const length = type === 0 ? header.getUint32(8) : 0
      offset += 12 + length
    }
    return sendData(data)
  }
  return types
}

const WINDOW_UPDATE = 1
/** Plain window updates: not the ACK that completes the stream's opening. */
const plainUpdates = (frames: Array<{ type: number; flags: number }>) =>
  frames.filter((frame) => frame.type === WINDOW_UPDATE && frame.flags === 0).length

/** A yamux stream from a dialler to a listener over an in-memory pair; `listenerFrames` lists the
 * frame types the listener writes. */
async function streamPair() {
  const [outbound, inbound] = multiaddrConnectionPair()
  const listenerFrames = frameTypes(inbound)
  const dialler = yamux()().createStreamMuxer(outbound)
  const listener = yamux()().createStreamMuxer(inbound)
  const incoming = new Promise<Stream>((resolve) =>
    listener.addEventListener('stream', (event) => resolve(event.detail), { once: true }),
  )
  const sending = await dialler.createStream()
  sending.send(new Uint8Array(1))
  const receiving = await incoming
  return { sending, receiving, listenerFrames }
}

/** Sends `count` messages of `size` bytes, each after the previous one arrived, and resolves when
 * all have. */
async function sendOneByOne(sending: Stream, receiving: Stream, count: number, size: number) {
  let received = 0
  let next: (() => void) | undefined
  receiving.addEventListener('message', (event) => {
    received += event.data.byteLength
    next?.()
  })
  for (let i = 0; i < count; i++) {
    const target = received + size
    const arrived = new Promise<void>((resolve) => {
      next = () => received >= target && resolve()
    })
    sending.send(new Uint8Array(size))
    await arrived
  }
}

describe('yamux window updates', () => {
  it('stock yamux answers every data frame with a window update (the behaviour replaced)', async () => {
    const { sending, receiving, listenerFrames } = await streamPair()
    listenerFrames.length = 0
    await sendOneByOne(sending, receiving, 50, 700)
    expect(plainUpdates(listenerFrames)).toBeGreaterThanOrEqual(49)
  })

  it('with half-window updates, small messages cause none until half the window is used', async () => {
    installHalfWindowUpdates()
    const { sending, receiving, listenerFrames } = await streamPair()
    listenerFrames.length = 0
    await sendOneByOne(sending, receiving, 50, 700)
    expect(plainUpdates(listenerFrames)).toBe(0)
  })

  it('still updates the window, so a stream carries far more than one window', async () => {
    installHalfWindowUpdates()
    const { sending, receiving, listenerFrames } = await streamPair()
    listenerFrames.length = 0
    await sendOneByOne(sending, receiving, 64, 16 * 1024) // 1 MiB, four initial windows
    const updates = plainUpdates(listenerFrames)
    expect(updates).toBeGreaterThan(0)
    expect(updates).toBeLessThanOrEqual((4 * 1024 * 1024) / (INITIAL_WINDOW / 2))
  })
})
