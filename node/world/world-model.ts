/**
 * The world model: what this node currently believes about the site, built from verified context
 * frames. It keeps the latest frame per key (origin, kind, zone, metric) and a bounded history
 * ring, with per-kind/origin/zone/capability indices so queries never scan the whole history.
 * Signatures are checked before ingest (gossip validator, sync), never here: ingest must sustain
 * tens of thousands of frames per second.
 */
import {
  type Frame,
  type FrameKind,
  TRUST_TIERS,
  type TrustTier,
  trustTierRank,
} from '../../protocol/context/frame.ts'
import { ShardedMap } from '../../protocol/sharded-map.ts'
import {
  WORLD_HISTORY_LIMIT,
  WORLD_QUERY_DEFAULT_LIMIT,
  WORLD_QUERY_MAX_LIMIT,
  WORLD_RANK_RECENCY_MS,
  WORLD_SUMMARY_DEFAULT_CHARS,
} from './constants.ts'
import { StringInterner } from './intern.ts'
import { NumberList } from './number-list.ts'

export interface WorldModelInit {
  readonly historyLimit?: number
}

export interface WorldQuery {
  readonly kind?: FrameKind
  readonly origin?: string
  readonly zone?: string
  readonly metric?: string
  /** Frames that name the capability as a trust source, announce it, or come from an origin that
   * advertises it in its latest capability_update. */
  readonly capability?: string
  readonly since?: number
  readonly until?: number
  readonly minTier?: TrustTier
  /** Default WORLD_QUERY_DEFAULT_LIMIT, capped at WORLD_QUERY_MAX_LIMIT. */
  readonly limit?: number
}

export interface RankedFrame {
  readonly frame: Frame
  readonly score: number
}

export interface WorldSnapshot {
  readonly version: 1
  readonly takenAt: number
  /** Oldest first; ingesting them in order rebuilds the model. */
  readonly frames: readonly Frame[]
}

type ObservationFrame = Extract<Frame, { kind: 'observation' }>

/** Ascending history sequence numbers of one index key, trimmed from the front as the ring evicts. */
type SeqIndex = NumberList

/** Zone of a frame, when its data names one. */
export function frameZone(frame: Frame): string | undefined {
  const zone = (frame.data as { zone?: unknown }).zone
  return typeof zone === 'string' ? zone : undefined
}

/** Metric (observations) or event type (events) of a frame: what distinguishes two "latest" facts
 * about the same zone from the same origin. */
export function frameMetric(frame: Frame): string | undefined {
  if (frame.kind === 'observation') return frame.data.metric
  if (frame.kind === 'event') return frame.data.type
  // The latest findings are kept per node and workflow.
  if (frame.kind === 'host_findings') return frame.data.workflow
  return undefined
}

export function latestKey(frame: Frame): string {
  return `${frame.origin}\u0000${frame.kind}\u0000${frameZone(frame) ?? ''}\u0000${frameMetric(frame) ?? ''}`
}

export function isAlarm(frame: Frame): boolean {
  if (frame.kind === 'observation') return frame.data.alarm === true
  if (frame.kind === 'event') return frame.data.severity === 'critical' || frame.data.severity === 'warning'
  return false
}

/** How much a planner should care about a kind, everything else equal. */
const KIND_WEIGHT: Record<FrameKind, number> = {
  // A stop overrides everything the planner was about to suggest.
  estop: 7,
  proposal: 6,
  approval: 6,
  execution: 6,
  event: 5,
  human_input: 5,
  observation: 4,
  agent_response: 2,
  inference: 2,
  capability_update: 1,
  // Bookkeeping between nodes (evidence log heads): nothing a planner reasons about.
  checkpoint: 0,
  // A node's report on its own machine: context for an operator, not field evidence.
  host_findings: 3,
}

export class WorldModel {
  readonly historyLimit: number
  private readonly ring: (Frame | undefined)[]
  private nextSeq = 0
  /** maxTimestampUpTo[seq % limit] = newest timestamp among all frames ingested up to `seq`. It
   * never decreases along seq, so a newest-first walk can stop once it drops below `since` even
   * when frames arrive out of order (a sync of older history). */
  private readonly maxTimestampUpTo: Float64Array
  private runningMaxTimestamp = 0
  /** History sorted by (timestamp, seq) for time-window queries. Frames usually arrive in time
   * order, so insertion is an append and eviction drops the front; out-of-order frames (a sync of
   * older history) cost one move of the later part each. */
  private readonly timeTs = new NumberList()
  private readonly timeSeq = new NumberList()
  private count = 0
  /** Sharded: a single Map of 50,000 frame IDs rehashes inside one ingest for ~15 ms when it grows
   * or fills with deleted entries (protocol/sharded-map.ts). */
  private readonly seqById = new ShardedMap<number>()
  /** One copy of the strings frames share (intern.ts). */
  private readonly strings = new StringInterner()
  private readonly latestByKey = new Map<string, Frame>()
  private readonly latestIds = new Set<string>()
  private readonly byKind = new Map<string, SeqIndex>()
  private readonly byOrigin = new Map<string, SeqIndex>()
  private readonly byZone = new Map<string, SeqIndex>()
  private readonly byCapability = new Map<string, SeqIndex>()
  private readonly byTier = new Map<string, SeqIndex>()
  private readonly capabilitiesByOrigin = new Map<string, { timestamp: number; capabilities: Set<string> }>()
  private readonly originsByCapability = new Map<string, Set<string>>()
  private readonly originNames = new Map<string, string>()

  constructor(init: WorldModelInit = {}) {
    this.historyLimit = init.historyLimit ?? WORLD_HISTORY_LIMIT
    if (!Number.isInteger(this.historyLimit) || this.historyLimit < 1) {
      throw new RangeError(`historyLimit must be a positive integer, got ${this.historyLimit}`)
    }
    this.ring = new Array(this.historyLimit)
    this.maxTimestampUpTo = new Float64Array(this.historyLimit)
  }

  /** Frames currently in the history ring. */
  get historySize(): number {
    return this.count
  }

  /** Adds a verified frame. Returns false (and changes nothing) for a frame already known. */
  ingest(frame: Frame): boolean {
    if (this.has(frame.frameId)) return false
    this.strings.internFrame(frame)
    if (this.count === this.historyLimit) this.evictOldest()
    const seq = this.nextSeq++
    this.ring[seq % this.historyLimit] = frame
    if (frame.timestamp > this.runningMaxTimestamp) this.runningMaxTimestamp = frame.timestamp
    this.maxTimestampUpTo[seq % this.historyLimit] = this.runningMaxTimestamp
    this.count++
    this.seqById.set(frame.frameId, seq)
    this.addToTimeIndex(frame.timestamp, seq)
    addToIndex(this.byKind, frame.kind, seq)
    addToIndex(this.byOrigin, frame.origin, seq)
    addToIndex(this.byTier, frame.trust.tier, seq)
    const zone = frameZone(frame)
    if (zone !== undefined) addToIndex(this.byZone, zone, seq)
    for (const capability of mentionedCapabilities(frame)) addToIndex(this.byCapability, capability, seq)

    const key = latestKey(frame)
    const current = this.latestByKey.get(key)
    if (current === undefined || isNewer(frame, current)) {
      if (current !== undefined) this.latestIds.delete(current.frameId)
      this.latestByKey.set(key, frame)
      this.latestIds.add(frame.frameId)
    }
    this.originNames.set(frame.origin, frame.originName)
    if (frame.kind === 'capability_update') this.recordCapabilities(frame)
    return true
  }

  has(frameId: string): boolean {
    if (this.seqById.has(frameId)) return true
    // A frame that left the ring may still be the latest for its key.
    return this.latestIds.has(frameId)
  }

  /** One frame by ID, wherever it is held (the history ring, or kept as the latest of its key after
   * leaving the ring), however many frames arrived after it. */
  get(frameId: string): Frame | undefined {
    const seq = this.seqById.get(frameId)
    if (seq !== undefined) return this.ring[seq % this.historyLimit]
    if (!this.latestIds.has(frameId)) return undefined
    for (const frame of this.latestByKey.values()) if (frame.frameId === frameId) return frame
    return undefined
  }

  /** Latest frame per key, newest first. */
  latest(): Frame[] {
    return [...this.latestByKey.values()].sort((a, b) => b.timestamp - a.timestamp)
  }

  latestFor(origin: string, kind: FrameKind, zone?: string, metric?: string): Frame | undefined {
    return this.latestByKey.get(`${origin}\u0000${kind}\u0000${zone ?? ''}\u0000${metric ?? ''}`)
  }

  capabilitiesOf(origin: string): readonly string[] {
    return [...(this.capabilitiesByOrigin.get(origin)?.capabilities ?? [])]
  }

  originsWithCapability(capability: string): readonly string[] {
    return [...(this.originsByCapability.get(capability) ?? [])]
  }

  /** History frames matching every given filter, newest first (by ingest order, or by timestamp
   * when the time window is the most selective filter). */
  query(query: WorldQuery = {}): Frame[] {
    const limit = Math.min(Math.max(query.limit ?? WORLD_QUERY_DEFAULT_LIMIT, 0), WORLD_QUERY_MAX_LIMIT)
    const oldestSeq = this.nextSeq - this.count
    const { walk, bySeq } = this.candidateSeqs(query)
    const minTier = query.minTier === undefined ? 0 : trustTierRank(query.minTier)
    const results: Frame[] = []
    for (const seq of walk) {
      if (results.length >= limit) break
      if (bySeq && seq < oldestSeq) break
      const slot = seq % this.historyLimit
      if (bySeq && query.since !== undefined && this.maxTimestampUpTo[slot]! < query.since) break
      const frame = this.ring[slot]!
      if (query.kind !== undefined && frame.kind !== query.kind) continue
      if (query.origin !== undefined && frame.origin !== query.origin) continue
      if (query.zone !== undefined && frameZone(frame) !== query.zone) continue
      if (query.metric !== undefined && frameMetric(frame) !== query.metric) continue
      if (query.since !== undefined && frame.timestamp < query.since) continue
      if (query.until !== undefined && frame.timestamp > query.until) continue
      if (minTier > 0 && trustTierRank(frame.trust.tier) < minTier) continue
      if (query.capability !== undefined && !this.matchesCapability(frame, query.capability)) continue
      results.push(frame)
    }
    return results
  }

  /**
   * Orders frames by what a planner or operator should look at first: alarms, then a blend of
   * kind weight, recency (exponential decay) and evidence tier. Defaults to the latest frame per
   * key, which is what "the current state" means.
   */
  rank(options: { now: number; frames?: readonly Frame[]; limit?: number }): RankedFrame[] {
    const frames = options.frames ?? [...this.latestByKey.values()]
    const ranked = frames.map((frame) => ({ frame, score: relevance(frame, options.now) }))
    ranked.sort((a, b) => b.score - a.score || b.frame.timestamp - a.frame.timestamp)
    return options.limit === undefined ? ranked : ranked.slice(0, options.limit)
  }

  /** Compact text of the current state for a planner prompt: alarms, then per zone the latest value
   * of each metric with unit and age, then recent warnings and the known nodes. Cut at a line
   * boundary to at most `maxChars`. */
  summary(options: { now: number; maxChars?: number }): string {
    const maxChars = options.maxChars ?? WORLD_SUMMARY_DEFAULT_CHARS
    const now = options.now
    const latest = [...this.latestByKey.values()]
    const observations = latest.filter((frame) => frame.kind === 'observation')
    const alarms = this.rank({ now, frames: latest.filter(isAlarm) })
    const zones = new Map<string, Frame[]>()
    for (const frame of observations) {
      const zone = frameZone(frame) ?? '(site)'
      const list = zones.get(zone) ?? []
      list.push(frame)
      zones.set(zone, list)
    }
    const lines: string[] = [
      `World model: ${zones.size} zones, ${observations.length} readings, ${alarms.length} alarms`,
    ]
    if (alarms.length > 0) {
      lines.push('ALARMS:')
      for (const { frame } of alarms) lines.push(`! ${this.describe(frame, now)}`)
    }
    for (const zone of [...zones.keys()].sort()) {
      const readings = zones
        .get(zone)!
        .sort((a, b) => frameMetric(a)!.localeCompare(frameMetric(b)!))
        .map(
          (frame) =>
            `${frameMetric(frame)} ${formatReading(frame as ObservationFrame)} (${age(now, frame.timestamp)})`,
        )
      lines.push(`${zone}: ${readings.join(', ')}`)
    }
    const nodes = [...this.capabilitiesByOrigin.entries()].map(
      ([origin, entry]) =>
        `${this.originNames.get(origin) ?? origin} (${entry.capabilities.size} capabilities)`,
    )
    if (nodes.length > 0) lines.push(`Nodes: ${nodes.sort().join(', ')}`)
    return truncateLines(lines, maxChars)
  }

  snapshot(now: number = Date.now()): WorldSnapshot {
    const inRing = new Set<string>()
    const history: Frame[] = []
    for (let seq = this.nextSeq - this.count; seq < this.nextSeq; seq++) {
      const frame = this.ring[seq % this.historyLimit]!
      inRing.add(frame.frameId)
      history.push(frame)
    }
    const evictedLatest = [...this.latestByKey.values()]
      .filter((frame) => !inRing.has(frame.frameId))
      .sort((a, b) => a.timestamp - b.timestamp)
    return { version: 1, takenAt: now, frames: [...evictedLatest, ...history] }
  }

  /** Rebuilds a model from frames that were verified when first ingested. */
  static fromFrames(frames: Iterable<Frame>, init: WorldModelInit = {}): WorldModel {
    const model = new WorldModel(init)
    for (const frame of frames) model.ingest(frame)
    return model
  }

  private evictOldest(): void {
    const seq = this.nextSeq - this.count
    const slot = seq % this.historyLimit
    const frame = this.ring[slot]!
    this.ring[slot] = undefined
    this.count--
    this.seqById.delete(frame.frameId)
    this.dropFromTimeIndex(frame.timestamp, seq)
    dropFromIndex(this.byKind, frame.kind, seq)
    dropFromIndex(this.byOrigin, frame.origin, seq)
    dropFromIndex(this.byTier, frame.trust.tier, seq)
    const zone = frameZone(frame)
    if (zone !== undefined) dropFromIndex(this.byZone, zone, seq)
    for (const capability of mentionedCapabilities(frame)) dropFromIndex(this.byCapability, capability, seq)
  }

  private recordCapabilities(frame: Extract<Frame, { kind: 'capability_update' }>): void {
    const current = this.capabilitiesByOrigin.get(frame.origin)
    if (current !== undefined && current.timestamp > frame.timestamp) return
    for (const capability of current?.capabilities ?? [])
      this.originsByCapability.get(capability)?.delete(frame.origin)
    const capabilities = new Set(frame.data.capabilities)
    this.capabilitiesByOrigin.set(frame.origin, { timestamp: frame.timestamp, capabilities })
    for (const capability of capabilities) {
      const origins = this.originsByCapability.get(capability) ?? new Set<string>()
      origins.add(frame.origin)
      this.originsByCapability.set(capability, origins)
    }
  }

  private matchesCapability(frame: Frame, capability: string): boolean {
    if (this.capabilitiesByOrigin.get(frame.origin)?.capabilities.has(capability) === true) return true
    return mentionedCapabilities(frame).includes(capability)
  }

  /** Sequence numbers to examine, newest first: the smallest index (or time range) that every
   * match must be in. `bySeq` says the walk descends in ingest order, which allows early stops. */
  private candidateSeqs(query: WorldQuery): { walk: Iterable<number>; bySeq: boolean } {
    const lists: SeqIndex[][] = []
    if (query.kind !== undefined) lists.push(indexList(this.byKind, query.kind))
    if (query.origin !== undefined) lists.push(indexList(this.byOrigin, query.origin))
    if (query.zone !== undefined) lists.push(indexList(this.byZone, query.zone))
    if (query.capability !== undefined) {
      const union = indexList(this.byCapability, query.capability)
      for (const origin of this.originsByCapability.get(query.capability) ?? []) {
        union.push(...indexList(this.byOrigin, origin))
      }
      lists.push(union)
    }
    if (query.minTier !== undefined && query.minTier !== 'T0') {
      lists.push(
        TRUST_TIERS.slice(trustTierRank(query.minTier)).flatMap((tier) => indexList(this.byTier, tier)),
      )
    }
    let timeRange: [number, number] | undefined
    if (query.since !== undefined || query.until !== undefined) {
      const low = query.since === undefined ? 0 : this.timeLowerBound(query.since, -1)
      const high =
        query.until === undefined
          ? this.timeTs.length
          : this.timeLowerBound(query.until, Number.MAX_SAFE_INTEGER)
      timeRange = [low, Math.max(low, high)]
    }
    let best: SeqIndex[] | undefined
    for (const list of lists) if (best === undefined || indexListSize(list) < indexListSize(best)) best = list
    if (
      timeRange !== undefined &&
      (best === undefined || timeRange[1] - timeRange[0] < indexListSize(best))
    ) {
      return { walk: this.timeRangeNewestFirst(timeRange[0], timeRange[1]), bySeq: false }
    }
    if (best === undefined) return { walk: this.allSeqsNewestFirst(), bySeq: true }
    return { walk: best.length === 1 ? newestFirst(best[0]!) : mergeNewestFirst(best), bySeq: true }
  }

  private addToTimeIndex(timestamp: number, seq: number): void {
    const last = this.timeTs.last()
    if (last === undefined || last <= timestamp) {
      this.timeTs.push(timestamp)
      this.timeSeq.push(seq)
      return
    }
    const position = this.timeLowerBound(timestamp, seq)
    this.timeTs.insert(position, timestamp)
    this.timeSeq.insert(position, seq)
  }

  private dropFromTimeIndex(timestamp: number, seq: number): void {
    if (this.timeSeq.at(0) === seq) {
      this.timeTs.shift()
      this.timeSeq.shift()
      return
    }
    const position = this.timeLowerBound(timestamp, seq)
    if (this.timeSeq.at(position) !== seq) return
    this.timeTs.removeAt(position)
    this.timeSeq.removeAt(position)
  }

  /** First position whose (timestamp, seq) is >= the given pair. */
  private timeLowerBound(timestamp: number, seq: number): number {
    let low = 0
    let high = this.timeTs.length
    while (low < high) {
      const middle = (low + high) >>> 1
      const middleTs = this.timeTs.at(middle)!
      if (middleTs < timestamp || (middleTs === timestamp && this.timeSeq.at(middle)! < seq)) low = middle + 1
      else high = middle
    }
    return low
  }

  /** Positions [low, high) of the time index, newest timestamp first. */
  private *timeRangeNewestFirst(low: number, high: number): Generator<number> {
    for (let i = high - 1; i >= low; i--) yield this.timeSeq.at(i)!
  }

  private *allSeqsNewestFirst(): Generator<number> {
    for (let seq = this.nextSeq - 1; seq >= this.nextSeq - this.count; seq--) yield seq
  }

  private describe(frame: Frame, now: number): string {
    const node = this.originNames.get(frame.origin) ?? frame.originName
    const where = frameZone(frame) ?? 'site'
    if (frame.kind === 'observation') {
      return `${where} ${frame.data.metric} ${formatReading(frame)} ${age(now, frame.timestamp)} ago [${node}]`
    }
    if (frame.kind === 'event') {
      return `${where} ${frame.data.severity} ${frame.data.type}: ${frame.data.message} ${age(now, frame.timestamp)} ago [${node}]`
    }
    return `${frame.kind} ${age(now, frame.timestamp)} ago [${node}]`
  }
}

function isNewer(candidate: Frame, current: Frame): boolean {
  return (
    candidate.timestamp > current.timestamp ||
    (candidate.timestamp === current.timestamp && candidate.frameId > current.frameId)
  )
}

function mentionedCapabilities(frame: Frame): readonly string[] {
  if (frame.kind === 'capability_update') return [...frame.trust.sources, ...frame.data.capabilities]
  return frame.trust.sources
}

function addToIndex(index: Map<string, SeqIndex>, key: string, seq: number): void {
  const entry = index.get(key)
  if (entry === undefined) {
    const created = new NumberList()
    created.push(seq)
    index.set(key, created)
  } else if (entry.last() !== seq) entry.push(seq)
}

/** The ring evicts the globally oldest frame, so within every index it is the first live entry. */
function dropFromIndex(index: Map<string, SeqIndex>, key: string, seq: number): void {
  const entry = index.get(key)
  if (entry === undefined || entry.at(0) !== seq) return
  entry.shift()
  if (entry.length === 0) index.delete(key)
}

function indexList(index: Map<string, SeqIndex>, key: string): SeqIndex[] {
  const entry = index.get(key)
  return entry === undefined ? [] : [entry]
}

function indexListSize(list: readonly SeqIndex[]): number {
  let size = 0
  for (const entry of list) size += entry.length
  return size
}

function* newestFirst(entry: SeqIndex): Generator<number> {
  for (let i = entry.length - 1; i >= 0; i--) yield entry.at(i)!
}

/** Walks several ascending seq lists from their ends, yielding each seq once, newest first. */
function* mergeNewestFirst(entries: readonly SeqIndex[]): Generator<number> {
  const positions = entries.map((entry) => entry.length - 1)
  let previous = Number.POSITIVE_INFINITY
  for (;;) {
    let bestIndex = -1
    let bestSeq = -1
    for (let i = 0; i < entries.length; i++) {
      const entry = entries[i]!
      const position = positions[i]!
      if (position >= 0 && entry.at(position)! > bestSeq) {
        bestSeq = entry.at(position)!
        bestIndex = i
      }
    }
    if (bestIndex === -1) return
    positions[bestIndex]!--
    if (bestSeq !== previous) yield bestSeq
    previous = bestSeq
  }
}

export function relevance(frame: Frame, now: number): number {
  const alarm = isAlarm(frame) ? 100 : 0
  const critical = frame.kind === 'event' && frame.data.severity === 'critical' ? 20 : 0
  const ageMs = Math.max(0, now - frame.timestamp)
  const recency = 10 * Math.exp(-ageMs / WORLD_RANK_RECENCY_MS)
  return alarm + critical + KIND_WEIGHT[frame.kind] + recency + 1.5 * trustTierRank(frame.trust.tier)
}

function formatReading(frame: ObservationFrame): string {
  const value = Number.isInteger(frame.data.value) ? String(frame.data.value) : frame.data.value.toFixed(1)
  const threshold = frame.data.threshold
  const bounds =
    threshold === undefined
      ? ''
      : [
          threshold.low === undefined ? '' : `low ${threshold.low}`,
          threshold.high === undefined ? '' : `high ${threshold.high}`,
        ]
          .filter((part) => part !== '')
          .join(', ')
  return `${value} ${frame.data.unit}${bounds === '' ? '' : ` (${bounds})`}`
}

export function age(now: number, timestamp: number): string {
  const seconds = Math.max(0, Math.round((now - timestamp) / 1_000))
  if (seconds < 60) return `${seconds}s`
  if (seconds < 3_600) return `${Math.round(seconds / 60)}m`
  if (seconds < 86_400) return `${Math.round(seconds / 3_600)}h`
  return `${Math.round(seconds / 86_400)}d`
}

function truncateLines(lines: readonly string[], maxChars: number): string {
  let text = ''
  for (const line of lines) {
    const next = text === '' ? line : `${text}\n${line}`
    if (next.length > maxChars) {
      const marker = '\n…'
      return text.length + marker.length <= maxChars ? `${text}${marker}` : text.slice(0, maxChars)
    }
    text = next
  }
  return text
}
