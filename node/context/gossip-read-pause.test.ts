import type { Connection, Stream } from '@libp2p/interface'
import { afterEach, describe, expect, it, vi } from 'vitest'
import { Counters } from '../../runtime/counters.ts'
import { GossipReadPause } from './gossip-read-pause.ts'

const GOSSIP = '/meshsub/1.2.0'

/** A stream with the fields the pause reads and the two calls it makes. */
function fakeStream(protocol: string, direction: 'inbound' | 'outbound'): Stream {
  const stream = {
    protocol,
    direction,
    readStatus: 'readable',
    pause: vi.fn(() => {
      stream.readStatus = 'paused'
    }),
    resume: vi.fn(() => {
      stream.readStatus = 'readable'
    }),
  }
  return stream as unknown as Stream
}

function host(peers: Record<string, Stream[]>) {
  return {
    getConnections: () =>
      Object.entries(peers).map(
        ([id, streams]) => ({ remotePeer: { toString: () => id }, streams }) as unknown as Connection,
      ),
  }
}

afterEach(() => {
  vi.useRealTimers()
})

describe('GossipReadPause', () => {
  it("pauses only the flooder's inbound gossip streams, and resumes them when the penalty ends", () => {
    vi.useFakeTimers()
    const gossipIn = fakeStream(GOSSIP, 'inbound')
    const gossipOut = fakeStream(GOSSIP, 'outbound')
    const rpcIn = fakeStream('/clawmesh/rpc/1', 'inbound')
    const otherPeer = fakeStream(GOSSIP, 'inbound')
    const counters = new Counters()
    const pause = new GossipReadPause(
      host({ flooder: [gossipIn, gossipOut, rpcIn], good: [otherPeer] }),
      [GOSSIP],
      counters,
    )

    expect(pause.pause('flooder', 30_000)).toBe(1)
    expect(gossipIn.readStatus).toBe('paused')
    for (const untouched of [gossipOut, rpcIn, otherPeer]) expect(untouched.readStatus).toBe('readable')
    expect(pause.isPaused('flooder')).toBe(true)
    expect(pause.isPaused('good')).toBe(false)
    expect(counters.snapshot()['gossip.reads-paused.flood']).toBe(1)

    vi.advanceTimersByTime(29_999)
    expect(gossipIn.readStatus).toBe('paused')
    vi.advanceTimersByTime(1)
    expect(gossipIn.readStatus).toBe('readable')
    expect(pause.isPaused('flooder')).toBe(false)
  })

  it('extends a pause that is running instead of ending at the first deadline', () => {
    vi.useFakeTimers()
    const gossipIn = fakeStream(GOSSIP, 'inbound')
    const pause = new GossipReadPause(host({ flooder: [gossipIn] }), [GOSSIP])
    pause.pause('flooder', 10_000)
    vi.advanceTimersByTime(8_000)
    expect(pause.pause('flooder', 10_000)).toBe(0)
    vi.advanceTimersByTime(8_000)
    expect(gossipIn.readStatus).toBe('paused')
    vi.advanceTimersByTime(2_000)
    expect(gossipIn.readStatus).toBe('readable')
  })

  it('never resumes a stream that closed while paused', () => {
    vi.useFakeTimers()
    const gossipIn = fakeStream(GOSSIP, 'inbound')
    const pause = new GossipReadPause(host({ flooder: [gossipIn] }), [GOSSIP])
    pause.pause('flooder', 1_000)
    ;(gossipIn as { readStatus: string }).readStatus = 'closed'
    vi.advanceTimersByTime(1_000)
    expect(gossipIn.resume).not.toHaveBeenCalled()
  })
})
