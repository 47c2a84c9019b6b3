import { describe, expect, it } from 'vitest'
import { type LifecyclePart, part, startParts } from './lifecycle.ts'

function recorder() {
  const calls: string[] = []
  const track = (name: string, init: { failStart?: boolean; failStop?: boolean; async?: boolean } = {}) =>
    part(name, {
      start: () => {
        calls.push(`start ${name}`)
        if (init.failStart) throw new Error(`${name} broke`)
        if (init.async) return Promise.resolve()
      },
      stop: () => {
        calls.push(`stop ${name}`)
        if (init.failStop) throw new Error(`${name} stuck`)
      },
    })
  return { calls, track }
}

describe('startParts', () => {
  it('starts parts in the declared order and stops them in reverse', async () => {
    const { calls, track } = recorder()
    const running = await startParts([track('libp2p'), track('membership', { async: true }), track('rpc')])
    expect(calls).toEqual(['start libp2p', 'start membership', 'start rpc'])
    await running.stop()
    expect(calls.slice(3)).toEqual(['stop rpc', 'stop membership', 'stop libp2p'])
  })

  it('stops the parts already started when one fails, then passes on its error unchanged', async () => {
    const { calls, track } = recorder()
    const failed: string[] = []
    const failing = startParts(
      [track('libp2p'), track('rpc'), track('console', { failStart: true }), track('never')],
      { onStartError: (name) => failed.push(`${name} after ${calls.length} calls`) },
    )
    const error = await failing.catch((thrown: unknown) => thrown)
    expect((error as Error).message).toBe('console broke')
    // Reported once the parts started before it have stopped again.
    expect(failed).toEqual(['console after 5 calls'])
    // The part that failed did not start, so it is not stopped; the one after it never started.
    expect(calls).toEqual(['start libp2p', 'start rpc', 'start console', 'stop rpc', 'stop libp2p'])
  })

  it('keeps stopping the other parts when one stop throws', async () => {
    const { calls, track } = recorder()
    const failures: string[] = []
    const running = await startParts([track('a'), track('b', { failStop: true }), track('c')], {
      onStopError: (name) => failures.push(name),
    })
    await running.stop()
    expect(calls.slice(3)).toEqual(['stop c', 'stop b', 'stop a'])
    expect(failures).toEqual(['b'])
  })

  it('stops once however often stop is called', async () => {
    const { calls, track } = recorder()
    const running = await startParts([track('a')])
    await Promise.all([running.stop(), running.stop()])
    await running.stop()
    expect(calls).toEqual(['start a', 'stop a'])
  })

  it('waits for an asynchronous stop before stopping the part below it', async () => {
    const calls: string[] = []
    const slow: LifecyclePart = part('rpc', {
      stop: async () => {
        await new Promise((resolve) => setImmediate(resolve))
        calls.push('rpc stopped')
      },
    })
    const running = await startParts([
      part('libp2p', { stop: () => void calls.push('libp2p stopped') }),
      slow,
    ])
    await running.stop()
    expect(calls).toEqual(['rpc stopped', 'libp2p stopped'])
  })

  it('starts a run of synchronous parts within one turn of the event loop', async () => {
    let turnEnded = false
    setImmediate(() => {
      turnEnded = true
    })
    const seen: boolean[] = []
    await startParts([
      part('a', { start: () => void seen.push(turnEnded) }),
      part('b', { start: () => void seen.push(turnEnded) }),
    ])
    expect(seen).toEqual([false, false])
  })
})

describe('part', () => {
  it('calls the start and stop of an object passed as its hooks as its methods', async () => {
    class Timer {
      running = false
      start() {
        this.running = true
      }
      stop() {
        this.running = false
      }
    }
    const timer = new Timer()
    const running = await startParts([part('timer', timer)])
    expect(timer.running).toBe(true)
    await running.stop()
    expect(timer.running).toBe(false)
  })
})
