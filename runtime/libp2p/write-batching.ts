/**
 * Fewer, larger writes on every node connection. On small field nodes a gossip hop's cost is
 * mostly per write, not per byte: each socket write is a syscall that also wakes the receiving
 * process, and each wake-up runs the whole stack cold (docs/benchmarks-fanout.md, "Where a hop's
 * time goes"). Out of the box a relayed gossip message costs several writes on each link: gossipsub
 * sends an IDONTWANT and then the message itself, Noise hands the connection each encrypted frame
 * as two buffers (its 2-byte length prefix and the ciphertext), and @libp2p/websockets sends every
 * buffer as a WebSocket message of its own. Two wrappers fix that without changing a byte of the
 * protocol:
 *
 * - `batchedEncryption(noise())`: whatever the streams of a secured connection send during one
 *   event-loop turn (all the I/O callbacks that were ready, with their promise jobs) is encrypted
 *   as one Noise frame and written once, in the check phase of the same turn (`setImmediate`). A
 *   relay that receives a message sends its IDONTWANT and the forwarded message in one write; a
 *   burst of messages leaves as one write per peer. No timer is involved, so nothing waits longer
 *   than the turn that produced it. At WRITE_BATCH_FLUSH_BYTES the batch goes out at once.
 * - `wholeWrites(webSockets())`: each write to a WebSocket connection is one WebSocket message.
 *
 * Both ends read Noise frames from a byte stream, whatever the WebSocket message boundaries, so
 * batched and unbatched peers (browsers, other libp2p nodes) interoperate unchanged.
 */
import type {
  ConnectionEncrypter,
  MessageStream,
  MultiaddrConnection,
  Transport,
  Upgrader,
} from '@libp2p/interface'
import { Uint8ArrayList } from 'uint8arraylist'
import { afterSecuring } from './after-securing.ts'

/** Bytes after which a batch is sent at once instead of at the end of the turn: a full Noise frame
 * (65,535 bytes with its tag) holds a little less, so a batch this large is two frames anyway. */
export const WRITE_BATCH_FLUSH_BYTES = 64 * 1024

/** The send path of a libp2p message stream (AbstractMessageStream in @libp2p/utils): `send`
 * appends to `writeBuffer` and calls `processSendQueue`, which hands everything buffered to
 * `sendData`. `processSendQueue` is bound per instance in the constructor, so it can be replaced
 * per instance; the stream's own close waits for the write buffer to empty ('idle'). */
interface SendPath {
  readonly writeBuffer: Uint8ArrayList
  readonly writableNeedsDrain: boolean
  processSendQueue(): boolean
  sendData(data: Uint8ArrayList): { sentBytes: number; canSendMore: boolean }
}

/** Wraps a connection encrypter (e.g. `noise()`) so that each secured connection batches its writes
 * per event-loop turn. */
export function batchedEncryption<Components>(
  factory: (components: Components) => ConnectionEncrypter,
): (components: Components) => ConnectionEncrypter {
  return afterSecuring(factory, (secured, carrier) => batchWritesPerTurn(secured, carrier))
}

/** Defers a stream's sending to the end of the current event-loop turn, so that everything sent
 * meanwhile goes to `sendData` together. `carrier` is the connection the stream writes into: libp2p
 * closes and aborts that one directly, and what was sent before must still go out first, as it
 * would have without batching (a reply sent just before a hang-up, a yamux GoAway). */
export function batchWritesPerTurn(stream: MessageStream, carrier: MessageStream = stream): void {
  const path = stream as unknown as SendPath
  const processSendQueue = path.processSendQueue
  let scheduled = false
  const flush = () => {
    scheduled = false
    processSendQueue()
  }
  path.processSendQueue = () => {
    if (path.writeBuffer.byteLength >= WRITE_BATCH_FLUSH_BYTES) return processSendQueue()
    if (!scheduled) {
      scheduled = true
      setImmediate(flush)
    }
    return !path.writableNeedsDrain
  }
  for (const target of new Set([stream, carrier])) flushBeforeEnding(target, processSendQueue)
}

/** The stream's close and abort send what is batched first. */
function flushBeforeEnding(stream: MessageStream, flush: () => unknown): void {
  const close = stream.close.bind(stream)
  const abort = stream.abort.bind(stream)
  // A flush that fails has already aborted the batching stream; the close or abort goes on.
  const tryFlush = () => {
    try {
      flush()
    } catch {}
  }
  stream.close = (options) => {
    tryFlush()
    return close(options)
  }
  stream.abort = (error) => {
    tryFlush()
    abort(error)
  }
}

/** Wraps a transport factory (e.g. `webSockets()`) so that each write to one of its connections is
 * one WebSocket message. */
export function wholeWrites<Components, T extends Transport>(
  factory: (components: Components) => T,
): (components: Components) => T {
  return (components) => {
    const transport = factory(components)
    const dial = transport.dial.bind(transport)
    const createListener = transport.createListener.bind(transport)
    transport.dial = (address, options) =>
      dial(address, { ...options, upgrader: joiningUpgrader(options.upgrader) })
    transport.createListener = (options) =>
      createListener({ ...options, upgrader: joiningUpgrader(options.upgrader) })
    return transport
  }
}

/** The same upgrader, except that each connection's writes are joined before it is upgraded. */
function joiningUpgrader(upgrader: Upgrader): Upgrader {
  return new Proxy(upgrader, {
    get(target, property) {
      if (property === 'upgradeOutbound' || property === 'upgradeInbound') {
        const upgrade = target[property].bind(target) as (
          maConn: MultiaddrConnection,
          options: unknown,
        ) => unknown
        return (maConn: MultiaddrConnection, options: unknown) => upgrade(joinWrites(maConn), options)
      }
      const value = Reflect.get(target, property, target)
      return typeof value === 'function' ? value.bind(target) : value
    },
  })
}

/** Makes a connection hand each write to its transport as one buffer. */
export function joinWrites(maConn: MultiaddrConnection): MultiaddrConnection {
  const path = maConn as unknown as SendPath
  const sendData = path.sendData.bind(path)
  // subarray() returns a lone buffer as it is and copies several into one.
  path.sendData = (data) => sendData(new Uint8ArrayList(data.subarray()))
  return maConn
}
