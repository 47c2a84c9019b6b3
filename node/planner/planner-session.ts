/**
 * The planner session: one queue of triggers in front of one backend. Operator input goes first,
 * proactive triggers (threshold crossings, a periodic check) after it, and proactive ones run only
 * while this node leads planning. The session shows what it is doing (`idle | queued | thinking |
 * tool`), bounds every request in time, lets a caller cancel it, and publishes every answer as an
 * `agent_response` frame and its reasoning as a T0 `inference` frame citing the frames it used.
 * It never approves or executes anything: the tools it hands the backend cannot.
 */
import type { Frame, LocalFrameFields } from '../../protocol/context/index.ts'
import { FRAME_TEXT_MAX_CHARS, frameIdSchema } from '../../protocol/context/index.ts'
import { ClawMeshError } from '../../protocol/errors.ts'
import type { PlannerMode, PlannerStatus } from '../../protocol/planner.ts'
import type { PlannerAnswer, ProposalRecordWire } from '../../protocol/rpc/methods.ts'
import type { Counters } from '../../runtime/counters.ts'
import type { EventRing } from '../mesh/event-ring.ts'
import { AlertGate } from './alert-gate.ts'
import type { PlannerBackend, PlannerReply, PlannerTools, ProactiveContext } from './backend.ts'
import {
  PLANNER_ALERT_MAX_AGE_MS,
  PLANNER_INFERENCE_MAX_CITES,
  PLANNER_PROACTIVE_INTERVAL_MS,
  PLANNER_QUEUE_LIMIT,
  PLANNER_REQUEST_TIMEOUT_MS,
} from './constants.ts'
import type { LeaderView } from './leader-view.ts'

/** Tool names as the session shows them in `tool` mode (and as model backends expose them). */
export const PLANNER_TOOL_NAMES = {
  queryWorld: 'query_world',
  listCapabilities: 'list_capabilities',
  listPeers: 'list_peers',
  readSensor: 'read_sensor',
  createProposal: 'create_proposal',
} as const satisfies Record<keyof PlannerTools, string>

/** Time and timers, injectable so tests run the session on a fake clock. */
export interface PlannerClock {
  now(): number
  setTimeout(callback: () => void, ms: number): unknown
  clearTimeout(handle: unknown): void
  setInterval(callback: () => void, ms: number): unknown
  clearInterval(handle: unknown): void
}

export const systemClock: PlannerClock = {
  now: () => Date.now(),
  setTimeout: (callback, ms) => {
    const handle = setTimeout(callback, ms)
    handle.unref()
    return handle
  },
  clearTimeout: (handle) => clearTimeout(handle as ReturnType<typeof setTimeout>),
  setInterval: (callback, ms) => {
    const handle = setInterval(callback, ms)
    handle.unref()
    return handle
  },
  clearInterval: (handle) => clearInterval(handle as ReturnType<typeof setInterval>),
}

/** Someone waits for the answer: its frames skip the publisher's coalescing window (they still go
 * out together, in one batch). */
const ANSWER_PUBLISH = { urgent: true } as const

export interface PlannerSessionInit {
  deviceId: string
  backend: PlannerBackend
  tools: PlannerTools
  leaderView: LeaderView
  /** Publishes a frame of this node (the node's `publish`); `urgent` skips the coalescing window. */
  publish(fields: LocalFrameFields, options?: { urgent?: boolean }): Promise<Frame>
  events: EventRing
  counters: Counters
  log?: (line: string) => void
  clock?: PlannerClock
  requestTimeoutMs?: number
  /** 0 turns the periodic check off. */
  proactiveIntervalMs?: number
  queueLimit?: number
  alertGate?: AlertGate
}

export interface AskOptions {
  operator?: { id: string; name: string }
  /** Aborting removes queued input, or cancels the request while it runs. */
  signal?: AbortSignal
}

interface Trigger {
  readonly trigger: 'operator' | 'proactive'
  readonly text: string
  readonly operator?: { id: string; name: string }
  readonly proactive?: ProactiveContext
  readonly cites: readonly string[]
  readonly signal?: AbortSignal
  resolve(answer: PlannerAnswer): void
}

export class PlannerSession {
  readonly #init: PlannerSessionInit
  readonly #clock: PlannerClock
  readonly #timeoutMs: number
  readonly #queueLimit: number
  readonly #gate: AlertGate
  readonly #operatorQueue: Trigger[] = []
  readonly #proactiveQueue: Trigger[] = []
  #mode: PlannerMode = 'idle'
  #tool: string | undefined
  #running = false
  #current: AbortController | undefined
  #interval: unknown
  #stopped = false

  constructor(init: PlannerSessionInit) {
    this.#init = init
    this.#clock = init.clock ?? systemClock
    this.#timeoutMs = init.requestTimeoutMs ?? PLANNER_REQUEST_TIMEOUT_MS
    this.#queueLimit = init.queueLimit ?? PLANNER_QUEUE_LIMIT
    this.#gate = init.alertGate ?? new AlertGate()
  }

  get backend(): PlannerBackend {
    return this.#init.backend
  }

  start(): void {
    const interval = this.#init.proactiveIntervalMs ?? PLANNER_PROACTIVE_INTERVAL_MS
    if (interval > 0) this.#interval = this.#clock.setInterval(() => this.#periodicCheck(), interval)
  }

  stop(): void {
    this.#stopped = true
    if (this.#interval !== undefined) this.#clock.clearInterval(this.#interval)
    this.#current?.abort(new ClawMeshError('UNAVAILABLE', 'the planner is stopping'))
    for (const item of [...this.#operatorQueue.splice(0), ...this.#proactiveQueue.splice(0)]) {
      item.resolve(this.#failure('the planner stopped before answering', []))
    }
  }

  status(): Pick<PlannerStatus, 'mode' | 'tool' | 'queueDepth' | 'backend' | 'ruleBased'> {
    return {
      mode: this.#mode,
      ...(this.#tool === undefined ? {} : { tool: this.#tool }),
      queueDepth: this.#operatorQueue.length + this.#proactiveQueue.length,
      backend: this.#init.backend.label,
      ruleBased: this.#init.backend.ruleBased,
    }
  }

  /** Operator input. Resolves with the answer (an error answer, never a rejection, once queued);
   * rejects with RATE_LIMITED when the queue is full. */
  ask(text: string, options: AskOptions = {}): Promise<PlannerAnswer> {
    if (this.#stopped) return Promise.reject(new ClawMeshError('UNAVAILABLE', 'the planner is stopping'))
    if (this.#queued() >= this.#queueLimit) {
      this.#init.counters.increment('planner.refused.queue-full')
      this.#init.events.push({
        level: 'warn',
        type: 'planner.refused',
        message: `operator input refused: ${this.#queueLimit} requests already wait for the planner`,
      })
      return Promise.reject(
        new ClawMeshError(
          'RATE_LIMITED',
          `the planner is busy (${this.#queueLimit} requests waiting); ask again in a moment`,
        ),
      )
    }
    return new Promise((resolve) => {
      const item: Trigger = {
        trigger: 'operator',
        text,
        cites: [],
        ...(options.operator === undefined ? {} : { operator: options.operator }),
        ...(options.signal === undefined ? {} : { signal: options.signal }),
        resolve,
      }
      this.#operatorQueue.push(item)
      options.signal?.addEventListener(
        'abort',
        () => {
          const index = this.#operatorQueue.indexOf(item)
          if (index === -1) return
          this.#operatorQueue.splice(index, 1)
          this.#init.counters.increment('planner.cancelled')
          resolve(this.#failure('cancelled before the planner started on it', []))
          this.#refreshMode()
        },
        { once: true },
      )
      this.#schedule()
    })
  }

  /** Cancels the request that is running now (if any); queued input stays queued. */
  cancel(reason = 'cancelled by the operator'): boolean {
    if (this.#current === undefined) return false
    this.#current.abort(new ClawMeshError('TIMEOUT', reason))
    return true
  }

  /** Feeds a newly arrived frame: a threshold crossing the alert gate lets through becomes a
   * proactive trigger, on the leader only. */
  observe(frame: Frame): void {
    if (this.#stopped) return
    // A reading caught up from history (context.sync after a reconnect) is news about the past.
    if (this.#clock.now() - frame.timestamp > PLANNER_ALERT_MAX_AGE_MS) {
      if (frame.kind === 'observation') this.#init.counters.increment('planner.alerts.ignored.stale')
      return
    }
    const decision = this.#gate.observe(frame, this.#clock.now())
    if (decision.decision === 'quiet') {
      if (decision.reason === 'cooldown') this.#init.counters.increment('planner.alerts.suppressed.cooldown')
      return
    }
    if (!this.#init.leaderView.isLeader()) return
    const { frame: observation, bound, limit } = decision.crossing
    const { data } = observation
    const where = data.zone === undefined ? '' : `${data.zone} `
    const text =
      `Threshold crossing: ${where}${data.metric} is ${data.value} ${data.unit}, ` +
      `${bound === 'low' ? 'below its low' : 'above its high'} threshold ${limit} ${data.unit}` +
      `${data.sensor === undefined ? '' : ` (sensor ${data.sensor})`}.`
    this.#enqueueProactive({
      text,
      proactive: { kind: 'threshold', frame: observation, bound, limit },
      cites: [observation.frameId],
    })
  }

  #periodicCheck(): void {
    if (this.#stopped || !this.#init.leaderView.isLeader()) return
    // One pending periodic check is enough; a slow backend must not pile them up.
    if (this.#proactiveQueue.some((item) => item.proactive?.kind === 'periodic')) return
    this.#enqueueProactive({
      text: 'Periodic check: review the current state of the site and report anything that needs attention.',
      proactive: { kind: 'periodic' },
      cites: [],
    })
  }

  #enqueueProactive(fields: Pick<Trigger, 'text' | 'proactive' | 'cites'>): void {
    if (this.#queued() >= this.#queueLimit) {
      this.#init.counters.increment('planner.refused.queue-full.proactive')
      return
    }
    this.#proactiveQueue.push({ trigger: 'proactive', ...fields, resolve: () => {} })
    this.#schedule()
  }

  #queued(): number {
    return this.#operatorQueue.length + this.#proactiveQueue.length
  }

  #schedule(): void {
    this.#refreshMode()
    if (this.#running) return
    queueMicrotask(() => this.#pump())
  }

  #pump(): void {
    if (this.#running || this.#stopped) return
    const next = this.#operatorQueue.shift() ?? this.#proactiveQueue.shift()
    if (next === undefined) {
      this.#refreshMode()
      return
    }
    this.#running = true
    void this.#run(next)
      .then((answer) => next.resolve(answer))
      .catch((error: Error) => next.resolve(this.#failure(error.message, [])))
      .finally(() => {
        this.#running = false
        this.#setMode(this.#queued() > 0 ? 'queued' : 'idle')
        if (this.#queued() > 0) queueMicrotask(() => this.#pump())
      })
  }

  #refreshMode(): void {
    if (this.#running) return
    this.#setMode(this.#queued() > 0 ? 'queued' : 'idle')
  }

  #setMode(mode: PlannerMode, tool?: string): void {
    if (mode === this.#mode && tool === this.#tool) return
    const previous = this.#mode
    this.#mode = mode
    this.#tool = tool
    // The ring is shared with security events: announce a request starting, each tool and the
    // return to idle, not the steps in between (status() always has the exact mode).
    const between = (mode === 'thinking' && previous === 'tool') || (mode === 'queued' && previous === 'idle')
    if (between) return
    this.#init.events.push({
      level: 'info',
      type: 'planner.mode',
      message: `planner ${mode}${tool === undefined ? '' : ` (${tool})`}, ${this.#queued()} queued`,
    })
  }

  async #run(item: Trigger): Promise<PlannerAnswer> {
    const { backend } = this.#init
    if (item.trigger === 'proactive' && !this.#init.leaderView.isLeader()) {
      this.#init.counters.increment('planner.proactive.skipped.not-leader')
      return this.#failure('skipped: this node no longer leads planning', [])
    }
    if (item.signal?.aborted === true) return this.#failure('cancelled before the planner started on it', [])
    const controller = new AbortController()
    this.#current = controller
    const timer = this.#clock.setTimeout(
      () =>
        controller.abort(
          new ClawMeshError('TIMEOUT', `no answer within ${Math.round(this.#timeoutMs / 1_000)} s`),
        ),
      this.#timeoutMs,
    )
    const onCallerAbort = () => controller.abort(new ClawMeshError('TIMEOUT', 'cancelled by the caller'))
    item.signal?.addEventListener('abort', onCallerAbort, { once: true })
    this.#setMode('thinking')
    const created: ProposalRecordWire[] = []
    // The operator's input goes out while the backend already works on it.
    const inputFrame =
      item.trigger === 'operator' ? this.#publishInput(item.text, item.operator) : Promise.resolve(undefined)
    let reply: PlannerReply
    try {
      if (controller.signal.aborted) throw controller.signal.reason
      reply = await raceAbort(
        backend.respond(
          {
            text: item.text,
            trigger: item.trigger,
            ...(item.operator === undefined ? {} : { operator: item.operator }),
            ...(item.proactive === undefined ? {} : { proactive: item.proactive }),
            signal: controller.signal,
            onToolStart: (name) => this.#toolStarted(controller, name),
            onToolEnd: () => this.#toolEnded(controller),
          },
          this.#guardedTools(controller, created),
        ),
        controller.signal,
      )
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error)
      this.#init.counters.increment(
        controller.signal.aborted ? 'planner.requests.timed-out' : 'planner.requests.failed',
      )
      this.#init.log?.(`planner (${backend.label}) failed: ${message}`)
      reply = {
        answer: '',
        citedFrameIds: [],
        proposals: created,
        error: message,
      }
    } finally {
      this.#clock.clearTimeout(timer)
      item.signal?.removeEventListener('abort', onCallerAbort)
      if (this.#current === controller) this.#current = undefined
    }
    return this.#deliver(item, reply, created, await inputFrame)
  }

  async #deliver(
    item: Trigger,
    reply: PlannerReply,
    created: readonly ProposalRecordWire[],
    replyTo: string | undefined,
  ): Promise<PlannerAnswer> {
    const { backend } = this.#init
    const proposals = mergeProposals(reply.proposals, created)
    // A backend that failed but explained it (the Pi backend words provider errors and timeouts for
    // the operator, proposals included) is quoted as is; a bare error gets the session's wording.
    const answer =
      reply.error === undefined || reply.answer.trim() !== ''
        ? reply.answer
        : describeFailure(backend.label, reply.error, proposals)
    if (item.trigger === 'proactive' && answer.trim() === '') {
      return { ...this.#base(), answer: '', proposals: [] }
    }
    const cites = [
      ...new Set([
        ...item.cites,
        ...reply.citedFrameIds,
        ...proposals.flatMap((record) => record.proposal.evidence.map((ref) => ref.frameId)),
      ]),
    ]
      .filter((id) => frameIdSchema.safeParse(id).success)
      .slice(0, PLANNER_INFERENCE_MAX_CITES)
    const trust = { tier: 'T0' as const, sources: [`planner:${backend.label}`.slice(0, 128)] }
    const published = await Promise.all([
      reply.error === undefined && (cites.length > 0 || proposals.length > 0)
        ? this.#tryPublish(
            { kind: 'inference', data: { text: clip(reply.inference ?? answer), cites }, trust },
            ANSWER_PUBLISH,
          )
        : undefined,
      this.#tryPublish(
        {
          kind: 'agent_response',
          data: {
            text: clip(answer),
            ...(replyTo === undefined ? {} : { replyTo }),
            ...(reply.error === undefined ? {} : { error: true }),
          },
          trust,
        },
        ANSWER_PUBLISH,
      ),
    ])
    const responseFrameId = published[1]?.frameId
    const summary = answer.replace(/\s+/g, ' ').slice(0, 200)
    if (item.trigger === 'proactive' && item.proactive?.kind === 'threshold') {
      this.#init.counters.increment('planner.alerts.raised')
      this.#init.events.push({ level: 'warn', type: 'planner.alert', message: summary })
    } else {
      this.#init.events.push({
        level: reply.error === undefined ? 'info' : 'error',
        type: 'planner.answer',
        message: `${item.trigger === 'operator' ? `"${item.text.slice(0, 60)}" → ` : ''}${summary}`,
      })
    }
    return {
      ...this.#base(),
      answer,
      proposals,
      ...(responseFrameId === undefined ? {} : { responseFrameId }),
      ...(reply.error === undefined ? {} : { error: reply.error }),
    }
  }

  #base(): Pick<PlannerAnswer, 'planner' | 'ruleBased' | 'answeredBy'> {
    return {
      planner: this.#init.backend.label,
      ruleBased: this.#init.backend.ruleBased,
      answeredBy: this.#init.deviceId,
    }
  }

  #failure(reason: string, proposals: ProposalRecordWire[]): PlannerAnswer {
    return {
      ...this.#base(),
      answer: describeFailure(this.#init.backend.label, reason, proposals),
      proposals,
      error: reason,
    }
  }

  async #publishInput(text: string, operator: AskOptions['operator']): Promise<string | undefined> {
    // Operator input is a request, not a measurement: T0, so it can never back an actuation.
    const frame = await this.#tryPublish(
      {
        kind: 'human_input',
        data: {
          text: clip(text),
          ...(operator === undefined ? {} : { operatorId: operator.id.slice(0, 128) }),
        },
        trust: { tier: 'T0', sources: ['operator-input'] },
      },
      ANSWER_PUBLISH,
    )
    return frame?.frameId
  }

  async #tryPublish(fields: LocalFrameFields, options?: { urgent?: boolean }): Promise<Frame | undefined> {
    try {
      return await this.#init.publish(fields, options)
    } catch (error) {
      this.#init.counters.increment('planner.publish.failed')
      this.#init.log?.(`planner could not publish its ${fields.kind} frame: ${(error as Error).message}`)
      return undefined
    }
  }

  #toolStarted(controller: AbortController, name: string): void {
    if (this.#current === controller) this.#setMode('tool', name)
  }

  #toolEnded(controller: AbortController): void {
    if (this.#current === controller) this.#setMode('thinking')
  }

  /** The tools as the backend sees them: each call shows `tool` mode, and once the request was
   * cancelled or timed out every call is refused, so an abandoned request cannot still propose. */
  #guardedTools(controller: AbortController, created: ProposalRecordWire[]): PlannerTools {
    const tools = this.#init.tools
    const guard = async <T>(name: string, call: () => Promise<T>): Promise<T> => {
      if (controller.signal.aborted) throw controller.signal.reason
      this.#toolStarted(controller, name)
      try {
        return await call()
      } finally {
        this.#toolEnded(controller)
      }
    }
    return {
      queryWorld: (params) => guard(PLANNER_TOOL_NAMES.queryWorld, () => tools.queryWorld(params)),
      listCapabilities: () => guard(PLANNER_TOOL_NAMES.listCapabilities, () => tools.listCapabilities()),
      listPeers: () => guard(PLANNER_TOOL_NAMES.listPeers, () => tools.listPeers()),
      readSensor: (capability, args) =>
        guard(PLANNER_TOOL_NAMES.readSensor, () => tools.readSensor(capability, args)),
      createProposal: (draft) =>
        guard(PLANNER_TOOL_NAMES.createProposal, async () => {
          const record = await tools.createProposal(draft)
          created.push(record)
          return record
        }),
    }
  }
}

function raceAbort<T>(work: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) return Promise.reject(signal.reason)
  return new Promise((resolve, reject) => {
    const onAbort = () => reject(signal.reason)
    signal.addEventListener('abort', onAbort, { once: true })
    work.then(
      (value) => {
        signal.removeEventListener('abort', onAbort)
        resolve(value)
      },
      (error: unknown) => {
        signal.removeEventListener('abort', onAbort)
        reject(error)
      },
    )
  })
}

function describeFailure(label: string, reason: string, proposals: readonly ProposalRecordWire[]): string {
  const created =
    proposals.length === 0
      ? 'Nothing was proposed or executed.'
      : `Before it failed it created ${proposals.length} proposal(s), which await approval like any other; nothing was executed.`
  return `The planner (${label}) could not answer: ${reason}. ${created}`
}

function mergeProposals(
  reported: readonly ProposalRecordWire[],
  created: readonly ProposalRecordWire[],
): ProposalRecordWire[] {
  const byHash = new Map<string, ProposalRecordWire>()
  for (const record of [...created, ...reported]) byHash.set(record.hash, record)
  return [...byHash.values()]
}

function clip(text: string): string {
  return text.length <= FRAME_TEXT_MAX_CHARS ? text : `${text.slice(0, FRAME_TEXT_MAX_CHARS - 1)}…`
}
