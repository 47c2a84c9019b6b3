/**
 * A Telegram Bot API server on loopback for tests and benchmarks: the real HTTP wire protocol
 * (`POST /bot<token>/<method>`, JSON bodies, `{ ok, result }` / `{ ok: false, error_code,
 * description }` answers) for the methods the ClawMesh bot uses — getMe, getUpdates (long polling
 * with offset, limit and timeout), sendMessage (with inline keyboards), editMessageText,
 * answerCallbackQuery. Tests play the users: a message, an edited message, a forwarded one, a tap
 * on an inline button; and read what the bot sent. `outage()` answers 502 to everything, as a Bot
 * API outage looks from a bot.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'

export interface FakeUser {
  readonly id: number
  readonly first_name: string
  readonly is_bot?: boolean
}

export interface SentMessage {
  readonly chatId: number
  readonly messageId: number
  text: string
  readonly replyMarkup?: { inline_keyboard: Array<Array<{ text: string; callback_data?: string }>> }
  edits: number
}

export interface CallbackAnswer {
  readonly callbackQueryId: string
  readonly text?: string
  readonly at: number
}

export interface RecordedRequest {
  readonly method: string
  readonly tokenOk: boolean
  readonly at: number
}

const BOT_USER = { id: 4242, is_bot: true, first_name: 'ClawMesh', username: 'clawmesh_test_bot' }

export class FakeBotApi {
  readonly token: string
  readonly sent: SentMessage[] = []
  readonly callbackAnswers: CallbackAnswer[] = []
  readonly requests: RecordedRequest[] = []
  #server: Server | undefined
  #updates: Array<Record<string, unknown> & { update_id: number }> = []
  #nextUpdateId = 1
  #nextMessageId = 1
  #nextCallbackId = 1
  #waiters = new Set<() => void>()
  #answerListeners = new Set<(answer: CallbackAnswer) => void>()
  #down = false

  constructor(token: string) {
    this.token = token
  }

  get url(): string {
    const address = this.#server?.address() as AddressInfo | undefined
    if (address === undefined) throw new Error('fake Bot API not listening')
    return `http://127.0.0.1:${address.port}`
  }

  async listen(): Promise<this> {
    this.#server = createServer((request, response) => void this.#serve(request, response))
    await new Promise<void>((resolve) => this.#server?.listen(0, '127.0.0.1', resolve))
    return this
  }

  async close(): Promise<void> {
    for (const wake of this.#waiters) wake()
    this.#server?.closeAllConnections()
    await new Promise<void>((resolve) => this.#server?.close(() => resolve()))
  }

  /** While on, every request is answered 502 Bad Gateway (what a bot sees in an outage). */
  outage(on: boolean): void {
    this.#down = on
    if (on) for (const wake of this.#waiters) wake()
  }

  /** A user types `text` in `chatId`. `forwardedFrom`: the message was forwarded from that user. */
  userSends(
    chatId: number,
    from: FakeUser,
    text: string,
    options: { forwardedFrom?: FakeUser } = {},
  ): number {
    const message = this.#message(chatId, from, text)
    if (options.forwardedFrom !== undefined) {
      message['forward_origin'] = { type: 'user', sender_user: options.forwardedFrom, date: now() }
      message['forward_date'] = now()
    }
    return this.#push({ message })
  }

  /** A user edits an earlier message of theirs into `text`. */
  userEdits(chatId: number, from: FakeUser, text: string): number {
    return this.#push({ edited_message: { ...this.#message(chatId, from, text), edit_date: now() } })
  }

  /** A user taps an inline button of a message the bot sent; returns the callback query ID. */
  userTaps(message: SentMessage, from: FakeUser, data: string): string {
    const id = String(this.#nextCallbackId++)
    this.#push({
      callback_query: {
        id,
        from,
        chat_instance: String(message.chatId),
        data,
        message: {
          message_id: message.messageId,
          date: now(),
          chat: chatOf(message.chatId, from),
          from: BOT_USER,
          text: message.text,
        },
      },
    })
    return id
  }

  async waitForSent(
    what: string,
    predicate: (message: SentMessage) => boolean,
    timeoutMs = 15_000,
  ): Promise<SentMessage> {
    return this.#waitFor(what, () => this.sent.find(predicate), timeoutMs)
  }

  /** Resolves the moment the bot answers this callback query (no polling: benchmarks time it). */
  waitForAnswer(callbackQueryId: string, timeoutMs = 15_000): Promise<CallbackAnswer> {
    const answered = this.callbackAnswers.find((answer) => answer.callbackQueryId === callbackQueryId)
    if (answered !== undefined) return Promise.resolve(answered)
    return new Promise((resolve, reject) => {
      const listener = (answer: CallbackAnswer) => {
        if (answer.callbackQueryId !== callbackQueryId) return
        clearTimeout(timer)
        this.#answerListeners.delete(listener)
        resolve(answer)
      }
      const timer = setTimeout(() => {
        this.#answerListeners.delete(listener)
        reject(new Error(`fake Bot API: timed out waiting for the answer to callback ${callbackQueryId}`))
      }, timeoutMs)
      this.#answerListeners.add(listener)
    })
  }

  async #waitFor<T>(what: string, probe: () => T | undefined, timeoutMs: number): Promise<T> {
    const deadline = Date.now() + timeoutMs
    for (;;) {
      const found = probe()
      if (found !== undefined) return found
      if (Date.now() > deadline) throw new Error(`fake Bot API: timed out waiting for ${what}`)
      await new Promise((resolve) => setTimeout(resolve, 5))
    }
  }

  #message(chatId: number, from: FakeUser, text: string): Record<string, unknown> {
    const command = /^\/[a-z_]+(@\w+)?/i.exec(text)?.[0]
    return {
      message_id: this.#nextMessageId++,
      date: now(),
      chat: chatOf(chatId, from),
      from,
      text,
      // Telegram marks a leading command as a bot_command entity; bots (grammY) match commands by it.
      ...(command === undefined
        ? {}
        : { entities: [{ type: 'bot_command', offset: 0, length: command.length }] }),
    }
  }

  #push(update: Record<string, unknown>): number {
    const update_id = this.#nextUpdateId++
    this.#updates.push({ update_id, ...update })
    for (const wake of this.#waiters) wake()
    return update_id
  }

  async #serve(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const match = /^\/bot([^/]+)\/(\w+)$/.exec(request.url?.split('?')[0] ?? '')
    const body = await readBody(request)
    const method = match?.[2] ?? '?'
    const tokenOk = match?.[1] === this.token
    this.requests.push({ method, tokenOk, at: Date.now() })
    if (this.#down) return send(response, 502, { ok: false, error_code: 502, description: 'Bad Gateway' })
    if (match === null || !tokenOk)
      return send(response, 401, { ok: false, error_code: 401, description: 'Unauthorized' })
    const params = body === '' ? {} : (JSON.parse(body) as Record<string, unknown>)
    switch (method) {
      case 'getMe':
        return ok(response, { ...BOT_USER, can_join_groups: true, can_read_all_group_messages: false })
      case 'deleteWebhook':
        return ok(response, true)
      case 'getUpdates':
        return ok(response, await this.#getUpdates(params))
      case 'sendMessage':
        return ok(response, this.#sendMessage(params))
      case 'editMessageText':
        return this.#editMessageText(params, response)
      case 'answerCallbackQuery': {
        const answer: CallbackAnswer = {
          callbackQueryId: String(params['callback_query_id']),
          ...(typeof params['text'] === 'string' ? { text: params['text'] } : {}),
          at: Date.now(),
        }
        this.callbackAnswers.push(answer)
        for (const listener of this.#answerListeners) listener(answer)
        return ok(response, true)
      }
      default:
        return send(response, 404, { ok: false, error_code: 404, description: 'Not Found: method not found' })
    }
  }

  async #getUpdates(params: Record<string, unknown>): Promise<unknown[]> {
    const offset = typeof params['offset'] === 'number' ? params['offset'] : 0
    const limit = typeof params['limit'] === 'number' ? params['limit'] : 100
    const timeoutSec = typeof params['timeout'] === 'number' ? params['timeout'] : 0
    // Calling with an offset confirms every update before it (the Bot API forgets them).
    this.#updates = this.#updates.filter((update) => update.update_id >= offset)
    if (this.#updates.length === 0 && timeoutSec > 0) {
      await new Promise<void>((resolve) => {
        const wake = () => {
          clearTimeout(timer)
          this.#waiters.delete(wake)
          resolve()
        }
        const timer = setTimeout(wake, timeoutSec * 1000)
        this.#waiters.add(wake)
      })
    }
    return this.#down ? [] : this.#updates.slice(0, limit)
  }

  #sendMessage(params: Record<string, unknown>): Record<string, unknown> {
    const chatId = Number(params['chat_id'])
    const message: SentMessage = {
      chatId,
      messageId: this.#nextMessageId++,
      text: String(params['text']),
      ...(params['reply_markup'] === undefined
        ? {}
        : { replyMarkup: params['reply_markup'] as SentMessage['replyMarkup'] & object }),
      edits: 0,
    }
    this.sent.push(message)
    return {
      message_id: message.messageId,
      date: now(),
      chat: { id: chatId, type: chatId > 0 ? 'private' : 'group', title: 'farm' },
      from: BOT_USER,
      text: message.text,
    }
  }

  #editMessageText(params: Record<string, unknown>, response: ServerResponse): void {
    const message = this.sent.find(
      (candidate) =>
        candidate.chatId === Number(params['chat_id']) &&
        candidate.messageId === Number(params['message_id']),
    )
    if (message === undefined) {
      send(response, 400, {
        ok: false,
        error_code: 400,
        description: 'Bad Request: message to edit not found',
      })
      return
    }
    message.text = String(params['text'])
    message.edits += 1
    ok(response, {
      message_id: message.messageId,
      date: now(),
      chat: { id: message.chatId },
      text: message.text,
    })
  }
}

function chatOf(chatId: number, from: FakeUser): Record<string, unknown> {
  return chatId > 0
    ? { id: chatId, type: 'private', first_name: from.first_name }
    : { id: chatId, type: 'group', title: 'farm' }
}

function now(): number {
  return Math.floor(Date.now() / 1000)
}

function ok(response: ServerResponse, result: unknown): void {
  send(response, 200, { ok: true, result })
}

function send(response: ServerResponse, status: number, body: unknown): void {
  response.writeHead(status, { 'content-type': 'application/json' })
  response.end(JSON.stringify(body))
}

async function readBody(request: IncomingMessage): Promise<string> {
  let body = ''
  for await (const chunk of request) body += (chunk as Buffer).toString()
  return body
}
