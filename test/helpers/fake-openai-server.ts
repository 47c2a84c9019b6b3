/**
 * A fake OpenAI-compatible model server on loopback, for tests of the planner against a "local
 * model" (what llama.cpp's llama-server, Ollama and vLLM expose). It speaks the real wire
 * protocol — `POST /v1/chat/completions` with `stream: true`, answered as server-sent events of
 * `chat.completion.chunk` objects, content and tool-call arguments split across chunks, then
 * `data: [DONE]` — and plays back a scripted list of turns. Every request is recorded (body and
 * Authorization header) so tests assert what the planner actually sent.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'

export type FakeTurn =
  /** Streams this text in chunks of a few characters, then finish_reason "stop". */
  | { text: string }
  /** Streams one tool call (arguments JSON split across chunks), then finish_reason "tool_calls". */
  | { toolCall: { name: string; arguments: Record<string, unknown> } }
  /** Answers with this HTTP status and an OpenAI-style error body. */
  | { status: number; message: string }
  /** Accepts the request and never answers. */
  | { hang: true }

/** A turn decided from the request it answers: a scripted model that reads the conversation so far
 * (e.g. cites the frame IDs a tool result gave it). */
export type FakeTurnFactory = (request: RecordedRequest) => FakeTurn

export interface RecordedRequest {
  path: string
  authorization: string | undefined
  body: {
    model: string
    stream?: boolean
    messages: Array<Record<string, unknown>>
    tools?: Array<{ type: string; function: { name: string; parameters: unknown } }>
  } & Record<string, unknown>
}

export interface FakeOpenAiServer {
  /** Base URL including /v1, as given to `--pi-base-url`. */
  readonly baseUrl: string
  readonly requests: RecordedRequest[]
  /** Replaces the remaining script. */
  script(turns: Array<FakeTurn | FakeTurnFactory>): void
  close(): Promise<void>
}

/** Characters per streamed content chunk: small, so a test sees several deltas. */
const CHUNK_CHARS = 4
/** Request bodies above this are refused: the planner's prompts are a few KiB. */
const MAX_BODY_BYTES = 1024 * 1024

export async function startFakeOpenAiServer(): Promise<FakeOpenAiServer> {
  const requests: RecordedRequest[] = []
  let turns: Array<FakeTurn | FakeTurnFactory> = []
  let completion = 0
  const server: Server = createServer((req, res) => {
    void handle(req, res)
  })

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    if (req.method !== 'POST' || req.url !== '/v1/chat/completions') {
      res.writeHead(404, { 'content-type': 'application/json' })
      res.end(JSON.stringify({ error: { message: `no route ${req.method} ${req.url}`, type: 'not_found' } }))
      return
    }
    let size = 0
    const chunks: Buffer[] = []
    for await (const chunk of req) {
      size += (chunk as Buffer).length
      if (size > MAX_BODY_BYTES) {
        res.writeHead(413).end()
        return
      }
      chunks.push(chunk as Buffer)
    }
    const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as RecordedRequest['body']
    const recorded: RecordedRequest = { path: req.url, authorization: req.headers.authorization, body }
    requests.push(recorded)
    const next = turns.shift() ?? { status: 500, message: 'fake server: no scripted turn left' }
    const turn = typeof next === 'function' ? next(recorded) : next
    if ('hang' in turn) return
    if ('status' in turn) {
      res.writeHead(turn.status, { 'content-type': 'application/json' })
      res.end(JSON.stringify({ error: { message: turn.message, type: 'fake_error', code: turn.status } }))
      return
    }
    completion++
    const id = `chatcmpl-fake-${completion}`
    const created = Math.floor(Date.now() / 1000)
    const send = (delta: Record<string, unknown>, finishReason: string | null = null) =>
      res.write(
        `data: ${JSON.stringify({
          id,
          object: 'chat.completion.chunk',
          created,
          model: body.model,
          choices: [{ index: 0, delta, finish_reason: finishReason }],
        })}\n\n`,
      )
    res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' })
    send({ role: 'assistant', content: '' })
    if ('text' in turn) {
      for (let at = 0; at < turn.text.length; at += CHUNK_CHARS) {
        send({ content: turn.text.slice(at, at + CHUNK_CHARS) })
      }
      send({}, 'stop')
    } else {
      const callId = `call_fake_${completion}`
      send({
        tool_calls: [
          { index: 0, id: callId, type: 'function', function: { name: turn.toolCall.name, arguments: '' } },
        ],
      })
      const json = JSON.stringify(turn.toolCall.arguments)
      const third = Math.ceil(json.length / 3)
      for (let at = 0; at < json.length; at += third) {
        send({ tool_calls: [{ index: 0, function: { arguments: json.slice(at, at + third) } }] })
      }
      send({}, 'tool_calls')
    }
    if (body['stream_options'] !== undefined) {
      res.write(
        `data: ${JSON.stringify({
          id,
          object: 'chat.completion.chunk',
          created,
          model: body.model,
          choices: [],
          usage: { prompt_tokens: 100, completion_tokens: 20, total_tokens: 120 },
        })}\n\n`,
      )
    }
    res.end('data: [DONE]\n\n')
  }

  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as AddressInfo
  return {
    baseUrl: `http://127.0.0.1:${port}/v1`,
    requests,
    script(next) {
      turns = [...next]
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections()
        server.close(() => resolve())
      }),
  }
}
