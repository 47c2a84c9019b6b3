/**
 * Per-stage timestamps of gossip messages on their way through the mesh (bench only).
 *
 * `FANOUT_STAGE_DUMP_DIR=DIR node test/bench/fanout.bench.ts …` makes every ClawMesh worker record,
 * for each gossip message it publishes or receives, when it reached each stage, and write them to
 * DIR/<name>-<pid>.stages.json when it exits:
 *
 * - `pub`: the publisher's `ContextService` hands the sealed batch to gossipsub (so `pub` − the
 *   first frame's send time is the coalescing window plus sealing);
 * - `in`: gossipsub starts handling a received message (decrypted, demultiplexed, RPC decoded);
 * - `vs` / `ve`: the context topic validator starts / returns (decode, verify, ingest);
 * - `fw`: gossipsub forwards the message to its mesh peers.
 *
 * The publisher also keeps, per batch, every frame's wait from its send time (the `data.value` the
 * bench's frames carry) to `pub`: the coalescing window as the frames felt it, plus sealing.
 *
 * A message is keyed by the run tag of its first frame (`runId:seq`), found in its bytes; `from` is
 * the peer it came from. `node test/bench/fanout-stages.ts DIR` joins the dumps along each far
 * node's first copy of every batch and prints each stage's p50/p90/p99.
 *
 * The hooks reach into gossipsub internals (`handleReceivedMessage`, `forwardMessage`), checked
 * against @libp2p/gossipsub 17.1.1; the sampling costs a few µs per message.
 */
import { readdirSync, readFileSync, writeFileSync } from 'node:fs'
import { pathToFileURL } from 'node:url'

type Stage = 'pub' | 'in' | 'vs' | 've' | 'fw'
/** [key, stage, time ms on the shared clock, from peer (for `in`)] */
type StageRecord = [string, Stage, number, string?]

interface StageDump {
  readonly name: string
  readonly peerId: string
  readonly records: StageRecord[]
  /** The publisher's, per batch (by key): each frame's wait from its send time to the batch's `pub`
   * (ms). */
  readonly waits?: Array<[string, number[]]>
}

const VALUE_MARK = /"value":(-?[0-9.]+)/g

/** The send times the bench's frames carry (their `data.value`), in a batch's bytes. */
export function frameSendTimes(data: Uint8Array): number[] {
  const text = Buffer.from(data.buffer, data.byteOffset, data.byteLength).toString('latin1')
  return [...text.matchAll(VALUE_MARK)].map((match) => Number(match[1]))
}

const NOTE_MARK = Buffer.from('"note":"')

/** `runId:seq` of the first frame in a batch's bytes, or undefined. */
export function batchKey(data: Uint8Array): string | undefined {
  const bytes = Buffer.from(data.buffer, data.byteOffset, data.byteLength)
  const at = bytes.indexOf(NOTE_MARK)
  if (at < 0) return undefined
  const start = at + NOTE_MARK.length
  const first = bytes.indexOf(58, start) // ':'
  const second = first < 0 ? -1 : bytes.indexOf(58, first + 1)
  if (second < 0 || second - start > 64) return undefined
  return bytes.toString('latin1', start, second)
}

interface GossipInternals {
  handleReceivedMessage(from: { toString(): string }, rpcMsg: { data?: Uint8Array }): Promise<void>
  forwardMessage(msgIdStr: string, rawMsg: { data?: Uint8Array }, ...rest: unknown[]): unknown
  publish(topic: string, data: Uint8Array, ...rest: unknown[]): Promise<unknown>
  topicValidators: Map<string, (peer: unknown, message: { data: Uint8Array }) => Promise<unknown>>
}

/** Installs the hooks when FANOUT_STAGE_DUMP_DIR is set; call after the topic validator is set. */
export function traceStages(init: {
  name: string
  peerId: string
  pubsub: unknown
  topic: string
  now: () => number
}): void {
  const dir = process.env.FANOUT_STAGE_DUMP_DIR
  if (dir === undefined) return
  const { now } = init
  const pubsub = init.pubsub as GossipInternals
  const records: StageRecord[] = []
  const waits: Array<[string, number[]]> = []
  const note = (data: Uint8Array | undefined, stage: Stage, from?: string) => {
    const key = data === undefined ? undefined : batchKey(data)
    if (key !== undefined) records.push(from === undefined ? [key, stage, now()] : [key, stage, now(), from])
  }
  const handle = pubsub.handleReceivedMessage.bind(pubsub)
  pubsub.handleReceivedMessage = (from, rpcMsg) => {
    note(rpcMsg.data, 'in', from.toString())
    return handle(from, rpcMsg)
  }
  const forward = pubsub.forwardMessage.bind(pubsub)
  pubsub.forwardMessage = (msgIdStr, rawMsg, ...rest) => {
    note(rawMsg.data, 'fw')
    return forward(msgIdStr, rawMsg, ...rest)
  }
  const publish = pubsub.publish.bind(pubsub)
  pubsub.publish = (topic, data, ...rest) => {
    note(data, 'pub')
    const key = batchKey(data)
    const at = now()
    if (key !== undefined) waits.push([key, frameSendTimes(data).map((sentAt) => at - sentAt)])
    return publish(topic, data, ...rest)
  }
  const validator = pubsub.topicValidators.get(init.topic)
  if (validator !== undefined)
    pubsub.topicValidators.set(init.topic, async (peer, message) => {
      note(message.data, 'vs')
      try {
        return await validator(peer, message)
      } finally {
        note(message.data, 've')
      }
    })
  process.on('exit', () => {
    const dump: StageDump = { name: init.name, peerId: init.peerId, records, waits }
    writeFileSync(`${dir}/${init.name}-${process.pid}.stages.json`, JSON.stringify(dump))
  })
}

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return Number.NaN
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] as number
}

/** Joins the dumps of one run directory along each far node's first copy of every batch. */
export function analyse(dumps: StageDump[]): string[] {
  const byPeer = new Map(dumps.map((dump) => [dump.peerId, dump]))
  /** node name → key → stage → first time (and the sender of the first `in`) */
  const index = new Map<string, Map<string, Map<Stage, [number, string?]>>>()
  const copies = new Map<string, number[]>()
  for (const dump of dumps) {
    const keys = new Map<string, Map<Stage, [number, string?]>>()
    const perKey = new Map<string, number>()
    for (const [key, stage, at, from] of dump.records) {
      const stages = keys.get(key) ?? new Map<Stage, [number, string?]>()
      keys.set(key, stages)
      if (!stages.has(stage)) stages.set(stage, [at, from])
      if (stage === 'in') perKey.set(key, (perKey.get(key) ?? 0) + 1)
    }
    index.set(dump.name, keys)
    copies.set(dump.name, [...perKey.values()])
  }
  const publisher = dumps.find((dump) => dump.records.some((record) => record[1] === 'pub'))
  if (publisher === undefined) return ['no publisher dump']
  const publisherKeys = index.get(publisher.name) as Map<string, Map<Stage, [number, string?]>>
  const stages = new Map<string, number[]>()
  const add = (label: string, ms: number | undefined) => {
    if (ms === undefined || !Number.isFinite(ms)) return
    const list = stages.get(label) ?? []
    stages.set(label, list)
    list.push(ms)
  }
  // The frame's send time is the first frame's: `pub` − window start is what the batch waited.
  const lines: string[] = []
  for (const dump of dumps) {
    if (dump === publisher) continue
    const keys = index.get(dump.name) as Map<string, Map<Stage, [number, string?]>>
    for (const [key, own] of keys) {
      const pub = publisherKeys.get(key)?.get('pub')?.[0]
      const firstIn = own.get('in')
      if (pub === undefined || firstIn === undefined) continue
      const via = byPeer.get(firstIn[1] ?? '')
      const hops = via === publisher ? 1 : 2
      const prefix = `${hops === 1 ? '1st hop' : 'far'} `
      add(`${prefix}total pub→ve`, (own.get('ve')?.[0] ?? Number.NaN) - pub)
      add(`${prefix}in→vs (gossipsub before validator)`, (own.get('vs')?.[0] ?? Number.NaN) - firstIn[0])
      add(
        `${prefix}vs→ve (validate + ingest)`,
        (own.get('ve')?.[0] ?? Number.NaN) - (own.get('vs')?.[0] ?? Number.NaN),
      )
      if (hops === 1) add('1st hop transport pub→in', firstIn[0] - pub)
      else if (via !== undefined) {
        const relay = index.get(via.name)?.get(key)
        const relayVe = relay?.get('ve')?.[0]
        const relayFw = relay?.get('fw')?.[0]
        const relayIn = relay?.get('in')?.[0]
        add('far: relay pub→in (transport 1)', relayIn !== undefined ? relayIn - pub : undefined)
        add(
          'far: relay in→ve',
          relayVe !== undefined && relayIn !== undefined ? relayVe - relayIn : undefined,
        )
        add(
          'far: relay ve→fw',
          relayFw !== undefined && relayVe !== undefined ? relayFw - relayVe : undefined,
        )
        add('far: relay fw→far in (transport 2)', relayFw !== undefined ? firstIn[0] - relayFw : undefined)
        add(`far: via ${via.name === 'n1' ? 'hub' : 'field node'}`, 1)
      }
    }
  }
  // Window + seal at the publisher: every frame's wait, and the gap between consecutive batches.
  for (const [, batch] of publisher.waits ?? []) {
    if (batch.length === 0) continue
    for (const wait of batch) add('publisher frame wait (send → pub)', wait)
    add('publisher frames per batch', batch.length)
    add('publisher newest frame wait per batch', Math.min(...batch))
  }
  const pubTimes = [...publisherKeys.values()]
    .map((stagesOf) => stagesOf.get('pub')?.[0])
    .filter((at): at is number => at !== undefined)
    .sort((a, b) => a - b)
  for (let i = 1; i < pubTimes.length; i++)
    add('publisher gap between batches', (pubTimes[i] as number) - (pubTimes[i - 1] as number))
  for (const [label, values] of [...stages].sort()) {
    const sorted = values.sort((a, b) => a - b)
    lines.push(
      label.startsWith('far: via')
        ? `${label}: ${values.length} batches`
        : `${label}: n=${sorted.length} p50 ${percentile(sorted, 50).toFixed(2)} p90 ${percentile(sorted, 90).toFixed(2)} p99 ${percentile(sorted, 99).toFixed(2)}${label.endsWith('frames per batch') ? '' : ' ms'}`,
    )
  }
  for (const [name, list] of copies) {
    if (list.length === 0) continue
    lines.push(
      `${name}: ${(list.reduce((a, b) => a + b, 0) / list.length).toFixed(2)} copies received per batch`,
    )
  }
  return lines
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const dir = process.argv[2]
  if (dir === undefined) throw new Error('usage: node test/bench/fanout-stages.ts DIR')
  const dumps = readdirSync(dir)
    .filter((file) => file.endsWith('.stages.json'))
    .map((file) => JSON.parse(readFileSync(`${dir}/${file}`, 'utf8')) as StageDump)
  const runs = new Set(
    dumps.flatMap((dump) => dump.records.map((record) => record[0].split(':')[0] as string)),
  )
  for (const runId of runs) {
    console.log(`run ${runId}`)
    const ofRun = dumps.map((dump) => ({
      ...dump,
      records: dump.records.filter((record) => record[0].startsWith(`${runId}:`)),
      waits: dump.waits?.filter(([key]) => key.startsWith(`${runId}:`)),
    }))
    for (const line of analyse(ofRun)) console.log(`  ${line}`)
  }
}
