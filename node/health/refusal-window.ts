/**
 * Refusals of the last few minutes (untrusted connections, refused RPC calls, refused operator
 * records, failed hellos): `mesh.health` turns a burst of them into a degraded state.
 */
import { RECENT_REFUSAL_WINDOW_MS } from './health.ts'

export class RefusalWindow {
  readonly #times: number[] = []
  readonly #now: () => number

  constructor(now: () => number = Date.now) {
    this.#now = now
  }

  /** Notes one refusal now, forgetting those older than the window. */
  note(): void {
    const now = this.#now()
    this.#times.push(now)
    while (this.#times.length > 0 && (this.#times[0] as number) < now - RECENT_REFUSAL_WINDOW_MS)
      this.#times.shift()
  }

  /** Refusals within the window. */
  recent(): number {
    const since = this.#now() - RECENT_REFUSAL_WINDOW_MS
    return this.#times.filter((time) => time >= since).length
  }
}
