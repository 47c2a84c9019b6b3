import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { WORLD_QUERY_MAX_LIMIT } from '../../protocol/limits.ts'
import { TEST_ORIGIN, TEST_ORIGIN_2, testFrame, testObservation } from '../../test/helpers/frames.ts'
import { latestKey, WorldModel } from './world-model.ts'

const T = 1_750_000_000_000

describe('WorldModel ingest', () => {
  it('drops duplicates by frame ID', () => {
    const model = new WorldModel()
    const frame = testObservation('zone-1', 'soil-moisture', 30, T)
    expect(model.ingest(frame)).toBe(true)
    expect(model.ingest({ ...frame })).toBe(false)
    expect(model.historySize).toBe(1)
  })

  it('keeps the latest frame per key even after it leaves the history ring', () => {
    const model = new WorldModel({ historyLimit: 2 })
    model.ingest(testObservation('zone-1', 'soil-moisture', 30, T))
    model.ingest(testObservation('zone-2', 'soil-moisture', 40, T + 1))
    model.ingest(testObservation('zone-2', 'soil-moisture', 41, T + 2))
    expect(model.historySize).toBe(2)
    expect(model.latestFor(TEST_ORIGIN, 'observation', 'zone-1', 'soil-moisture')?.data).toMatchObject({
      value: 30,
    })
    expect(model.query({ zone: 'zone-1' })).toEqual([])
  })

  it('does not let an older frame arriving late replace the latest value', () => {
    const model = new WorldModel()
    model.ingest(testObservation('zone-1', 'temperature', 20, T + 1_000))
    model.ingest(testObservation('zone-1', 'temperature', 18, T))
    expect(model.latestFor(TEST_ORIGIN, 'observation', 'zone-1', 'temperature')?.data).toMatchObject({
      value: 20,
    })
  })

  it('property: history never exceeds its limit', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 20 }),
        fc.array(fc.nat({ max: 1_000 }), { maxLength: 200 }),
        (limit, times) => {
          const model = new WorldModel({ historyLimit: limit })
          times.forEach((offset, i) => {
            model.ingest(testObservation(`zone-${i % 3}`, 'soil-moisture', i, T + offset))
            expect(model.historySize).toBeLessThanOrEqual(limit)
          })
          expect(model.query({ limit: 1_000 }).length).toBe(
            Math.min(limit, new Set(times.map((t, i) => `${t}/${i}`)).size),
          )
        },
      ),
    )
  })

  it('property: latest per key is always the newest by timestamp', () => {
    const arbitraryReading = fc.record({
      zone: fc.constantFrom('zone-1', 'zone-2'),
      metric: fc.constantFrom('soil-moisture', 'temperature'),
      origin: fc.constantFrom(TEST_ORIGIN, TEST_ORIGIN_2),
      offset: fc.nat({ max: 100_000 }),
      value: fc.integer({ min: 0, max: 100 }),
    })
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 10 }),
        fc.array(arbitraryReading, { maxLength: 100 }),
        (limit, readings) => {
          const model = new WorldModel({ historyLimit: limit })
          const frames = readings.map((r) =>
            testObservation(r.zone, r.metric, r.value, T + r.offset, { origin: r.origin }),
          )
          for (const frame of frames) model.ingest(frame)
          const newest = new Map<string, number>()
          for (const frame of frames) {
            newest.set(latestKey(frame), Math.max(newest.get(latestKey(frame)) ?? 0, frame.timestamp))
          }
          const latest = model.latest()
          expect(latest.length).toBe(newest.size)
          for (const frame of latest) expect(frame.timestamp).toBe(newest.get(latestKey(frame)))
        },
      ),
    )
  })
})

describe('WorldModel queries', () => {
  function farm(): WorldModel {
    const model = new WorldModel()
    model.ingest(
      testFrame({
        kind: 'capability_update',
        timestamp: T,
        data: { role: 'field', capabilities: ['actuator:valve:zone-1', 'sensor:soil-moisture:zone-1'] },
      }),
    )
    for (let i = 0; i < 10; i++) {
      model.ingest(testObservation('zone-1', 'soil-moisture', 30 - i, T + i * 60_000))
      model.ingest(
        testObservation('zone-2', 'temperature', 20 + i, T + i * 60_000, { origin: TEST_ORIGIN_2 }),
      )
    }
    model.ingest(
      testFrame({
        kind: 'event',
        origin: TEST_ORIGIN_2,
        timestamp: T + 5 * 60_000,
        trust: { tier: 'T2', sources: [] },
        data: { type: 'frost-risk', severity: 'warning', zone: 'zone-2', message: 'near freezing tonight' },
      }),
    )
    model.ingest(
      testFrame({
        kind: 'inference',
        timestamp: T + 6 * 60_000,
        trust: { tier: 'T0', sources: [] },
        data: { text: 'dry', cites: [] },
      }),
    )
    return model
  }

  it('filters by kind, origin, zone and metric, newest first', () => {
    const model = farm()
    const zone1 = model.query({ zone: 'zone-1', kind: 'observation' })
    expect(zone1).toHaveLength(10)
    expect(zone1[0]!.timestamp).toBeGreaterThan(zone1[9]!.timestamp)
    expect(model.query({ origin: TEST_ORIGIN_2 })).toHaveLength(11)
    expect(model.query({ kind: 'event' })).toHaveLength(1)
    expect(model.query({ metric: 'temperature' })).toHaveLength(10)
  })

  it('filters by time window and minimum trust tier', () => {
    const model = farm()
    expect(model.query({ since: T + 3 * 60_000, until: T + 4 * 60_000 })).toHaveLength(4)
    expect(model.query({ minTier: 'T2' }).map((frame) => frame.kind)).toEqual(['event'])
    expect(model.query({ kind: 'inference', minTier: 'T1' })).toEqual([])
  })

  it('finds frames by capability: sources, announcements and advertising origins', () => {
    const model = farm()
    expect(model.capabilitiesOf(TEST_ORIGIN)).toContain('actuator:valve:zone-1')
    expect(model.originsWithCapability('actuator:valve:zone-1')).toEqual([TEST_ORIGIN])
    // every frame of the origin that advertises the valve, nothing of the other origin
    const valve = model.query({ capability: 'actuator:valve:zone-1', limit: 1_000 })
    expect(valve.length).toBe(12)
    expect(valve.every((frame) => frame.origin === TEST_ORIGIN)).toBe(true)
    expect(model.query({ capability: 'sensor:temperature:zone-2' })).toHaveLength(10)
  })

  it('caps the number of results at WORLD_QUERY_MAX_LIMIT, however many match', () => {
    const model = new WorldModel({ historyLimit: WORLD_QUERY_MAX_LIMIT * 2 })
    for (let i = 0; i < WORLD_QUERY_MAX_LIMIT + 500; i++)
      model.ingest(testObservation('zone-1', 'soil-moisture', i, T + i))
    expect(model.query({ limit: 3 })).toHaveLength(3)
    expect(model.query({ limit: 1_000_000 })).toHaveLength(WORLD_QUERY_MAX_LIMIT)
  })

  it('get() finds a frame older than the newest WORLD_QUERY_MAX_LIMIT (regression: proposals citing it were refused)', () => {
    const model = new WorldModel({ historyLimit: WORLD_QUERY_MAX_LIMIT * 2 })
    const first = testObservation('zone-1', 'soil-moisture', -1, T - 1)
    model.ingest(first)
    for (let i = 0; i < WORLD_QUERY_MAX_LIMIT + 10; i++)
      model.ingest(testObservation('zone-2', 'temperature', i, T + i))
    expect(model.query({ limit: 1_000_000 }).some((frame) => frame.frameId === first.frameId)).toBe(false)
    expect(model.get(first.frameId)).toEqual(first)
    expect(model.get('no-such-frame')).toBeUndefined()
  })

  it('ranks alarms first, then by kind, recency and trust', () => {
    const model = farm()
    model.ingest(
      testObservation('zone-3', 'soil-moisture', 12, T, {
        data: {
          zone: 'zone-3',
          metric: 'soil-moisture',
          value: 12,
          unit: '%',
          threshold: { low: 20 },
          alarm: true,
        },
      } as never),
    )
    const ranked = model.rank({ now: T + 10 * 60_000 })
    // the low-moisture alarm and the frost warning outrank fresher, higher-weight but normal frames
    expect(
      ranked
        .slice(0, 2)
        .map((entry) => entry.frame.kind)
        .sort(),
    ).toEqual(['event', 'observation'])
    expect(ranked[2]!.frame.data).not.toHaveProperty('alarm')
    expect(ranked.at(-1)!.frame.kind).toBe('capability_update')
  })

  it('summarises zones, values with units and ages, alarms and nodes within the size limit', () => {
    const model = farm()
    const text = model.summary({ now: T + 10 * 60_000 })
    expect(text).toContain('zone-1: soil-moisture 21 % (1m)')
    expect(text).toContain('zone-2: temperature 29 °C (1m)')
    expect(text).toContain('ALARMS:')
    expect(text).toContain('frost-risk')
    expect(text).toContain('field-1 (2 capabilities)')
    const short = model.summary({ now: T + 10 * 60_000, maxChars: 80 })
    expect(short.length).toBeLessThanOrEqual(80)
  })

  it('snapshot and fromFrames rebuild the same state, including evicted latest frames', () => {
    const model = new WorldModel({ historyLimit: 5 })
    model.ingest(testObservation('zone-9', 'soil-moisture', 50, T - 1_000))
    for (let i = 0; i < 10; i++) model.ingest(testObservation('zone-1', 'soil-moisture', i, T + i))
    const restored = WorldModel.fromFrames(JSON.parse(JSON.stringify(model.snapshot(T))).frames, {
      historyLimit: 5,
    })
    expect(restored.latest()).toEqual(model.latest())
    expect(restored.query({ limit: 100 })).toEqual(model.query({ limit: 100 }))
  })
})

describe('WorldModel time-window queries', () => {
  it('finds a frame synced late with an old timestamp inside the window', () => {
    const model = new WorldModel()
    for (let i = 0; i < 50; i++) model.ingest(testObservation('zone-1', 'soil-moisture', i, T + i * 1_000))
    // arrives last, dated early: still within [since, until]
    model.ingest(testObservation('zone-2', 'soil-moisture', 7, T + 5_500))
    const window = model.query({ since: T + 5_000, until: T + 6_000 })
    expect(window.map((frame) => frame.timestamp).sort()).toEqual([T + 5_000, T + 5_500, T + 6_000])
  })
})

describe('WorldModel query property', () => {
  it('property: every query returns exactly the live history frames a full scan would', () => {
    const reading = fc.record({
      zone: fc.constantFrom('zone-1', 'zone-2', 'zone-3'),
      origin: fc.constantFrom(TEST_ORIGIN, TEST_ORIGIN_2),
      offset: fc.nat({ max: 1_000 }),
      tier: fc.constantFrom('T0', 'T1', 'T2', 'T3'),
    })
    const query = fc.record(
      {
        zone: fc.constantFrom('zone-1', 'zone-2'),
        origin: fc.constantFrom(TEST_ORIGIN, TEST_ORIGIN_2),
        since: fc.nat({ max: 1_000 }),
        until: fc.nat({ max: 1_000 }),
        minTier: fc.constantFrom('T1', 'T2' as const),
      },
      { requiredKeys: [] },
    )
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 30 }),
        fc.array(reading, { maxLength: 80 }),
        query,
        (limit, readings, q) => {
          const model = new WorldModel({ historyLimit: limit })
          const ingested = []
          for (const [i, r] of readings.entries()) {
            const frame = testObservation(r.zone, 'soil-moisture', i, T + r.offset, {
              origin: r.origin,
              trust: { tier: r.tier, sources: [] },
            } as never)
            if (model.ingest(frame)) ingested.push(frame)
          }
          const live = ingested.slice(-limit)
          const tiers = ['T0', 'T1', 'T2', 'T3']
          const expected = live.filter(
            (frame) =>
              (q.zone === undefined || (frame.data as { zone: string }).zone === q.zone) &&
              (q.origin === undefined || frame.origin === q.origin) &&
              (q.since === undefined || frame.timestamp >= T + q.since) &&
              (q.until === undefined || frame.timestamp <= T + q.until) &&
              (q.minTier === undefined || tiers.indexOf(frame.trust.tier) >= tiers.indexOf(q.minTier)),
          )
          const actual = model.query({
            ...q,
            since: q.since === undefined ? undefined : T + q.since,
            until: q.until === undefined ? undefined : T + q.until,
            limit: 1_000,
          })
          const ids = (frames: { frameId: string }[]) => frames.map((frame) => frame.frameId).sort()
          expect(ids(actual)).toEqual(ids(expected))
        },
      ),
    )
  })
})
