/**
 * The Pi planner backend: one operator input (or proactive trigger) becomes one run of
 * pi-agent-core's agent loop over a pi-ai model, with the five mesh tools of `mesh-tools.ts`.
 * Answer text streams to `onToken`; tool calls show through `onToolStart`/`onToolEnd`. Whatever
 * happens — provider error, timeout, cancellation, a model that loops — `respond` returns a
 * PlannerReply (with `error` set and an answer that says what went wrong) and never throws, and
 * no provider key appears in it.
 */
import { type AgentEvent, type AgentMessage, runAgentLoop } from '@mariozechner/pi-agent-core'
import type { Api, AssistantMessage, Message, Model } from '@mariozechner/pi-ai'
import { FRAME_CITES_MAX } from '../../../protocol/context/constants.ts'
import { redactSecrets } from '../../credentials/redact.ts'
import type { PlannerBackend, PlannerReply, PlannerRequest, PlannerTools } from '../backend.ts'
import {
  PI_ANSWER_MAX_CHARS,
  PI_DEFAULT_TIMEOUT_MS,
  PI_MAX_OUTPUT_TOKENS,
  PI_MAX_TIMEOUT_MS,
  PI_MAX_TOOL_CALLS,
  PI_MAX_TURNS,
  PI_MIN_TIMEOUT_MS,
  PI_PROVIDER_MAX_RETRIES,
} from './constants.ts'
import { buildMeshTools, createToolLedger, type ToolLedger } from './mesh-tools.ts'
import { LOCAL_PROVIDER } from './pi-config.ts'
import { PiModelConfigError, resolvePiModel } from './pi-model.ts'
import { PI_SYSTEM_PROMPT, plannerUserMessage } from './system-prompt.ts'

/** Local servers started without `--api-key` ignore the header, but the OpenAI client insists on
 * sending one. */
export const LOCAL_PLACEHOLDER_API_KEY = 'clawmesh-local-no-key'

/** Closed set of failure codes; `PlannerReply.error` is `<code>: <detail>`. */
export const PI_ERROR_CODES = {
  provider_error: 'the model provider failed or refused the request',
  timeout: 'no complete answer within the planner timeout',
  cancelled: 'the request was cancelled before the answer was complete',
  turn_limit: 'the model was still calling tools after the turn limit',
  internal: 'the backend failed unexpectedly',
} as const
export type PiErrorCode = keyof typeof PI_ERROR_CODES

/** Counter names (mesh.health) for what this backend refuses or fails at. */
export const PI_COUNTERS = {
  providerErrors: 'planner.pi.provider_errors',
  timeouts: 'planner.pi.timeouts',
  toolErrors: 'planner.pi.tool_errors',
  toolCallsRefused: 'planner.pi.tool_calls_refused',
  turnLimits: 'planner.pi.turn_limits',
} as const

export interface CounterSink {
  increment(name: string): void
}

export interface PiBackendOptions {
  /** `provider/model` (e.g. `anthropic/claude-sonnet-4-5`, `local/qwen2.5-7b`), or a pi-ai model
   * object (tests use pi's faux provider this way). */
  model: string | Model<Api>
  /** OpenAI-compatible server for `local/NAME`, or a proxy for a built-in provider. */
  baseUrl?: string
  /** Provider key; when absent pi reads the provider's environment variable. */
  apiKey?: string
  /** Whole-answer budget; PI_DEFAULT_TIMEOUT_MS when absent. */
  timeoutMs?: number
  /** Further values to scrub from replies (e.g. every stored credential). */
  secrets?: readonly string[]
  counters?: CounterSink
}

export function createPiBackend(options: PiBackendOptions): PlannerBackend {
  const model =
    typeof options.model === 'string' ? resolvePiModel(options.model, options.baseUrl) : options.model
  const timeoutMs = options.timeoutMs ?? PI_DEFAULT_TIMEOUT_MS
  if (!Number.isInteger(timeoutMs) || timeoutMs < PI_MIN_TIMEOUT_MS || timeoutMs > PI_MAX_TIMEOUT_MS) {
    throw new PiModelConfigError(
      `the planner timeout is ${PI_MIN_TIMEOUT_MS}–${PI_MAX_TIMEOUT_MS} ms, not ${options.timeoutMs}`,
    )
  }
  const apiKey = options.apiKey ?? (model.provider === LOCAL_PROVIDER ? LOCAL_PLACEHOLDER_API_KEY : undefined)
  const run: PiRun = {
    model,
    label: `pi:${model.provider}/${model.id}`,
    timeoutMs,
    apiKey,
    secrets: [...(apiKey === undefined ? [] : [apiKey]), ...(options.secrets ?? [])],
    counters: options.counters,
  }
  return {
    label: run.label,
    ruleBased: false,
    respond: (request, tools) => respond(run, request, tools),
  }
}

interface PiRun {
  model: Model<Api>
  label: string
  timeoutMs: number
  apiKey: string | undefined
  secrets: string[]
  counters: CounterSink | undefined
}

async function respond(run: PiRun, request: PlannerRequest, tools: PlannerTools): Promise<PlannerReply> {
  const ledger = createToolLedger()
  const timeout = new AbortController()
  const timer = setTimeout(() => timeout.abort(), run.timeoutMs)
  const signal = AbortSignal.any([request.signal, timeout.signal])
  // Once respond has returned, a loop still unwinding after an abort must not reach the session.
  let open = true
  let answer = ''
  let turns = 0
  let toolCalls = 0
  let stoppedAtTurnLimit = false
  let lastAssistant: AssistantMessage | undefined

  const callSafely = (callback: (() => void) | undefined) => {
    if (!open || callback === undefined) return
    try {
      callback()
    } catch {
      // A failing UI callback must not break the answer.
    }
  }
  const emit = (event: AgentEvent): void => {
    if (!open) return
    switch (event.type) {
      case 'turn_start':
        turns++
        return
      case 'message_update': {
        const update = event.assistantMessageEvent
        if (update.type === 'text_start' && answer.length > 0) {
          // Text from an earlier turn (before a tool call) and this turn's text are two paragraphs.
          answer += '\n\n'
          callSafely(() => request.onToken?.('\n\n'))
        } else if (update.type === 'text_delta') {
          answer += update.delta
          callSafely(() => request.onToken?.(update.delta))
        }
        return
      }
      case 'message_end':
        if (event.message.role === 'assistant') lastAssistant = event.message
        return
      case 'tool_execution_start':
        callSafely(() => request.onToolStart(event.toolName))
        return
      case 'tool_execution_end':
        if (event.isError) run.counters?.increment(PI_COUNTERS.toolErrors)
        callSafely(() => request.onToolEnd(event.toolName))
        return
    }
  }

  const userMessage: AgentMessage = {
    role: 'user',
    content: plannerUserMessage(request, Date.now()),
    timestamp: Date.now(),
  }
  const loop = runAgentLoop(
    [userMessage],
    {
      systemPrompt: PI_SYSTEM_PROMPT,
      messages: [],
      tools: buildMeshTools(abortable(tools, signal), ledger),
    },
    {
      model: run.model,
      apiKey: run.apiKey,
      timeoutMs: run.timeoutMs,
      maxRetries: PI_PROVIDER_MAX_RETRIES,
      maxTokens: Math.min(run.model.maxTokens, PI_MAX_OUTPUT_TOKENS),
      convertToLlm: (messages) => messages as Message[],
      toolExecution: 'sequential',
      beforeToolCall: async () => {
        toolCalls++
        if (toolCalls <= PI_MAX_TOOL_CALLS) return undefined
        run.counters?.increment(PI_COUNTERS.toolCallsRefused)
        return {
          block: true,
          reason: `tool call limit (${PI_MAX_TOOL_CALLS}) reached: answer with what you have`,
        }
      },
      shouldStopAfterTurn: ({ message, toolResults }) => {
        if (turns < PI_MAX_TURNS) return false
        stoppedAtTurnLimit =
          toolResults.length > 0 || message.content.some((block) => block.type === 'toolCall')
        return true
      },
    },
    emit,
    signal,
  ).then(
    () => ({ ok: true as const }),
    (error: unknown) => ({ ok: false as const, error }),
  )
  const aborted = new Promise<{ ok: false; error: 'aborted' }>((resolve) => {
    if (signal.aborted) resolve({ ok: false, error: 'aborted' })
    signal.addEventListener('abort', () => resolve({ ok: false, error: 'aborted' }), { once: true })
  })
  const outcome = await Promise.race([loop, aborted])
  open = false
  clearTimeout(timer)

  const reply = (text: string, error?: { code: PiErrorCode; detail: string }): PlannerReply => {
    const result: PlannerReply = {
      answer: bound(redactSecrets(text, run.secrets)),
      citedFrameIds: citedFrames(ledger),
      proposals: ledger.proposals,
    }
    if (error !== undefined) result.error = redactSecrets(`${error.code}: ${error.detail}`, run.secrets)
    return result
  }
  const proposalNote =
    ledger.proposals.length === 0
      ? 'Nothing was proposed.'
      : `${ledger.proposals.length} proposal(s) were created before it stopped and await approval.`

  if (request.signal.aborted) {
    return reply(`The request was cancelled before ${run.label} finished. ${proposalNote}`, {
      code: 'cancelled',
      detail: 'cancelled by the planner session',
    })
  }
  if (timeout.signal.aborted) {
    run.counters?.increment(PI_COUNTERS.timeouts)
    const seconds = Math.round(run.timeoutMs / 1000)
    return reply(
      `The planner model ${run.label} did not answer within ${seconds} s. ${proposalNote} Try again, or check that the model server is reachable.`,
      { code: 'timeout', detail: `no complete answer within ${run.timeoutMs} ms` },
    )
  }
  const failure = !outcome.ok
    ? errorText(outcome.error)
    : lastAssistant?.stopReason === 'error' || lastAssistant?.stopReason === 'aborted'
      ? (lastAssistant.errorMessage ?? 'the provider reported an error without details')
      : undefined
  if (failure !== undefined) {
    run.counters?.increment(PI_COUNTERS.providerErrors)
    const detail = oneLine(failure)
    return reply(
      `The planner model ${run.label} failed: ${detail}. ${proposalNote}${authHint(detail, run.model.provider)}`,
      { code: 'provider_error', detail },
    )
  }
  if (stoppedAtTurnLimit) {
    run.counters?.increment(PI_COUNTERS.turnLimits)
    const partial = answer.trim()
    return reply(
      `${partial.length > 0 ? `${partial}\n\n` : ''}(The model was still gathering data after ${PI_MAX_TURNS} steps and was stopped. ${proposalNote})`,
      { code: 'turn_limit', detail: `still calling tools after ${PI_MAX_TURNS} turns` },
    )
  }
  const text = answer.trim()
  return reply(text.length > 0 ? text : `(${run.label} returned no text.) ${proposalNote}`)
}

/** Frames the reply cites: proposal evidence first, then what the model read, capped at what an
 * inference frame may carry. */
function citedFrames(ledger: ToolLedger): string[] {
  return [...new Set([...ledger.evidenceFrameIds, ...ledger.seenFrameIds])].slice(0, FRAME_CITES_MAX)
}

function bound(text: string): string {
  return text.length <= PI_ANSWER_MAX_CHARS ? text : `${text.slice(0, PI_ANSWER_MAX_CHARS - 1)}…`
}

function errorText(error: unknown): string {
  if (error instanceof Error) return error.message
  return typeof error === 'string' ? error : 'unknown failure'
}

/** Provider errors carry multi-line bodies; the operator gets the first line, bounded. */
const ERROR_DETAIL_MAX_CHARS = 300

function oneLine(text: string): string {
  const first = text.split('\n').find((line) => line.trim().length > 0) ?? text
  return first.length <= ERROR_DETAIL_MAX_CHARS ? first.trim() : `${first.slice(0, ERROR_DETAIL_MAX_CHARS)}…`
}

function authHint(detail: string, provider: string): string {
  if (!/\b(401|403)\b|api key|unauthori[sz]ed|authentication|permission/i.test(detail)) return ''
  return ` Check the key: \`clawmesh credential set ${provider}/api-key\` (or the provider's environment variable), then restart the node.`
}

/** The PlannerTools a run uses: every call gives up when the run is aborted, so a stuck tool
 * (a sensor that never answers) cannot outlive the timeout. */
function abortable(tools: PlannerTools, signal: AbortSignal): PlannerTools {
  const race = <T>(promise: Promise<T>): Promise<T> =>
    new Promise<T>((resolve, reject) => {
      if (signal.aborted) return reject(new Error('the planner run was aborted'))
      const onAbort = () => reject(new Error('the planner run was aborted'))
      signal.addEventListener('abort', onAbort, { once: true })
      promise.then(resolve, reject).finally(() => signal.removeEventListener('abort', onAbort))
    })
  return {
    queryWorld: (params) => race(tools.queryWorld(params)),
    listCapabilities: () => race(tools.listCapabilities()),
    listPeers: () => race(tools.listPeers()),
    readSensor: (capability, args) => race(tools.readSensor(capability, args)),
    createProposal: (draft) => race(tools.createProposal(draft)),
  }
}
