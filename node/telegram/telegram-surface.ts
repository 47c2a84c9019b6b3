/**
 * The Telegram surface of a command center (`--telegram`): a grammY bot that long-polls the Bot API
 * and gives paired operators status, world, proposals, alerts, the planner, and approve / reject —
 * by command or by the inline buttons on the proposals it pushes. An approval is signed with the key
 * this command center holds for that person (telegram-operators.ts, certificate naming the channel)
 * and goes through `safety.decide` like the console's: the policy, the dispatcher and the actuator's
 * own checks decide, never a model. What a Telegram approval proves: docs/safety.md.
 *
 * Every update passes the gate first: listed chat, a real user, not forwarded, not edited, within
 * the user's rate budget; everything refused is counted (`telegram.refused.<reason>`) and visible.
 */
import { Bot, type Context, GrammyError, InlineKeyboard } from 'grammy'
import type { Update } from 'grammy/types'
import { ClawMeshError } from '../../protocol/errors.ts'
import { BoundedLru } from '../../protocol/lru.ts'
import type { PlannerAnswer } from '../../protocol/rpc/methods.ts'
import {
  type ApprovalLevel,
  describeEstopScope,
  type EstopScope,
  estopScopeSchema,
  isCollectingProposalState,
  signApproval,
  signEstopOrder,
} from '../../protocol/safety/index.ts'
import type { Counters } from '../../runtime/counters.ts'
import { PeerLimiter } from '../../runtime/rpc/peer-limiter.ts'
import type { RpcHandlers } from '../../runtime/rpc/rpc-server.ts'
import { redactSecrets } from '../credentials/redact.ts'
import type { RefusalWindow } from '../health/refusal-window.ts'
import type { EventRing } from '../mesh/event-ring.ts'
import type { PairingWindow } from '../safety/pairing.ts'
import type { StoredProposal } from '../safety/proposal-store.ts'
import type { SafetyRuntime } from '../safety/safety-runtime.ts'
import type { NodeSurface } from '../surface.ts'
import {
  DEFAULT_TELEGRAM_PAIRING_TTL_MS,
  TELEGRAM_ALERT_WINDOW_MS,
  TELEGRAM_ALERTS_PER_MINUTE,
  TELEGRAM_ASK_MAX_CHARS,
  TELEGRAM_BACKOFF_INITIAL_MS,
  TELEGRAM_BACKOFF_MAX_MS,
  TELEGRAM_ESTOP_CONFIRM_TTL_MS,
  TELEGRAM_ESTOP_PENDING_MAX,
  TELEGRAM_LIST_MAX,
  TELEGRAM_MESSAGE_MAX_CHARS,
  TELEGRAM_POLL_LIMIT,
  TELEGRAM_POLL_TIMEOUT_SEC,
  TELEGRAM_PUSHED_PROPOSALS_MAX,
  TELEGRAM_REASON_MAX_CHARS,
  TELEGRAM_REQUEST_TIMEOUT_SEC,
  TELEGRAM_USER_BURST,
  TELEGRAM_USER_PER_MINUTE,
} from './constants.ts'
import { describeProposal, HELP_TEXT, outcomeLine } from './format.ts'
import type { TelegramSettings } from './settings.ts'
import { type TelegramOperator, TelegramOperators } from './telegram-operators.ts'

/** Why an update was refused; each is a counter `telegram.refused.<reason>`. */
export type TelegramRefusal =
  | 'chat-not-allowed'
  | 'no-user'
  | 'forwarded'
  | 'edited'
  | 'rate-limited'
  | 'unpaired'
  | 'pairing-failed'
  | 'approvals-off'
  | 'approval-level-limit'
  | 'viewer-cannot-approve'
  | 'unknown-command'
  | 'estop-confirmation-expired'

/** grammY types its signals with the abort-controller polyfill's class; Node's own is the same at
 * run time (grammY passes it straight to fetch). */
type GrammySignal = Parameters<Bot['init']>[0]

const LEVEL_RANK: Readonly<Record<ApprovalLevel, number>> = { L0: 0, L1: 1, L2: 2, L3: 3 }
const BUTTON_DATA = /^(approve|reject):(\S{1,60})$/
const ESTOP_BUTTON = /^estop:(go|cancel)$/
/** Commands whose refusal goes on the evidence trail: an attempted decision or stop. */
const SAFETY_COMMAND = /^\/(approve|reject|estop)\b/

/** A `/estop` waiting for its confirmation tap, by chat and message. */
interface PendingEstop {
  readonly scope: EstopScope
  readonly requestedBy: number
  readonly at: number
}

export interface TelegramSurfaceInit {
  readonly settings: TelegramSettings
  /** The bot token (credential store `channel/telegram` or TELEGRAM_BOT_TOKEN); never logged. */
  readonly token: string
  /** This command center: the approval arrives "forwarded" by it, observed over the WAN. */
  readonly deviceId: string
  readonly operators: TelegramOperators
  /** The one-time codes of `telegram.pair.open` (its own window: it admits no libp2p key). */
  readonly pairing: PairingWindow
  readonly safety: Pick<
    SafetyRuntime,
    | 'get'
    | 'list'
    | 'decide'
    | 'issueOperatorCertificate'
    | 'proposals'
    | 'evidence'
    | 'estop'
    | 'requestEstopClear'
  >
  readonly statusText: () => string
  readonly worldText: (zone: string | undefined) => string
  readonly ask: (text: string, operator: { id: string; name: string }) => Promise<PlannerAnswer>
  readonly events: EventRing
  readonly counters: Counters
  readonly refusals: RefusalWindow
  readonly log: (line: string) => void
  readonly now?: () => number
}

export class TelegramSurface implements NodeSurface {
  readonly name = 'telegram'
  readonly #init: TelegramSurfaceInit
  readonly #bot: Bot
  readonly #now: () => number
  readonly #limiter: PeerLimiter
  readonly #pushed = new BoundedLru<string, Array<{ chatId: number; messageId: number }>>(
    TELEGRAM_PUSHED_PROPOSALS_MAX,
  )
  /** Decisions being signed and sent, per operator and proposal: a double tap is answered, not sent. */
  readonly #deciding = new Set<string>()
  /** `/estop` confirmations not yet tapped; a tap takes its entry, so a double tap stops once. */
  readonly #pendingEstops = new Map<string, PendingEstop>()
  readonly #alertTimes: number[] = []
  #abort = new AbortController()
  #polling: Promise<void> | undefined
  #offset = 0
  #unsubscribe: Array<() => void> = []

  constructor(init: TelegramSurfaceInit) {
    this.#init = init
    this.#now = init.now ?? Date.now
    this.#limiter = new PeerLimiter({
      ratePerSecond: (init.settings.userPerMinute ?? TELEGRAM_USER_PER_MINUTE) / 60,
      burst: init.settings.userBurst ?? TELEGRAM_USER_BURST,
      maxConcurrent: Number.MAX_SAFE_INTEGER,
      now: this.#now,
    })
    this.#bot = new Bot(init.token, {
      client: {
        ...(init.settings.apiRoot === undefined ? {} : { apiRoot: init.settings.apiRoot }),
        timeoutSeconds: TELEGRAM_REQUEST_TIMEOUT_SEC,
      },
    })
    this.#bot.on('edited_message', (ctx) => this.#refuse(ctx, 'edited'))
    this.#bot.use((ctx, next) => this.#gate(ctx, next))
    this.#bot.command(['help', 'start'], (ctx) => this.#reply(ctx, HELP_TEXT))
    this.#bot.command('pair', (ctx) => this.#pair(ctx))
    this.#bot.use((ctx, next) =>
      this.#operatorOf(ctx) === undefined ? this.#refuse(ctx, 'unpaired') : next(),
    )
    this.#bot.command('status', (ctx) => this.#reply(ctx, init.statusText()))
    this.#bot.command('world', (ctx) => this.#reply(ctx, init.worldText(ctx.match.trim() || undefined)))
    this.#bot.command('proposals', (ctx) => this.#reply(ctx, this.#proposalsText()))
    this.#bot.command('alerts', (ctx) => this.#reply(ctx, this.#alertsText()))
    this.#bot.command(['approve', 'reject'], (ctx) => this.#decideCommand(ctx))
    this.#bot.command('ask', (ctx) => this.#ask(ctx))
    this.#bot.command('estop', (ctx) => this.#estop(ctx))
    this.#bot.on('callback_query:data', (ctx) => this.#button(ctx))
    this.#bot.on('message', (ctx) => this.#refuse(ctx, 'unknown-command', `Unknown command.\n\n${HELP_TEXT}`))
  }

  handlers(): Partial<RpcHandlers> {
    return {
      'telegram.pair.open': (params) => {
        const opened = this.#init.pairing.open({
          kind: 'operator',
          operatorName: params.operatorName,
          roles: params.roles ?? ['operator'],
          ttlMs: params.ttlMs ?? DEFAULT_TELEGRAM_PAIRING_TTL_MS,
          ...(params.certificateTtlMs === undefined ? {} : { certificateTtlMs: params.certificateTtlMs }),
        })
        this.#init.events.push({
          level: 'info',
          type: 'telegram.pairing.opened',
          message: `Telegram pairing code for ${params.operatorName} open until ${new Date(opened.expiresAt).toISOString()}`,
        })
        return opened
      },
    }
  }

  start(): void {
    this.#abort = new AbortController()
    const { safety, events } = this.#init
    this.#unsubscribe = [
      safety.proposals.onChange((change) => {
        if (change.kind !== 'transition') return
        if (change.record.state === 'awaiting_approval') void this.#pushProposal(change.record)
        else if (change.resolved) void this.#editOutcome(change.record)
      }),
      events.subscribe((event) => {
        if (event.type === 'planner.alert') void this.#pushAlert(event.message)
      }),
    ]
    this.#polling = this.#poll(this.#abort.signal)
    this.#init.log(
      `Telegram bot on: answering ${this.#init.settings.chats.length} chat(s), ${this.#init.operators.list().length} paired operator(s), approvals up to ${this.#init.settings.maxApprovalLevel}`,
    )
  }

  async stop(): Promise<void> {
    for (const unsubscribe of this.#unsubscribe) unsubscribe()
    this.#abort.abort()
    await this.#polling
  }

  /** Long polling with backoff: an outage or a refused token never stops the node, it is counted
   * (`telegram.poll.failed`), logged once per outage and retried at most every minute. */
  async #poll(signal: AbortSignal): Promise<void> {
    let delay = TELEGRAM_BACKOFF_INITIAL_MS
    let failing = false
    while (!signal.aborted) {
      try {
        const grammySignal = signal as unknown as GrammySignal
        if (!this.#bot.isInited()) await this.#bot.init(grammySignal)
        const updates = await this.#bot.api.getUpdates(
          { offset: this.#offset, limit: TELEGRAM_POLL_LIMIT, timeout: TELEGRAM_POLL_TIMEOUT_SEC },
          grammySignal,
        )
        if (failing) this.#init.log('Telegram Bot API reachable again')
        failing = false
        delay = TELEGRAM_BACKOFF_INITIAL_MS
        for (const update of updates) {
          this.#offset = update.update_id + 1
          await this.#handle(update)
        }
      } catch (error) {
        if (signal.aborted) break
        this.#init.counters.increment('telegram.poll.failed')
        if (!failing)
          this.#init.log(`Telegram Bot API unreachable (${this.#describe(error)}); retrying with backoff`)
        failing = true
        await sleep(delay, signal)
        delay = Math.min(delay * 2, TELEGRAM_BACKOFF_MAX_MS)
      }
    }
  }

  async #handle(update: Update): Promise<void> {
    this.#init.counters.increment('telegram.updates')
    try {
      await this.#bot.handleUpdate(update)
    } catch (error) {
      this.#init.counters.increment('telegram.update.failed')
      this.#init.log(`Telegram update ${update.update_id} failed: ${this.#describe(error)}`)
    }
  }

  /** Listed chat, a person, not forwarded, within their rate budget. */
  async #gate(ctx: Context, next: () => Promise<void>): Promise<void> {
    const chatId = ctx.chat?.id
    if (chatId === undefined || !this.#init.settings.chats.includes(chatId)) {
      // No answer to a chat that is not ours: the bot does not talk to strangers.
      return this.#refuse(ctx, 'chat-not-allowed', undefined, { silent: true })
    }
    const from = ctx.from
    if (from === undefined || from.is_bot || ctx.message?.sender_chat !== undefined)
      return this.#refuse(ctx, 'no-user')
    const message = ctx.message
    if (
      message !== undefined &&
      (message.forward_origin !== undefined || message.is_automatic_forward === true)
    )
      return this.#refuse(ctx, 'forwarded', 'Forwarded commands are refused: type the command yourself.')
    const admitted = this.#limiter.admit(String(from.id))
    if (!admitted.admitted) return this.#refuse(ctx, 'rate-limited', 'Too many commands: wait a few seconds.')
    admitted.release()
    await next()
  }

  #operatorOf(ctx: Context): TelegramOperator | undefined {
    return ctx.from === undefined ? undefined : this.#init.operators.get(ctx.from.id)
  }

  async #refuse(
    ctx: Context,
    reason: TelegramRefusal,
    answer?: string,
    options: { silent?: boolean } = {},
  ): Promise<void> {
    const { counters, events, refusals, log } = this.#init
    counters.increment(`telegram.refused.${reason}`)
    refusals.note()
    const who = `Telegram user ${ctx.from?.id ?? '?'} in chat ${ctx.chat?.id ?? '?'}`
    events.push({ level: 'warn', type: 'telegram.refused', message: `${reason}: ${who}` })
    log(`Telegram: refused ${reason} from ${who}`)
    const command = SAFETY_COMMAND.exec(ctx.message?.text ?? '')?.[1]
    if (command !== undefined || ctx.callbackQuery !== undefined) {
      // An attempted decision is safety-relevant: it goes on the evidence trail with who tried.
      await this.#init.safety.evidence
        .append('refusal', {
          kind: 'telegram-refusal',
          channel: 'telegram',
          reason,
          telegramUserId: ctx.from?.id,
          chatId: ctx.chat?.id,
          attempted: command ?? ctx.callbackQuery?.data?.slice(0, 80),
        })
        .catch((error: Error) => log(`could not log a Telegram refusal: ${error.message}`))
    }
    if (options.silent === true) {
      if (ctx.callbackQuery !== undefined) await this.#call(() => ctx.answerCallbackQuery())
      return
    }
    const text = answer ?? REFUSAL_TEXT[reason]
    if (ctx.callbackQuery !== undefined)
      await this.#call(() => ctx.answerCallbackQuery({ text, show_alert: true }))
    else if (ctx.chat !== undefined && reason !== 'edited') await this.#reply(ctx, text)
  }

  async #pair(ctx: Context): Promise<void> {
    const from = ctx.from
    if (from === undefined) return
    const verdict = this.#init.pairing.redeem(String(ctx.match ?? ''), `telegram:${from.id}`)
    if (verdict.outcome === 'reject') {
      return this.#refuse(
        ctx,
        'pairing-failed',
        `Pairing refused (${verdict.reason}). Ask the admin for a new code.`,
      )
    }
    const { grant } = verdict
    const key = await TelegramOperators.newKey()
    const certificate = await this.#init.safety.issueOperatorCertificate({
      operatorId: key.operatorId,
      displayName: grant.operatorName ?? `telegram-${from.id}`,
      roles: [...(grant.roles ?? ['operator'])],
      channel: 'telegram',
      ...(grant.certificateTtlMs === undefined ? {} : { ttlMs: grant.certificateTtlMs }),
    })
    await this.#init.operators.bind(from.id, key, certificate, this.#now())
    await this.#init.safety.evidence.append('decision', {
      kind: 'telegram-operator-paired',
      channel: 'telegram',
      telegramUserId: from.id,
      operatorId: key.operatorId,
    })
    this.#init.counters.increment('telegram.paired')
    this.#init.events.push({
      level: 'info',
      type: 'telegram.paired',
      message: `Telegram user ${from.id} paired as operator ${certificate.body.displayName} (${key.operatorId})`,
    })
    await this.#reply(
      ctx,
      `Paired as ${certificate.body.displayName} (${certificate.body.roles.join(', ')}), key ${key.operatorId.slice(-8)} held by the command center. Certificate valid until ${new Date(certificate.body.expiresAt).toISOString()}.`,
    )
  }

  async #decideCommand(ctx: Context): Promise<void> {
    const operator = this.#operatorOf(ctx)
    const decision = ctx.message?.text?.startsWith('/reject') === true ? 'reject' : 'approve'
    const [id, ...rest] = String(ctx.match ?? '')
      .trim()
      .split(/\s+/)
    if (operator === undefined) return
    if (id === undefined || id === '') return this.#reply(ctx, `Usage: /${decision} <proposal id> [reason]`)
    const answer = await this.#decide(ctx, operator, id, decision, rest.join(' '))
    if (answer !== undefined) await this.#reply(ctx, answer)
  }

  async #button(ctx: Context): Promise<void> {
    const operator = this.#operatorOf(ctx)
    const estop = ESTOP_BUTTON.exec(ctx.callbackQuery?.data ?? '')
    if (operator !== undefined && estop !== null) return this.#estopButton(ctx, operator, estop[1] === 'go')
    const parsed = BUTTON_DATA.exec(ctx.callbackQuery?.data ?? '')
    if (operator === undefined || parsed === null) {
      await this.#call(() => ctx.answerCallbackQuery({ text: 'Unknown button.' }))
      return
    }
    const answer = await this.#decide(ctx, operator, parsed[2] as string, parsed[1] as 'approve' | 'reject')
    if (answer !== undefined) await this.#call(() => ctx.answerCallbackQuery({ text: answer.slice(0, 190) }))
  }

  /** Signs the decision with the person's key and hands it to the safety runtime; the answer says
   * what happened (executed, waiting for another approver, refused with its code). Undefined: a
   * refusal already answered. */
  async #decide(
    ctx: Context,
    operator: TelegramOperator,
    id: string,
    decision: 'approve' | 'reject',
    reason = '',
  ): Promise<string | undefined> {
    const { safety } = this.#init
    let record: StoredProposal
    try {
      record = safety.get(id)
    } catch {
      return `No proposal ${id} here.`
    }
    if (!isCollectingProposalState(record.state)) return `${record.proposal.id} is already ${record.state}.`
    const limit = decision === 'approve' ? this.#approvalLimit(operator, record) : undefined
    if (limit !== undefined) {
      await this.#refuse(ctx, limit.reason, limit.text)
      return undefined
    }
    const inFlight = `${operator.operatorId}:${record.hash}`
    if (this.#deciding.has(inFlight)) return 'Already being sent.'
    this.#deciding.add(inFlight)
    try {
      const approval = await signApproval(operator.signer, {
        proposalHash: record.hash,
        decision,
        operatorCertificate: operator.certificate,
        // Signed as the WAN: a tap on a phone says nothing about where the person stands.
        operatorLink: 'wan',
        at: this.#now(),
        ...(reason === '' ? {} : { reason: reason.slice(0, TELEGRAM_REASON_MAX_CHARS) }),
      })
      // Queued before the decision's own entries, so it is on disk before the command leaves (the
      // log commits in order and the forwarder awaits its entries before dispatching); awaited
      // alongside rather than first, sharing their fsync.
      const logged = safety.evidence.append('decision', {
        kind: 'telegram-decision',
        channel: 'telegram',
        telegramUserId: operator.telegramUserId,
        chatId: ctx.chat?.id,
        operatorId: operator.operatorId,
        hash: record.hash,
        decision,
        nonce: approval.body.nonce,
      })
      this.#init.counters.increment(`telegram.decisions.${decision}`)
      // Arrives as handed on by this command center, observed over the WAN (forwarder.ts observedLinkOf).
      const deciding = safety.decide(record.proposal.id, approval, decision, {
        callerId: this.#init.deviceId,
        forwardedLink: 'wan',
      })
      const [decided] = await Promise.all([deciding, logged])
      return `${record.proposal.id}: ${outcomeLine(decided.record)}${decided.verdict === 'pending' ? ` (${decided.detail})` : ''}`
    } catch (error) {
      if (error instanceof ClawMeshError) {
        const code = typeof error.data?.['code'] === 'string' ? ` ${error.data['code']}` : ''
        return `Refused (${error.code}${code}): ${this.#redact(error.message)}`
      }
      throw error
    } finally {
      this.#deciding.delete(inFlight)
    }
  }

  /** The site's limit on Telegram approvals (and the viewer rule, said here before signing). */
  #approvalLimit(
    operator: TelegramOperator,
    record: StoredProposal,
  ): { reason: TelegramRefusal; text: string } | undefined {
    const limit = this.#init.settings.maxApprovalLevel
    if (!operator.certificate.body.roles.some((role) => role === 'operator' || role === 'admin'))
      return { reason: 'viewer-cannot-approve', text: REFUSAL_TEXT['viewer-cannot-approve'] }
    if (limit === 'off') return { reason: 'approvals-off', text: REFUSAL_TEXT['approvals-off'] }
    if (LEVEL_RANK[record.proposal.level] > LEVEL_RANK[limit]) {
      return {
        reason: 'approval-level-limit',
        text: `This site takes Telegram approvals up to ${limit}; ${record.proposal.id} is ${record.proposal.level}: approve it on the console or the CLI.`,
      }
    }
    return undefined
  }

  async #ask(ctx: Context): Promise<void> {
    const operator = this.#operatorOf(ctx)
    const text = String(ctx.match ?? '')
      .trim()
      .slice(0, TELEGRAM_ASK_MAX_CHARS)
    if (operator === undefined) return
    if (text === '') return this.#reply(ctx, 'Usage: /ask <question or request>')
    // Not awaited: a model may take a minute, and other operators' taps must not wait behind it.
    void this.#init.ask(text, { id: operator.operatorId, name: operator.certificate.body.displayName }).then(
      (answer) =>
        this.#reply(
          ctx,
          [
            answer.answer,
            ...answer.proposals.map((record) => `\nProposed: ${describeProposal(record)}`),
          ].join('\n'),
        ),
      (error: Error) => this.#reply(ctx, `The planner could not answer: ${this.#redact(error.message)}`),
    )
  }

  /** `/estop [zone]` asks for a confirmation tap; `/estop clear [zone]` asks for the L2 clear
   * proposals (docs/telegram.md). Any paired person may stop, whatever the site's Telegram approval
   * limit: stopping is never blocked. */
  async #estop(ctx: Context): Promise<void> {
    const operator = this.#operatorOf(ctx)
    const chatId = ctx.chat?.id
    if (operator === undefined || chatId === undefined) return
    const [first, second] = String(ctx.match ?? '')
      .trim()
      .split(/\s+/)
      .filter((word) => word !== '')
    const clear = first === 'clear'
    const scope = parseEstopScope(clear ? second : first)
    if (scope === undefined) return this.#reply(ctx, 'Usage: /estop [zone] or /estop clear [zone]')
    if (clear) return this.#reply(ctx, await this.#estopClear(operator, scope))
    const message = await this.#call(() =>
      this.#bot.api.sendMessage(
        chatId,
        `EMERGENCY STOP of ${describeEstopScope(scope)}: every actuator in scope goes to its safe state and stays latched until a clear is approved. Tap STOP within ${TELEGRAM_ESTOP_CONFIRM_TTL_MS / 1000} s to confirm.`,
        { reply_markup: new InlineKeyboard().text('STOP', 'estop:go').text('Cancel', 'estop:cancel') },
      ),
    )
    if (message === undefined) return
    this.#pendingEstops.set(`${chatId}:${message.message_id}`, {
      scope,
      requestedBy: operator.telegramUserId,
      at: this.#now(),
    })
    // Insertion order: the oldest confirmation is forgotten first.
    for (const old of this.#pendingEstops.keys()) {
      if (this.#pendingEstops.size <= TELEGRAM_ESTOP_PENDING_MAX) break
      this.#pendingEstops.delete(old)
    }
    this.#init.counters.increment('telegram.estop.requested')
  }

  /** The confirmation tap: signs the stop with the tapping person's held key and runs this command
   * center's own `safety.estop`, then edits the outcome into the confirmation message. */
  async #estopButton(ctx: Context, operator: TelegramOperator, go: boolean): Promise<void> {
    const { safety, counters, events, log } = this.#init
    const message = ctx.callbackQuery?.message
    const chatId = ctx.chat?.id
    if (message === undefined || chatId === undefined) return
    const key = `${chatId}:${message.message_id}`
    const pending = this.#pendingEstops.get(key)
    this.#pendingEstops.delete(key)
    if (pending === undefined) {
      await this.#call(() => ctx.answerCallbackQuery({ text: 'Already answered.' }))
      return
    }
    const edit = (text: string) =>
      this.#call(() =>
        this.#bot.api.editMessageText(chatId, message.message_id, fitMessage(this.#redact(text))),
      )
    if (!go) {
      await this.#call(() => ctx.answerCallbackQuery({ text: 'Not sent.' }))
      await edit(`Emergency stop of ${describeEstopScope(pending.scope)} cancelled: nothing was sent.`)
      return
    }
    if (this.#now() - pending.at > TELEGRAM_ESTOP_CONFIRM_TTL_MS) {
      await this.#refuse(ctx, 'estop-confirmation-expired')
      await edit(
        `Emergency stop of ${describeEstopScope(pending.scope)} not sent: the confirmation expired. Send /estop again.`,
      )
      return
    }
    await this.#call(() => ctx.answerCallbackQuery({ text: 'Stopping…' }))
    const name = operator.certificate.body.displayName
    try {
      const order = await signEstopOrder(operator.signer, {
        scope: pending.scope,
        reason: `Telegram /estop by ${name}`,
        operatorCertificate: operator.certificate,
        issuedAt: this.#now(),
      })
      const logged = safety.evidence.append('decision', {
        kind: 'telegram-estop',
        channel: 'telegram',
        telegramUserId: operator.telegramUserId,
        chatId,
        operatorId: operator.operatorId,
        nonce: order.body.nonce,
      })
      counters.increment('telegram.estop.sent')
      const [result] = await Promise.all([safety.estop(order), logged])
      const safe = result.actuators.filter((actuator) => actuator.outcome === 'safe' && actuator.latched)
      const others = result.actuators.filter((actuator) => !(actuator.outcome === 'safe' && actuator.latched))
      events.push({
        level: 'warn',
        type: 'telegram.estop',
        message: `emergency stop of ${result.scope} by ${name} from Telegram`,
      })
      await edit(
        [
          `STOPPED ${result.scope} (by ${name}): ${safe.length}/${result.actuators.length} actuator(s) safe and latched, ${result.cancelled.length} proposal(s) cancelled.`,
          ...others.map(
            (actuator) =>
              `${actuator.capability}: ${actuator.outcome}${actuator.detail === undefined ? '' : ` (${actuator.detail})`} - check it on site`,
          ),
          'To resume: /estop clear, then an operator approves the clear.',
        ].join('\n'),
      )
    } catch (error) {
      counters.increment('telegram.estop.failed')
      const code =
        error instanceof ClawMeshError
          ? `${error.code}${typeof error.data?.['code'] === 'string' ? ` ${error.data['code']}` : ''}`
          : 'ERROR'
      log(`Telegram emergency stop by ${name} failed: ${this.#describe(error)}`)
      await edit(
        `Emergency stop of ${describeEstopScope(pending.scope)} REFUSED (${code}): ${this.#describe(error)}. Use the console or the CLI: clawmesh estop.`,
      )
    }
  }

  /** A clear is never done from Telegram: it asks for the same L2 `estop.clear` proposals as
   * `clawmesh estop clear`, which wait for an operator's approval (pushed here with buttons, and
   * subject to the site's Telegram approval limit like any other). */
  async #estopClear(operator: TelegramOperator, scope: EstopScope): Promise<string> {
    try {
      const created = await this.#init.safety.requestEstopClear(scope, operator.operatorId, {
        kind: 'operator',
        roles: operator.certificate.body.roles,
      })
      this.#init.counters.increment('telegram.estop.clear-requested')
      if (created.length === 0) return `Nothing latched in ${describeEstopScope(scope)}.`
      return [
        `Clear proposals for ${describeEstopScope(scope)} (each needs an operator's approval; this site takes Telegram approvals up to ${this.#init.settings.maxApprovalLevel}):`,
        ...created.map((record) => `${describeProposal(record)}\n  /approve ${record.proposal.id}`),
      ].join('\n')
    } catch (error) {
      if (error instanceof ClawMeshError) {
        const code = typeof error.data?.['code'] === 'string' ? ` ${error.data['code']}` : ''
        return `Refused (${error.code}${code}): ${this.#redact(error.message)}`
      }
      throw error
    }
  }

  #proposalsText(): string {
    const waiting = this.#init.safety.list().filter((record) => isCollectingProposalState(record.state))
    if (waiting.length === 0) return 'No proposals awaiting approval.'
    return waiting
      .slice(0, TELEGRAM_LIST_MAX)
      .map((record) => `${describeProposal(record)}\n  /approve ${record.proposal.id}`)
      .join('\n\n')
  }

  #alertsText(): string {
    const alerts = this.#init.events
      .list()
      .filter((event) => event.level !== 'info')
      .slice(-TELEGRAM_LIST_MAX)
    if (alerts.length === 0) return 'No alerts.'
    return alerts
      .map((event) => `${new Date(event.at).toISOString().slice(11, 19)} ${event.type}: ${event.message}`)
      .join('\n')
  }

  async #pushProposal(record: StoredProposal): Promise<void> {
    const keyboard = new InlineKeyboard()
      .text('Approve', `approve:${record.proposal.id}`)
      .text('Reject', `reject:${record.proposal.id}`)
    const sent: Array<{ chatId: number; messageId: number }> = []
    for (const chatId of this.#init.settings.chats) {
      const message = await this.#call(() =>
        this.#bot.api.sendMessage(chatId, `Awaiting approval\n${describeProposal(record)}`, {
          reply_markup: keyboard,
        }),
      )
      if (message !== undefined) sent.push({ chatId, messageId: message.message_id })
    }
    this.#init.counters.increment('telegram.pushed.proposals')
    this.#pushed.set(record.hash, sent)
  }

  async #editOutcome(record: StoredProposal): Promise<void> {
    const sent = this.#pushed.get(record.hash)
    if (sent === undefined) return
    for (const { chatId, messageId } of sent) {
      await this.#call(() =>
        this.#bot.api.editMessageText(
          chatId,
          messageId,
          `${outcomeLine(record)}\n${describeProposal(record)}`,
        ),
      )
    }
  }

  async #pushAlert(message: string): Promise<void> {
    const now = this.#now()
    while (this.#alertTimes.length > 0 && (this.#alertTimes[0] as number) < now - TELEGRAM_ALERT_WINDOW_MS)
      this.#alertTimes.shift()
    if (this.#alertTimes.length >= TELEGRAM_ALERTS_PER_MINUTE) {
      this.#init.counters.increment('telegram.alerts.suppressed')
      return
    }
    this.#alertTimes.push(now)
    for (const chatId of this.#init.settings.chats)
      await this.#call(() => this.#bot.api.sendMessage(chatId, `Alert: ${message}`))
  }

  async #reply(ctx: Context, text: string): Promise<void> {
    const chatId = ctx.chat?.id
    if (chatId === undefined) return
    await this.#call(() => this.#bot.api.sendMessage(chatId, fitMessage(this.#redact(text))))
  }

  /** A Bot API call that never throws: a failure is counted and logged (redacted). */
  async #call<T>(request: () => Promise<T>): Promise<T | undefined> {
    try {
      return await request()
    } catch (error) {
      this.#init.counters.increment('telegram.send.failed')
      this.#init.log(`Telegram send failed: ${this.#describe(error)}`)
      return undefined
    }
  }

  #describe(error: unknown): string {
    if (error instanceof GrammyError) {
      const hint = error.error_code === 401 ? ': the Bot API refused the token, check channel/telegram' : ''
      return this.#redact(`${error.error_code} ${error.description}${hint}`)
    }
    return this.#redact(error instanceof Error ? error.message : String(error))
  }

  #redact(text: string): string {
    return redactSecrets(text, [this.#init.token])
  }
}

const REFUSAL_TEXT: Readonly<Record<TelegramRefusal, string>> = {
  'chat-not-allowed': 'This chat is not allowed.',
  'no-user': 'Commands must come from a person, not a channel or a bot.',
  forwarded: 'Forwarded commands are refused.',
  edited: 'Edited commands are refused: send the command again.',
  'rate-limited': 'Too many commands: wait a few seconds.',
  unpaired:
    'You are not paired with this command center. Ask an admin for a code (`clawmesh pair --operator NAME --telegram`) and send /pair CODE.',
  'pairing-failed': 'Pairing refused.',
  'approvals-off': 'This site does not take approvals from Telegram: use the console or the CLI.',
  'approval-level-limit': 'This site does not take Telegram approvals at this level.',
  'viewer-cannot-approve': 'A viewer cannot approve.',
  'unknown-command': 'Unknown command.',
  'estop-confirmation-expired': 'The confirmation expired: send /estop again.',
}

/** `/estop` with no word is the whole site; one word is a zone. Undefined: not a valid zone name. */
function parseEstopScope(zone: string | undefined): EstopScope | undefined {
  if (zone === undefined) return { kind: 'all' }
  const parsed = estopScopeSchema.safeParse({ kind: 'zone', zone })
  return parsed.success ? parsed.data : undefined
}

function fitMessage(text: string): string {
  return text.length <= TELEGRAM_MESSAGE_MAX_CHARS
    ? text
    : `${text.slice(0, TELEGRAM_MESSAGE_MAX_CHARS)}\n… (cut)`
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, ms)
    signal.addEventListener(
      'abort',
      () => {
        clearTimeout(timer)
        resolve()
      },
      { once: true },
    )
  })
}
