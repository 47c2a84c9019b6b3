/**
 * One repeating poll with its own AbortController: `stop()` ends this loop at once (also in the
 * middle of its wait) and no other, and a stopped loop never runs again — a new start is a new loop.
 */

export interface PollLoop {
  stop(): void
  readonly stopped: boolean
}

/** Runs `tick` now, then `intervalMs` after each tick ends, until stopped. A tick's failure is the
 * tick's business: it is caught so the loop goes on. */
export function startPollLoop(
  intervalMs: number,
  tick: (signal: AbortSignal) => Promise<void> | void,
): PollLoop {
  const controller = new AbortController()
  const { signal } = controller
  const run = async () => {
    while (!signal.aborted) {
      try {
        await tick(signal)
      } catch {
        // The tick reports its own failures (refusal banner, stale state); the loop keeps polling.
      }
      await abortableSleep(intervalMs, signal)
    }
  }
  void run()
  return {
    stop: () => controller.abort(),
    get stopped() {
      return signal.aborted
    },
  }
}

export function abortableSleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve()
    const timer = setTimeout(done, ms)
    signal.addEventListener('abort', done, { once: true })
    function done() {
      clearTimeout(timer)
      signal.removeEventListener('abort', done)
      resolve()
    }
  })
}
