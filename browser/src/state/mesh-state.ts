/**
 * What the console knows about the mesh, as one serialisable record: the last answers of the
 * command center's RPC methods plus the frames received live. It is saved to IndexedDB, so a
 * console that cannot reach the command center still shows the last known state, marked stale.
 */
import type { ConsoleSite } from '../../../protocol/console-config.ts'
import type { Frame } from '../../../protocol/context/frame.ts'
import type {
  MeshEvent,
  MeshHealth,
  MeshStatus,
  PeerEntry,
  ProposalRecordWire,
} from '../../../protocol/rpc/methods.ts'
import type { PlannerStatus } from '../mesh/planner-client.ts'
import type { HostReport } from './fleet.ts'

/** Bounds on what the console keeps in memory and in IndexedDB. */
export const MAX_OBSERVATIONS = 2_000
export const MAX_EVENTS = 200
export const MAX_CHAT = 100
/** Frame arrival times kept for the rate figures (per kind, last minute). */
export const FRAME_RATE_WINDOW_MS = 60_000

export interface ObservationPoint {
  readonly frameId: string
  readonly origin: string
  readonly originName: string
  /** The capability (or sensor) the reading came from: the first trust source. */
  readonly source: string
  readonly zone?: string
  readonly metric: string
  readonly value: number
  readonly unit: string
  readonly tier: string
  readonly at: number
  readonly alarm?: boolean
  /** The band the sensor reported with the reading (what an alarm crossed). */
  readonly threshold?: { readonly low?: number; readonly high?: number }
}

export interface ChatEntry {
  readonly at: number
  readonly from: 'operator' | 'planner' | 'system'
  readonly text: string
  readonly detail?: string
}

export interface MeshState {
  /** When the command center last answered (0: never). */
  freshAt: number
  status?: MeshStatus
  peers: PeerEntry[]
  health?: MeshHealth
  events: MeshEvent[]
  proposals: ProposalRecordWire[]
  planner?: PlannerStatus
  /** Why the planner has no status: unknown method on this command center, or an error. */
  plannerUnavailable?: string
  observations: ObservationPoint[]
  frameArrivals: { at: number; kind: string }[]
  chat: ChatEntry[]
  /** Latest host findings per node and workflow (state/fleet.ts). */
  hostReports: HostReport[]
}

export function emptyMeshState(): MeshState {
  return {
    freshAt: 0,
    peers: [],
    events: [],
    proposals: [],
    observations: [],
    frameArrivals: [],
    chat: [],
    hostReports: [],
  }
}

/** The device the site binds each sensor and actuator to (by site ID), as the command center's
 * records say; absent for a device the command center could not bind. */
export function siteBindings(site: ConsoleSite | undefined): ReadonlyMap<string, string> {
  const bound = new Map<string, string>()
  for (const zone of site?.zones ?? []) {
    for (const device of [...zone.sensors, ...zone.actuators]) {
      if (device.deviceId !== undefined) bound.set(device.id, device.deviceId)
    }
  }
  return bound
}

/** A reading as the Twin and the charts use it. A reading of a site device from any node but the one
 * the site binds it to is dropped: a trusted device must not paint another node's valve. */
export function observationOf(
  frame: Frame,
  bindings: ReadonlyMap<string, string> = new Map(),
): ObservationPoint | undefined {
  if (frame.kind !== 'observation') return undefined
  const data = frame.data
  const boundTo = data.sensor === undefined ? undefined : bindings.get(data.sensor)
  if (boundTo !== undefined && boundTo !== frame.origin) return undefined
  return {
    frameId: frame.frameId,
    origin: frame.origin,
    originName: frame.originName,
    source: data.sensor ?? frame.trust.sources[0] ?? data.metric,
    ...(data.zone === undefined ? {} : { zone: data.zone }),
    metric: data.metric,
    value: data.value,
    unit: data.unit,
    tier: frame.trust.tier,
    at: frame.timestamp,
    ...(data.alarm === undefined ? {} : { alarm: data.alarm }),
    ...(data.threshold === undefined ? {} : { threshold: data.threshold }),
  }
}

/** A peer's name as the command center knows it (itself included), or its device ID. */
export function nameOfPeer(state: Pick<MeshState, 'status' | 'peers'>, deviceId: string): string {
  if (deviceId === state.status?.deviceId) return state.status.name
  return state.peers.find((peer) => peer.deviceId === deviceId)?.name ?? deviceId
}

/** Merges observations by frame ID, keeps them in time order and bounded. */
export function mergeObservations(
  current: readonly ObservationPoint[],
  incoming: readonly ObservationPoint[],
): ObservationPoint[] {
  if (incoming.length === 0) return current as ObservationPoint[]
  const seen = new Set(current.map((point) => point.frameId))
  const added = incoming.filter((point) => !seen.has(point.frameId))
  if (added.length === 0) return current as ObservationPoint[]
  const merged = [...current, ...added].sort((a, b) => a.at - b.at)
  return merged.slice(-MAX_OBSERVATIONS)
}

export interface TwinSensor {
  readonly source: string
  readonly metric: string
  readonly value: number
  readonly unit: string
  readonly at: number
  readonly alarm: boolean
  readonly tier: string
}

export interface TwinActuator {
  readonly source: string
  readonly kind: string
  readonly open: boolean
  readonly at: number
}

export interface TwinZone {
  readonly zone: string
  readonly sensors: TwinSensor[]
  readonly actuators: TwinActuator[]
  readonly updatedAt: number
}

/** Actuators report their state as observations whose metric is `<kind>-open` (1 open, 0 closed). */
const ACTUATOR_METRIC = /^(.+)-open$/

/** The site as the frames describe it: per zone, the latest reading of each sensor and the latest
 * state of each actuator. */
export function deriveTwin(observations: readonly ObservationPoint[]): TwinZone[] {
  const latest = new Map<string, ObservationPoint>()
  for (const point of observations) {
    const previous = latest.get(point.source)
    if (previous === undefined || previous.at <= point.at) latest.set(point.source, point)
  }
  const zones = new Map<string, { sensors: TwinSensor[]; actuators: TwinActuator[]; updatedAt: number }>()
  for (const point of latest.values()) {
    const zoneId = point.zone ?? 'site'
    const zone = zones.get(zoneId) ?? { sensors: [], actuators: [], updatedAt: 0 }
    zone.updatedAt = Math.max(zone.updatedAt, point.at)
    const actuator = ACTUATOR_METRIC.exec(point.metric)
    if (actuator !== null) {
      zone.actuators.push({ source: point.source, kind: actuator[1]!, open: point.value >= 1, at: point.at })
    } else {
      zone.sensors.push({
        source: point.source,
        metric: point.metric,
        value: point.value,
        unit: point.unit,
        at: point.at,
        alarm: point.alarm === true,
        tier: point.tier,
      })
    }
    zones.set(zoneId, zone)
  }
  return [...zones.entries()]
    .map(([zone, content]) => ({
      zone,
      sensors: content.sensors.sort((a, b) => a.source.localeCompare(b.source)),
      actuators: content.actuators.sort((a, b) => a.source.localeCompare(b.source)),
      updatedAt: content.updatedAt,
    }))
    .sort((a, b) => a.zone.localeCompare(b.zone))
}

export interface TwinZoneView extends TwinZone {
  /** The zone's name and kind from the site model, when the command center loaded one. */
  readonly name?: string
  readonly kind?: string
  /** Devices the site model puts in this zone that have not reported yet. */
  readonly waiting: { readonly id: string; readonly what: string }[]
}

/** The Twin in the site model's order: every zone of the model with its name (drawn before its
 * first reading), its devices that have not reported yet, then any zone seen only in frames. */
export function arrangeTwin(zones: readonly TwinZone[], site: ConsoleSite | undefined): TwinZoneView[] {
  const observed = new Map(zones.map((zone) => [zone.zone, zone]))
  const arranged: TwinZoneView[] = []
  for (const declared of site?.zones ?? []) {
    const zone = observed.get(declared.id) ?? { zone: declared.id, sensors: [], actuators: [], updatedAt: 0 }
    observed.delete(declared.id)
    const reported = new Set([...zone.sensors, ...zone.actuators].map((device) => device.source))
    arranged.push({
      ...zone,
      name: declared.name,
      ...(declared.kind === undefined ? {} : { kind: declared.kind }),
      waiting: [
        ...declared.sensors.map((sensor) => ({ id: sensor.id, what: sensor.metric })),
        ...declared.actuators.map((actuator) => ({ id: actuator.id, what: actuator.kind })),
      ].filter((device) => !reported.has(device.id)),
    })
  }
  for (const zone of observed.values()) arranged.push({ ...zone, waiting: [] })
  return arranged
}

/** Frames per minute by kind over the last FRAME_RATE_WINDOW_MS. */
export function frameRates(arrivals: readonly { at: number; kind: string }[], now: number) {
  const rates = new Map<string, number>()
  for (const arrival of arrivals) {
    if (arrival.at >= now - FRAME_RATE_WINDOW_MS) rates.set(arrival.kind, (rates.get(arrival.kind) ?? 0) + 1)
  }
  return [...rates.entries()].sort((a, b) => a[0].localeCompare(b[0]))
}

export function formatAge(ms: number): string {
  const seconds = Math.max(0, Math.round(ms / 1_000))
  if (seconds < 60) return `${seconds} s`
  const minutes = Math.floor(seconds / 60)
  if (minutes < 60) return `${minutes} min ${seconds % 60} s`
  const hours = Math.floor(minutes / 60)
  return `${hours} h ${minutes % 60} min`
}
