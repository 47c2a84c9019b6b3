/**
 * Named monotonic counters for refusals and rejections. Every refusal a node makes is counted here
 * and surfaces in `mesh.health`, so an operator can see that something is being turned away.
 */
export class Counters {
  readonly #values = new Map<string, number>()

  increment(name: string, by = 1): void {
    this.#values.set(name, (this.#values.get(name) ?? 0) + by)
  }

  get(name: string): number {
    return this.#values.get(name) ?? 0
  }

  snapshot(): Record<string, number> {
    return Object.fromEntries([...this.#values.entries()].sort(([a], [b]) => a.localeCompare(b)))
  }
}
