/**
 * A user-space TCP proxy that makes a loopback link behave like a poor WAN path: every chunk read
 * in either direction waits a random 0–`jitterMs` before it is written on, and a `lossRate` share of
 * chunks waits `lossDelayMs` more. Used where the kernel has no netem (this machine's has none: `tc
 * qdisc add … netem` answers "Specified qdisc kind is unknown"), so `tc netem loss 20% delay …` on
 * the relay path cannot be had.
 *
 * What it is not: TCP cannot drop bytes, so "loss" here is what a dropped segment costs TCP — a
 * retransmission delay (+200 ms stands for one retransmit on a ~100 ms RTT path) — never a gap in
 * the stream. Order within a direction is kept (a chunk is never written before the one read
 * before it), so a delayed chunk holds up those behind it, as head-of-line blocking does in TCP.
 * UDP (WebRTC's data path) is not touched.
 */
import { connect, createServer, type Server, type Socket } from 'node:net'

export interface LossyProxyOptions {
  /** Where the proxy forwards to, on 127.0.0.1. */
  readonly targetPort: number
  readonly jitterMs: number
  /** Share of chunks (0–1) that are held `lossDelayMs` longer, standing for a lost segment. */
  readonly lossRate: number
  readonly lossDelayMs: number
  readonly random?: () => number
}

export interface LossyProxyStats {
  chunks: number
  /** Chunks held the extra `lossDelayMs` (the stand-in for lost segments). */
  delayed: number
  connections: number
}

export interface LossyProxy {
  readonly port: number
  readonly stats: LossyProxyStats
  close(): Promise<void>
}

interface Held {
  readonly chunk: Buffer
  readonly releaseAt: number
}

/** Forwards `from` to `to` with the proxy's delays, in order. */
function delayedPipe(from: Socket, to: Socket, options: LossyProxyOptions, stats: LossyProxyStats): void {
  const random = options.random ?? Math.random
  const queue: Held[] = []
  let lastRelease = 0
  let ended = false
  let timer: NodeJS.Timeout | undefined
  const drain = () => {
    timer = undefined
    const now = Date.now()
    while (queue.length > 0 && (queue[0] as Held).releaseAt <= now) {
      const { chunk } = queue.shift() as Held
      if (!to.destroyed) to.write(chunk)
    }
    if (queue.length > 0) timer = setTimeout(drain, (queue[0] as Held).releaseAt - now)
    else if (ended) to.end()
  }
  from.on('data', (chunk: Buffer) => {
    stats.chunks++
    let delay = random() * options.jitterMs
    if (random() < options.lossRate) {
      delay += options.lossDelayMs
      stats.delayed++
    }
    lastRelease = Math.max(lastRelease, Date.now() + delay)
    queue.push({ chunk, releaseAt: lastRelease })
    timer ??= setTimeout(drain, lastRelease - Date.now())
  })
  from.on('end', () => {
    ended = true
    if (queue.length === 0 && timer === undefined) to.end()
  })
  from.on('close', () => {
    ended = true
    if (queue.length === 0 && timer === undefined) to.destroy()
  })
  from.on('error', () => to.destroy())
}

export async function startLossyProxy(options: LossyProxyOptions): Promise<LossyProxy> {
  const stats: LossyProxyStats = { chunks: 0, delayed: 0, connections: 0 }
  const sockets = new Set<Socket>()
  const server: Server = createServer((client) => {
    stats.connections++
    const upstream = connect(options.targetPort, '127.0.0.1')
    for (const socket of [client, upstream]) {
      sockets.add(socket)
      socket.once('close', () => sockets.delete(socket))
    }
    delayedPipe(client, upstream, options, stats)
    delayedPipe(upstream, client, options, stats)
  })
  await new Promise<void>((resolveListen) => server.listen(0, '127.0.0.1', resolveListen))
  const address = server.address()
  if (address === null || typeof address === 'string') throw new Error('lossy proxy has no TCP port')
  return {
    port: address.port,
    stats,
    close: async () => {
      for (const socket of sockets) socket.destroy()
      await new Promise<void>((resolveClose) => server.close(() => resolveClose()))
    },
  }
}
