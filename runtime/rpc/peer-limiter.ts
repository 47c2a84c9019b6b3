/**
 * Per-peer RPC admission: a token bucket for sustained rate and a cap on concurrent streams, so one
 * noisy caller cannot starve the others.
 */
export interface PeerLimiterInit {
  ratePerSecond: number
  burst: number
  maxConcurrent: number
  now?: () => number
}

interface PeerBudget {
  tokens: number
  refilledAt: number
  inFlight: number
}

/** Buckets untouched this long are forgotten so the map does not grow with every peer ever seen. */
const IDLE_BUDGET_EVICTION_MS = 60_000

export type Admission =
  | { readonly admitted: true; release(): void }
  | { readonly admitted: false; readonly reason: 'rate' | 'concurrency' }

export class PeerLimiter {
  readonly #init: Required<PeerLimiterInit>
  readonly #budgets = new Map<string, PeerBudget>()

  constructor(init: PeerLimiterInit) {
    this.#init = { now: Date.now, ...init }
  }

  admit(peer: string): Admission {
    const now = this.#init.now()
    this.#evictIdle(now)
    let budget = this.#budgets.get(peer)
    if (budget === undefined) {
      budget = { tokens: this.#init.burst, refilledAt: now, inFlight: 0 }
      this.#budgets.set(peer, budget)
    }
    budget.tokens = Math.min(
      this.#init.burst,
      budget.tokens + ((now - budget.refilledAt) / 1000) * this.#init.ratePerSecond,
    )
    budget.refilledAt = now
    if (budget.inFlight >= this.#init.maxConcurrent) return { admitted: false, reason: 'concurrency' }
    if (budget.tokens < 1) return { admitted: false, reason: 'rate' }
    budget.tokens -= 1
    budget.inFlight += 1
    let released = false
    const held = budget
    return {
      admitted: true,
      release: () => {
        if (released) return
        released = true
        held.inFlight -= 1
      },
    }
  }

  #evictIdle(now: number): void {
    if (this.#budgets.size < 64) return
    for (const [peer, budget] of this.#budgets) {
      if (budget.inFlight === 0 && now - budget.refilledAt > IDLE_BUDGET_EVICTION_MS)
        this.#budgets.delete(peer)
    }
  }
}
