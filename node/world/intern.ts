/**
 * One copy of the strings thousands of frames share. A frame parsed from the wire carries its own
 * copy of every string V8 does not intern while parsing (those longer than a few characters): its
 * origin, its kind, its metric and unit, its trust sources. The world model holds up to 50,000
 * frames, so those copies were over a quarter of what it kept per frame (measured: 675 bytes per
 * observation frame, 184 of them repeated strings) and of what every major GC of a node walks.
 * Interning replaces a field's string with an equal one already held, so no value changes.
 */
import type { Frame } from '../../protocol/context/frame.ts'

/** Distinct strings held for interning: a site's origins, kinds, metrics, units, zones and trust
 * sources number in the hundreds; past this (a stream of one-off values) the table starts over
 * rather than growing. */
export const INTERN_MAX_STRINGS = 4_096

/** Fields of a frame's `data` that name something (low cardinality); free text is left alone. */
const DATA_LABELS = ['metric', 'unit', 'zone', 'sensor', 'type', 'severity', 'role'] as const

export class StringInterner {
  readonly #strings = new Map<string, string>()

  get size(): number {
    return this.#strings.size
  }

  intern(value: string): string {
    const held = this.#strings.get(value)
    if (held !== undefined) return held
    if (this.#strings.size >= INTERN_MAX_STRINGS) this.#strings.clear()
    this.#strings.set(value, value)
    return value
  }

  /** Replaces the frame's shared strings with the held copies, in place (equal values). */
  internFrame(frame: Frame): void {
    const fields = frame as unknown as Record<string, unknown>
    fields['origin'] = this.intern(frame.origin)
    fields['kind'] = this.intern(frame.kind)
    fields['originName'] = this.intern(frame.originName)
    fields['meshName'] = this.intern(frame.meshName)
    const trust = frame.trust as { tier: string; sources: string[] }
    trust.tier = this.intern(trust.tier)
    for (let index = 0; index < trust.sources.length; index++)
      trust.sources[index] = this.intern(trust.sources[index] as string)
    const data = frame.data as Record<string, unknown> | null
    if (data === null || typeof data !== 'object' || Array.isArray(data)) return
    for (const label of DATA_LABELS) {
      const value = data[label]
      if (typeof value === 'string') data[label] = this.intern(value)
    }
  }
}
