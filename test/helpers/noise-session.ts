/**
 * Noise sessions without a network, for tests of the node's encrypter wrappers
 * (runtime/libp2p/write-batching.ts, noise-frame-lengths.ts): an encrypter with the components a real
 * node gives it, and what a secured stream receives.
 */
import { generateKeyPair } from '@libp2p/crypto/keys'
import type { ConnectionEncrypter, MessageStream, PeerId, Upgrader } from '@libp2p/interface'
import { defaultLogger } from '@libp2p/logger'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'

interface EncrypterComponents {
  privateKey: Awaited<ReturnType<typeof generateKeyPair>>
  peerId: PeerId
  logger: ReturnType<typeof defaultLogger>
  upgrader: Upgrader
}

/** A fresh identity and an encrypter built by `factory` (e.g. `noise()`, or one wrapped). */
export async function encrypterWithIdentity(
  factory: (components: EncrypterComponents) => ConnectionEncrypter,
): Promise<{ peerId: PeerId; encrypter: ConnectionEncrypter }> {
  const privateKey = await generateKeyPair('Ed25519')
  const components: EncrypterComponents = {
    privateKey,
    peerId: peerIdFromPrivateKey(privateKey),
    logger: defaultLogger(),
    upgrader: { getStreamMuxers: () => new Map() } as unknown as Upgrader,
  }
  return { peerId: components.peerId, encrypter: factory(components) }
}

/** Everything `stream` receives until `bytes` have arrived, chunk by chunk. */
export function receiveBytes(stream: MessageStream, bytes: number): Promise<Uint8Array[]> {
  const chunks: Uint8Array[] = []
  let received = 0
  return new Promise((resolve) => {
    stream.addEventListener('message', (event) => {
      const data = event.data instanceof Uint8Array ? event.data : event.data.subarray()
      chunks.push(data)
      received += data.byteLength
      if (received >= bytes) resolve(chunks)
    })
  })
}
