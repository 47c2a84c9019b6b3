/**
 * The node's lifecycle: its parts start one after another in the order they are declared and stop
 * in the reverse order, so a part never runs without what it was built on. A part that fails to
 * start stops everything that had already started before the error reaches the caller (the
 * js-libp2p `components.ts` discipline).
 */

/** A part with something to start and stop (listeners, timers, servers, protocol handlers). */
export interface Startable {
  start(): void | Promise<void>
  stop(): void | Promise<void>
}

/** A part as the lifecycle lists it: its name says which part failed or is slow. */
export interface LifecyclePart extends Startable {
  readonly name: string
}

/** Names a part and lets either half be left out (a part that only stops, or only starts). */
export function part(
  name: string,
  hooks: { start?(): void | Promise<void>; stop?(): void | Promise<void> },
): LifecyclePart {
  // Called as methods of `hooks`, so a class instance passed as its own hooks keeps its `this`.
  return { name, start: () => hooks.start?.(), stop: () => hooks.stop?.() }
}

export interface RunningParts {
  /** Stops every started part, last started first. A part whose stop throws is reported to
   * `onStopError` and the rest still stop. Calling it again does nothing. */
  stop(): Promise<void>
}

export interface StartPartsOptions {
  /** A part failed to start: called once the parts started before it have stopped again, before
   * its error (unchanged, so callers still see its name and code) reaches the caller. */
  onStartError?: (part: string, error: unknown) => void
  onStopError?: (part: string, error: unknown) => void
}

/**
 * Starts `parts` in order. A synchronous `start` is not awaited, so a run of synchronous parts
 * starts within one turn of the event loop (no network event lands between them).
 */
export async function startParts(
  parts: readonly LifecyclePart[],
  options: StartPartsOptions = {},
): Promise<RunningParts> {
  const started: LifecyclePart[] = []
  let stopping: Promise<void> | undefined
  const stopStarted = () => {
    stopping ??= (async () => {
      for (const running of started.reverse()) {
        try {
          const stopped = running.stop()
          if (stopped instanceof Promise) await stopped
        } catch (error) {
          options.onStopError?.(running.name, error)
        }
      }
    })()
    return stopping
  }
  for (const next of parts) {
    try {
      const starting = next.start()
      if (starting instanceof Promise) await starting
    } catch (error) {
      await stopStarted()
      options.onStartError?.(next.name, error)
      throw error
    }
    started.push(next)
  }
  return { stop: stopStarted }
}
