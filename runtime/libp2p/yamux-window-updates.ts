/**
 * Yamux window updates when half the receive window is used, not after every data frame.
 *
 * @libp2p/yamux 8 sends a WINDOW_UPDATE frame for every data frame it receives. For a gossip link
 * carrying many small messages that doubles the frames on the wire, and each update is a socket
 * write on one node and a wake-up on the other, which on small field nodes costs more CPU than the
 * message it acknowledges (docs/benchmarks-fanout.md). The yamux specification leaves the timing to
 * the receiver; go-yamux and rust-yamux send an update once the unacknowledged amount reaches half
 * the window, and so does this. The sender then always has at least half the window (128 KiB at the
 * start, more once yamux's auto-tuning grows it) to send into, so throughput is unchanged.
 *
 * Frames that carry flags (SYN, ACK while a stream opens) and the resume after a pause still go
 * out at once: only plain updates of an established stream wait.
 */
import { StreamState, YamuxStream } from '@libp2p/yamux/stream'

/** The fields of a yamux stream this reads (private in its type declarations). */
interface YamuxWindow {
  state: StreamState
  recvWindow: number
  recvWindowCapacity: number
}

let installed = false

export function installHalfWindowUpdates(): void {
  if (installed) return
  installed = true
  const sendWindowUpdate = YamuxStream.prototype.sendWindowUpdate
  YamuxStream.prototype.sendWindowUpdate = function (this: YamuxStream): void {
    const window = this as unknown as YamuxWindow
    if (window.state === StreamState.Established && window.recvWindowCapacity > window.recvWindow / 2) return
    sendWindowUpdate.call(this)
  }
}
