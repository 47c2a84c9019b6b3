/**
 * A bounded ring of lifecycle and security events (`mesh.events`). Old events fall off the back;
 * sequence numbers keep increasing so a poller can ask for "everything after N" and notice gaps.
 */
import type { MeshEvent } from '../../protocol/rpc/methods.ts'

export type MeshEventInput = Omit<MeshEvent, 'seq' | 'at'>
export type MeshEventListener = (event: MeshEvent) => void

export class EventRing {
  readonly #capacity: number
  readonly #events: MeshEvent[] = []
  readonly #listeners = new Set<MeshEventListener>()
  #nextSeq = 1

  constructor(capacity: number) {
    this.#capacity = capacity
  }

  push(input: MeshEventInput, at = Date.now()): MeshEvent {
    const event: MeshEvent = { seq: this.#nextSeq++, at, ...input }
    this.#events.push(event)
    if (this.#events.length > this.#capacity) this.#events.shift()
    for (const listener of this.#listeners) listener(event)
    return event
  }

  list(afterSeq = 0, limit = this.#capacity): MeshEvent[] {
    return this.#events.filter((event) => event.seq > afterSeq).slice(-limit)
  }

  get lastSeq(): number {
    return this.#nextSeq - 1
  }

  subscribe(listener: MeshEventListener): () => void {
    this.#listeners.add(listener)
    return () => this.#listeners.delete(listener)
  }
}
