/**
 * The built-in planner (`rule-based`): what answers when no model is configured, so a mesh works
 * offline out of the box. It is deterministic — a small grammar of questions and requests, matched
 * with regular expressions — and says in every answer that it is rule-based. It answers from the
 * world model (status, zones, readings, alarms, valves and pumps, peers, capabilities), turns
 * explicit requests ("open valve zone-2 for 5 minutes", "stop pump") into proposals citing the
 * latest observations, and words threshold alerts. It proposes at level L2 or above even where a
 * manifest allows L1, so nothing it proposes runs without an operator. Grammar: docs/planner.md.
 */
import type { Frame } from '../../protocol/context/frame.ts'
import { ClawMeshError } from '../../protocol/errors.ts'
import type { ProposalRecordWire } from '../../protocol/rpc/methods.ts'
import { SENSOR_METRICS, type SiteModel } from '../site/site-model.ts'
import { age } from '../world/world-model.ts'
import type { PlannerBackend, PlannerReply, PlannerRequest, PlannerTools, ProposalDraft } from './backend.ts'

export const BUILTIN_PLANNER_LABEL = 'rule-based'

/** Observations cited as evidence for a proposal: the latest reading of each metric in the zone. */
const EVIDENCE_FRAMES_MAX = 4
/** Observations examined to find the latest per sensor; a zone has a handful of sensors. */
const READINGS_SCAN_LIMIT = 500
/** Frames cited for a status answer. */
const STATUS_CITES_MAX = 16
const PREFIX = 'Rule-based planner'

type ObservationFrame = Extract<Frame, { kind: 'observation' }>
type ActuatorKind = 'valve' | 'pump'
type Action = 'open' | 'close' | 'start' | 'stop'

export type PlannerIntent =
  | { kind: 'help' }
  | { kind: 'status' }
  | { kind: 'zones' }
  | { kind: 'peers' }
  | { kind: 'capabilities' }
  | { kind: 'alarms' }
  | { kind: 'actuators'; actuator?: ActuatorKind; zone?: string }
  | { kind: 'reading'; metric?: string; zone?: string }
  | { kind: 'actuate'; actuator: ActuatorKind; action: Action; zone?: string; durationSec?: number }
  | { kind: 'unknown' }

const METRIC_WORDS: ReadonlyArray<readonly [RegExp, string]> = [
  [/\b(soil[- ]?moisture|moisture|soil|dry|wet)\b/, 'soil-moisture'],
  [/\b(temperature|temp|hot|cold|warm|heat|frost)\b/, 'temperature'],
  [/\bhumidity\b/, 'humidity'],
  [/\b(water[- ]level|pond level|level|pond)\b/, 'water-level'],
  [/\bflow\b/, 'flow'],
  [/\b(rainfall|rain)\b/, 'rainfall'],
  [/\blight\b/, 'light'],
  [/\bph\b/, 'ph'],
  [/\bconductivity\b/, 'conductivity'],
]

const UNIT_SECONDS: ReadonlyArray<readonly [RegExp, number]> = [
  [/^(s|sec|secs|second|seconds)$/, 1],
  [/^(m|min|mins|minute|minutes)$/, 60],
  [/^(h|hr|hrs|hour|hours)$/, 3_600],
]

/** Lowercases, and writes zones as their IDs: "zone 2", "Zone2" and a zone's name become "zone-2". */
export function normaliseText(text: string, site?: SiteModel): string {
  let normalised = ` ${text.toLowerCase().replace(/\s+/g, ' ').trim()} `
  normalised = normalised.replace(/\bzone[ _]?(\d+)\b/g, 'zone-$1')
  for (const zone of site?.zones ?? []) {
    const name = zone.name.toLowerCase()
    if (name.length >= 3) normalised = normalised.split(name).join(zone.id)
  }
  return normalised.trim()
}

/** Parses operator input into an intent. Deterministic: the same text always gives the same intent. */
export function parseRequest(text: string, site?: SiteModel): PlannerIntent {
  const input = normaliseText(text, site)
  const zone = /\b(zone-[a-z0-9]+)\b/.exec(input)?.[1] ?? site?.zones.find((z) => hasWord(input, z.id))?.id
  const actuator: ActuatorKind | undefined = /\bpumps?\b/.test(input)
    ? 'pump'
    : /\bvalves?\b/.test(input) || /\b(water|irrigate)\b/.test(input)
      ? 'valve'
      : undefined
  const question =
    /^(which|what|what's|whats|are|is|show|list|how|tell|give|get)\b/.test(input) || input.endsWith('?')
  if (/^(help|\?)$|\bwhat can you do\b|\bcommands\b/.test(input)) return { kind: 'help' }

  if (actuator !== undefined && !question) {
    const action = actionOf(input, actuator)
    if (action !== undefined) {
      const durationSec = durationOf(input)
      return {
        kind: 'actuate',
        actuator,
        action,
        ...(zone === undefined ? {} : { zone }),
        ...(durationSec === undefined ? {} : { durationSec }),
      }
    }
  }
  if (actuator !== undefined && /\b(valves?|pumps?)\b/.test(input))
    return { kind: 'actuators', actuator, ...(zone === undefined ? {} : { zone }) }
  if (/\b(alarms?|alerts?|problems?|warnings?|wrong|issues?)\b/.test(input)) return { kind: 'alarms' }
  if (/\b(peers?|nodes?|devices?|members?|online)\b/.test(input)) return { kind: 'peers' }
  if (/\bcapabilit(y|ies)\b/.test(input)) return { kind: 'capabilities' }
  const metric = METRIC_WORDS.find(([pattern]) => pattern.test(input))?.[1]
  if (metric !== undefined || zone !== undefined) {
    return {
      kind: 'reading',
      ...(metric === undefined ? {} : { metric }),
      ...(zone === undefined ? {} : { zone }),
    }
  }
  if (/\bzones\b|\bzone list\b/.test(input)) return { kind: 'zones' }
  if (/\b(status|overview|summary|situation|report|world|state|how is|how's|going on)\b/.test(input))
    return { kind: 'status' }
  return { kind: 'unknown' }
}

function hasWord(input: string, word: string): boolean {
  return new RegExp(`\\b${word.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}\\b`).test(input)
}

function actionOf(input: string, actuator: ActuatorKind): Action | undefined {
  const on = /\b(open|start|run|turn on|switch on|water|irrigate)\b/.test(input)
  const off = /\b(close|shut|stop|halt|turn off|switch off)\b/.test(input)
  if (on === off) return undefined
  if (actuator === 'valve') return on ? 'open' : 'close'
  return on ? 'start' : 'stop'
}

/** "for 5 minutes", "90 s", "2h" → seconds. Numbers that are part of a zone ID never count. */
export function durationOf(input: string): number | undefined {
  const match = /(?<![\w-])(\d+(?:\.\d+)?)\s*([a-z]+)\b/g
  for (const found of input.matchAll(match)) {
    const unit = UNIT_SECONDS.find(([pattern]) => pattern.test(found[2] as string))?.[1]
    if (unit !== undefined) return Math.round(Number(found[1]) * unit)
  }
  return undefined
}

export interface BuiltinPlannerInit {
  /** The site model, for zone names and operation manifests (bounds, levels). */
  site?: SiteModel
  now?: () => number
}

export class BuiltinPlanner implements PlannerBackend {
  readonly label = BUILTIN_PLANNER_LABEL
  readonly ruleBased = true
  readonly #site: SiteModel | undefined
  readonly #now: () => number

  constructor(init: BuiltinPlannerInit = {}) {
    this.#site = init.site
    this.#now = init.now ?? Date.now
  }

  async respond(request: PlannerRequest, tools: PlannerTools): Promise<PlannerReply> {
    if (request.trigger === 'proactive') return this.#proactive(request, tools)
    const intent = parseRequest(request.text, this.#site)
    switch (intent.kind) {
      case 'help':
      case 'unknown':
        return reply(helpText(intent.kind === 'unknown' ? request.text : undefined))
      case 'status':
        return this.#status(tools)
      case 'zones':
        return this.#zones(tools)
      case 'peers':
        return this.#peers(tools)
      case 'capabilities':
        return this.#capabilities(tools)
      case 'alarms':
        return this.#alarms(tools)
      case 'actuators':
        return this.#actuators(tools, intent.actuator, intent.zone)
      case 'reading':
        return this.#reading(tools, intent.metric, intent.zone)
      case 'actuate':
        return this.#actuate(tools, intent)
    }
  }

  async #status(tools: PlannerTools): Promise<PlannerReply> {
    const [world, peers, latest] = await Promise.all([
      tools.queryWorld({ limit: 1 }),
      tools.listPeers(),
      this.#latestReadings(tools, {}),
    ])
    const connected = peers.filter((peer) => peer.state === 'connected').length
    const alarms = latest.filter(outOfBand)
    const lines = [
      `${PREFIX} — status from the world model:`,
      world.summary,
      `Peers: ${connected} connected of ${peers.length} known.`,
      alarms.length === 0
        ? 'All readings are within their thresholds.'
        : `${alarms.length} reading(s) outside their thresholds: ${alarms.map((frame) => `${frame.data.zone ?? 'site'} ${frame.data.metric}`).join(', ')}.`,
    ]
    return reply(
      lines.join('\n'),
      latest.slice(0, STATUS_CITES_MAX).map((frame) => frame.frameId),
    )
  }

  async #zones(tools: PlannerTools): Promise<PlannerReply> {
    const latest = await this.#latestReadings(tools, {})
    const zones =
      this.#site?.zones.map((zone) => ({ id: zone.id, name: zone.name })) ??
      [...new Set(latest.map((frame) => frame.data.zone).filter((zone) => zone !== undefined))].map((id) => ({
        id,
        name: undefined,
      }))
    if (zones.length === 0) return reply(`${PREFIX}: I know no zones yet (no site model, no readings).`)
    const lines = zones.map((zone) => {
      const readings = latest.filter((frame) => frame.data.zone === zone.id)
      const alarms = readings.filter(outOfBand).length
      return `- ${zone.id}${zone.name === undefined ? '' : ` (${zone.name})`}: ${readings.length} reading(s)${alarms > 0 ? `, ${alarms} outside thresholds` : ''}`
    })
    return reply(
      `${PREFIX} — ${zones.length} zone(s):\n${lines.join('\n')}`,
      latest.slice(0, STATUS_CITES_MAX).map((frame) => frame.frameId),
    )
  }

  async #peers(tools: PlannerTools): Promise<PlannerReply> {
    const peers = await tools.listPeers()
    if (peers.length === 0) return reply(`${PREFIX}: this node knows no peers.`)
    const lines = peers.map(
      (peer) =>
        `- ${peer.name ?? peer.deviceId} (${peer.role ?? 'unknown role'}): ${peer.state}${peer.capabilities.length > 0 ? `, ${peer.capabilities.length} capabilities` : ''}`,
    )
    return reply(`${PREFIX} — ${peers.length} peer(s):\n${lines.join('\n')}`)
  }

  async #capabilities(tools: PlannerTools): Promise<PlannerReply> {
    const listings = await tools.listCapabilities()
    if (listings.length === 0) return reply(`${PREFIX}: no live node advertises a capability.`)
    const lines = listings.map(
      (listing) =>
        `- ${listing.capability}: ${listing.providers.map((provider) => provider.name ?? provider.deviceId).join(', ')}`,
    )
    return reply(`${PREFIX} — ${listings.length} capabilities:\n${lines.join('\n')}`)
  }

  async #alarms(tools: PlannerTools): Promise<PlannerReply> {
    const latest = await this.#latestReadings(tools, {})
    const alarms = latest.filter(outOfBand)
    if (alarms.length === 0)
      return reply(
        `${PREFIX}: no alarms — all ${latest.length} latest readings are within their thresholds.`,
        latest.slice(0, STATUS_CITES_MAX).map((frame) => frame.frameId),
      )
    return reply(
      `${PREFIX} — ${alarms.length} reading(s) outside their thresholds:\n${alarms.map((frame) => `- ${this.#describe(frame)}`).join('\n')}`,
      alarms.map((frame) => frame.frameId),
    )
  }

  async #actuators(tools: PlannerTools, kind?: ActuatorKind, zone?: string): Promise<PlannerReply> {
    const listings = (await tools.listCapabilities()).filter(
      (listing) =>
        listing.capability.startsWith(`actuator:${kind ?? ''}`) &&
        (zone === undefined || listing.capability.endsWith(`:${zone}`)),
    )
    const what = kind === undefined ? 'actuators' : `${kind}s`
    if (listings.length === 0)
      return reply(`${PREFIX}: no live node offers ${what}${zone === undefined ? '' : ` in ${zone}`}.`)
    const lines: string[] = []
    let open = 0
    for (const listing of listings) {
      try {
        const state = await tools.readSensor(listing.capability)
        const isOpen = state['open'] === true
        if (isOpen) open++
        const until =
          typeof state['until'] === 'number' ? ` until ${new Date(state['until']).toISOString()}` : ''
        lines.push(`- ${listing.capability}: ${isOpen ? `OPEN${until}` : 'closed'}`)
      } catch (error) {
        lines.push(`- ${listing.capability}: state unknown (${(error as Error).message})`)
      }
    }
    return reply(
      `${PREFIX} — ${open} of ${listings.length} ${what} open (read live from the actuators):\n${lines.join('\n')}`,
    )
  }

  async #reading(tools: PlannerTools, metric?: string, zone?: string): Promise<PlannerReply> {
    const latest = (await this.#latestReadings(tools, { metric, zone })).filter(
      (frame) => metric !== undefined || !isActuatorState(frame),
    )
    const where = zone === undefined ? 'any zone' : this.#zoneName(zone)
    const what = metric ?? 'readings'
    if (latest.length === 0) {
      // Nothing in the world model yet: read the sensor itself when one is advertised (L0).
      if (metric !== undefined && zone !== undefined) {
        const capability = `sensor:${metric}:${zone}`
        const offered = (await tools.listCapabilities()).some((listing) => listing.capability === capability)
        if (offered) {
          const read = await tools.readSensor(capability)
          if (typeof read['value'] === 'number')
            return reply(
              `${PREFIX}: ${metric} in ${where} is ${read['value']} ${String(read['unit'] ?? '')} (read live from ${capability}; not yet in the world model).`,
            )
        }
      }
      return reply(`${PREFIX}: I have no ${what} for ${where} in the world model yet.`)
    }
    const lines = latest.map((frame) => `- ${this.#describe(frame)}`)
    const heading =
      latest.length === 1
        ? `${PREFIX}: ${this.#describe(latest[0] as ObservationFrame)}.`
        : `${PREFIX} — latest ${what} for ${where}:\n${lines.join('\n')}`
    return reply(
      `${heading}\n(From the world model; the frames are cited.)`,
      latest.map((frame) => frame.frameId),
    )
  }

  async #actuate(
    tools: PlannerTools,
    intent: Extract<PlannerIntent, { kind: 'actuate' }>,
  ): Promise<PlannerReply> {
    const candidates = (await tools.listCapabilities())
      .map((listing) => listing.capability)
      .filter((capability) => capability.startsWith(`actuator:${intent.actuator}:`))
    const wanted =
      intent.zone === undefined
        ? candidates.length === 1
          ? candidates[0]
          : undefined
        : `actuator:${intent.actuator}:${intent.zone}`
    if (wanted === undefined) {
      return reply(
        candidates.length === 0
          ? `${PREFIX}: no live node offers a ${intent.actuator}; I cannot propose to ${intent.action} one.`
          : `${PREFIX}: which ${intent.actuator}? Name the zone, e.g. "${intent.action} ${intent.actuator} ${candidates[0]?.split(':')[2]}". Known: ${candidates.join(', ')}.`,
      )
    }
    if (!candidates.includes(wanted)) {
      return reply(
        `${PREFIX}: no live node offers ${wanted}.${candidates.length > 0 ? ` Known ${intent.actuator}s: ${candidates.join(', ')}.` : ''}`,
      )
    }
    const actuator = this.#site?.actuators.find((candidate) => candidate.capability === wanted)
    const operation = actuator?.operations.find((candidate) => candidate.name === intent.action)
    if (actuator !== undefined && operation === undefined) {
      return reply(
        `${PREFIX}: ${wanted} offers ${actuator.operations.map((op) => op.name).join(', ')}, not "${intent.action}".`,
      )
    }
    const args: Record<string, number> = {}
    const durationSpec = operation?.args['durationSec']
    const needsDuration =
      operation === undefined
        ? intent.action === 'open' || intent.action === 'start'
        : durationSpec !== undefined
    if (needsDuration) {
      const bounds = `${durationSpec?.min ?? 1}–${durationSpec?.max ?? '?'} s`
      if (intent.durationSec === undefined) {
        const example = [intent.action, intent.actuator, actuator?.zone ?? intent.zone, 'for 5 minutes']
        return reply(
          `${PREFIX}: for how long? Say e.g. "${example.filter((word) => word !== undefined).join(' ')}" (the manifest allows ${bounds}).`,
        )
      }
      if (
        (durationSpec?.min !== undefined && intent.durationSec < durationSpec.min) ||
        (durationSpec?.max !== undefined && intent.durationSec > durationSpec.max)
      ) {
        return reply(
          `${PREFIX}: ${intent.durationSec} s is outside what ${wanted} "${intent.action}" allows (${bounds}); I did not propose it.`,
        )
      }
      args['durationSec'] = intent.durationSec
    }
    const zone = actuator?.zone ?? wanted.split(':')[2]
    const evidence = await this.#evidence(tools, zone, wanted)
    if (evidence.length === 0) {
      return reply(
        `${PREFIX}: I cannot propose to ${intent.action} ${wanted} yet — the world model holds no measured observations of ${zone} to cite, and a proposal needs measured (T1–T3) evidence.`,
      )
    }
    // Never below L2: whatever the built-in planner proposes waits for an operator.
    const level =
      operation === undefined || operation.level === 'L0' || operation.level === 'L1' ? 'L2' : operation.level
    const draft: ProposalDraft = {
      capability: wanted,
      operation: intent.action,
      args,
      level,
      evidence: evidence.map((frame) => frame.frameId),
      reason: `operator asked to ${intent.action} ${wanted}${args['durationSec'] === undefined ? '' : ` for ${args['durationSec']} s`}`,
    }
    let record: ProposalRecordWire
    try {
      record = await tools.createProposal(draft)
    } catch (error) {
      const code = error instanceof ClawMeshError ? `${error.code}: ` : ''
      return reply(
        `${PREFIX}: the safety core refused the proposal to ${intent.action} ${wanted} — ${code}${(error as Error).message}. Nothing will run.`,
        draft.evidence,
      )
    }
    const { proposal } = record
    const waiting =
      record.state === 'awaiting_approval'
        ? `It is awaiting approval: nothing moves until an operator approves it (clawmesh approve ${proposal.id}).`
        : `Its state is ${record.state}.`
    return {
      answer: [
        `${PREFIX}: I proposed to ${intent.action} ${wanted}${args['durationSec'] === undefined ? '' : ` for ${args['durationSec']} s`} — proposal ${proposal.id}, level ${proposal.level}.`,
        waiting,
        `Evidence cited: ${evidence.map((frame) => this.#describe(frame)).join('; ')}.`,
      ].join('\n'),
      inference: `${draft.reason}; evidence: ${evidence.map((frame) => this.#describe(frame)).join('; ')}`,
      citedFrameIds: draft.evidence,
      proposals: [record],
    }
  }

  async #proactive(request: PlannerRequest, tools: PlannerTools): Promise<PlannerReply> {
    // The built-in planner reports threshold crossings and nothing else on its own initiative.
    if (request.proactive?.kind !== 'threshold') return reply('')
    const { frame, bound, limit } = request.proactive
    const { zone, metric, unit } = frame.data
    const capabilities = new Set((await tools.listCapabilities()).map((listing) => listing.capability))
    let suggestion = ''
    if (metric === 'soil-moisture' && zone !== undefined && capabilities.has(`actuator:valve:${zone}`)) {
      suggestion =
        bound === 'low'
          ? ` Suggestion: "open valve ${zone} for 5 minutes".`
          : ` Suggestion: check that valve ${zone} is closed ("which valves are open").`
    } else if (
      metric === 'water-level' &&
      bound === 'low' &&
      [...capabilities].some((c) => c.startsWith('actuator:pump:'))
    ) {
      suggestion = ' Suggestion: "stop pump".'
    }
    return reply(
      `${PREFIX} alert: ${this.#describe(frame)} — ${bound === 'low' ? 'below its low' : 'above its high'} threshold ${limit} ${unit}.${suggestion} I propose nothing on my own; ask and I will create a proposal for an operator to approve.`,
      [frame.frameId],
    )
  }

  /** Latest observation per (origin, zone, metric), newest first. */
  async #latestReadings(
    tools: PlannerTools,
    filter: { metric?: string | undefined; zone?: string | undefined },
  ): Promise<ObservationFrame[]> {
    const { frames } = await tools.queryWorld({
      kind: 'observation',
      limit: READINGS_SCAN_LIMIT,
      ...(filter.metric === undefined ? {} : { metric: filter.metric }),
      ...(filter.zone === undefined ? {} : { zone: filter.zone }),
    })
    const seen = new Set<string>()
    const latest: ObservationFrame[] = []
    for (const frame of frames) {
      if (frame.kind !== 'observation') continue
      const key = `${frame.origin}|${frame.data.zone ?? ''}|${frame.data.sensor ?? frame.data.metric}`
      if (seen.has(key)) continue
      seen.add(key)
      latest.push(frame)
    }
    return latest.sort(
      (a, b) =>
        (a.data.zone ?? '').localeCompare(b.data.zone ?? '') || a.data.metric.localeCompare(b.data.metric),
    )
  }

  /** Measured evidence for acting in a zone: the latest reading of each sensor there, and the
   * actuator's own last reported state. */
  async #evidence(
    tools: PlannerTools,
    zone: string | undefined,
    capability: string,
  ): Promise<ObservationFrame[]> {
    if (zone === undefined) return []
    const latest = (await this.#latestReadings(tools, { zone })).filter((frame) => frame.trust.tier !== 'T0')
    const sensors = latest.filter((frame) => !isActuatorState(frame))
    const own = latest.filter((frame) => isActuatorState(frame) && frame.trust.sources.includes(capability))
    return [...sensors, ...own].slice(0, EVIDENCE_FRAMES_MAX)
  }

  #zoneName(zone: string): string {
    const name = this.#site?.zones.find((candidate) => candidate.id === zone)?.name
    return name === undefined ? zone : `${zone} (${name})`
  }

  #describe(frame: ObservationFrame): string {
    const { zone, metric, value, unit, threshold } = frame.data
    const bounds =
      threshold === undefined
        ? ''
        : ` (${[threshold.low === undefined ? '' : `low ${threshold.low}`, threshold.high === undefined ? '' : `high ${threshold.high}`].filter((part) => part !== '').join(', ')})`
    const flag = outOfBand(frame) ? ' OUT OF BAND' : ''
    return `${zone === undefined ? 'site' : this.#zoneName(zone)} ${metric} ${value} ${unit}${bounds}${flag}, ${age(this.#now(), frame.timestamp)} ago [${frame.originName}]`
  }
}

function reply(answer: string, citedFrameIds: string[] = []): PlannerReply {
  return { answer, citedFrameIds, proposals: [] }
}

function isActuatorState(frame: ObservationFrame): boolean {
  return frame.data.unit === 'state' && /-open$/.test(frame.data.metric)
}

function outOfBand(frame: ObservationFrame): boolean {
  const { value, threshold } = frame.data
  if (frame.data.alarm === true) return true
  if (threshold === undefined) return false
  return (
    (threshold.low !== undefined && value < threshold.low) ||
    (threshold.high !== undefined && value > threshold.high)
  )
}

function helpText(unknown?: string): string {
  const lead =
    unknown === undefined
      ? `${PREFIX} (no language model configured). I understand:`
      : `${PREFIX} (no language model configured): I did not understand "${unknown.slice(0, 80)}". I understand:`
  return [
    lead,
    '- "status" — the world model summary, peers and alarms',
    '- "zones" — the zones and how many readings each has',
    '- "what is the soil moisture in zone-2", "temperature", "zone-3" — latest readings',
    `  (metrics: ${SENSOR_METRICS.join(', ')})`,
    '- "alarms" — readings outside their thresholds',
    '- "which valves are open", "pump" — actuator states, read live',
    '- "peers", "capabilities"',
    '- "open valve zone-2 for 5 minutes", "close valve zone-1", "start pump for 10 minutes", "stop pump"',
    '  — I create a proposal citing the latest observations; an operator must approve it.',
  ].join('\n')
}
