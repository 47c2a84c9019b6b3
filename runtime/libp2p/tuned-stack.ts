/**
 * The WebSocket, Noise and yamux parts every ClawMesh libp2p process uses (through build-libp2p.ts:
 * mesh nodes, the signaling relay, the CLI), with the changes that cut what a message costs
 * per hop on small machines (docs/benchmarks-fanout.md): one WebSocket message per write
 * (write-batching.ts), one Noise write per connection per event-loop turn (write-batching.ts), Noise
 * frame lengths read without a new error per message (noise-frame-lengths.ts) and yamux window
 * updates at half the window (yamux-window-updates.ts). None changes a byte of the protocols, so
 * browsers and stock libp2p peers interoperate unchanged.
 */
import { noise } from '@libp2p/noise'
import { type WebSocketsInit, webSockets } from '@libp2p/websockets'
import { yamux } from '@libp2p/yamux'
import { cheapFrameLengths } from './noise-frame-lengths.ts'
import { batchedEncryption, wholeWrites } from './write-batching.ts'
import { installHalfWindowUpdates } from './yamux-window-updates.ts'

export function tunedWebSockets(init?: WebSocketsInit) {
  return wholeWrites(webSockets(init))
}

export function tunedNoise() {
  return cheapFrameLengths(batchedEncryption(noise()))
}

/** yamux with window updates at half the window (installed once per process, for every yamux). */
export function tunedYamux(): ReturnType<typeof yamux> {
  installHalfWindowUpdates()
  return yamux()
}
