import { describe, expect, it } from 'vitest'
import type { Frame } from '../../protocol/context/frame.ts'
import { testObservation } from '../../test/helpers/frames.ts'
import { INTERN_MAX_STRINGS, StringInterner } from './intern.ts'
import { WorldModel } from './world-model.ts'

const T = 1_750_000_000_000

/** The frame as JSON.parse gives it from the wire: its own copy of every string. */
const fromWire = (frame: Frame): Frame => JSON.parse(JSON.stringify(frame)) as Frame

describe('one copy of the strings frames share', () => {
  it('changes no value of an ingested frame', () => {
    const world = new WorldModel()
    const frame = fromWire(testObservation('zone-1', 'soil-moisture', 30, T))
    const before = JSON.stringify(frame)
    world.ingest(frame)
    expect(JSON.stringify(world.get(frame.frameId))).toBe(before)
  })

  it('keeps one held copy per distinct string, and starts over past INTERN_MAX_STRINGS', () => {
    const interner = new StringInterner()
    const first = interner.intern(`${'soil'}-moisture`)
    expect(interner.intern(['soil', 'moisture'].join('-'))).toBe(first)
    expect(interner.size).toBe(1)
    for (let index = 0; index < INTERN_MAX_STRINGS; index++) interner.intern(`one-off-${index}`)
    expect(interner.size).toBeLessThanOrEqual(INTERN_MAX_STRINGS)
  })

  it('holds the shared labels of frames parsed apart once each, and not their IDs or free text', () => {
    const interner = new StringInterner()
    const a = fromWire(testObservation('zone-1', 'soil-moisture', 30, T, { note: 'checked by hand' }))
    const b = fromWire(testObservation('zone-1', 'soil-moisture', 31, T + 1, { note: 'checked by hand' }))
    interner.internFrame(a)
    interner.internFrame(b)
    // origin, kind, origin name, mesh, tier, the one source, metric, unit, zone: nine strings for
    // both frames (a frame ID or the note held too would make it 10 or more).
    expect(interner.size).toBe(9)
  })
})
