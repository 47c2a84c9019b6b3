/**
 * The fan-out bench's `mqtt` mode: one process of the site as an mqtt.js client of a Mosquitto broker
 * the bench started (QoS 0, one topic). The publisher publishes the same 512-byte payloads at the
 * same pace and with the same clock as the ClawMesh and raw modes (test/bench/fanout-core.ts); each
 * subscriber records what arrives. Every frame crosses one hop (publisher → broker → subscriber),
 * unsigned and unvalidated: the baseline a site could run instead of a mesh.
 */
import mqtt from 'mqtt'
import {
  type ParentMessage,
  parseTag,
  rawPayload,
  sendToParent as send,
  type WorkerConfig,
  WorkerCore,
} from './fanout-core.ts'

const TOPIC = 'clawmesh/bench/context'
const config = JSON.parse(process.argv[2] ?? '{}') as WorkerConfig
if (config.brokerUrl === undefined) throw new Error('mqtt mode needs brokerUrl')

const client = await mqtt.connectAsync(config.brokerUrl, {
  clientId: `bench-${config.name}-${process.pid}`,
  clean: true,
  reconnectPeriod: 0,
})
// mqtt.js leaves Nagle's algorithm on; a latency-minded deployment turns it off, as ClawMesh's
// sockets do.
;(client.stream as { setNoDelay?: (noDelay: boolean) => void }).setNoDelay?.(true)
const decoder = new TextDecoder()
if (config.role === 'receiver') {
  client.on('message', (_topic, payload) => {
    const body = JSON.parse(decoder.decode(payload)) as { tag: string; sentAt: number }
    const tag = parseTag(body.tag)
    if (tag !== undefined) core.record(tag.runId, tag.seq, body.sentAt)
  })
  await client.subscribeAsync(TOPIC, { qos: 0 })
}

const core = new WorkerCore({
  name: config.name,
  publishOne: (runId, seq) => client.publishAsync(TOPIC, rawPayload(runId, seq), { qos: 0 }),
})

// No links to make: every client already talks to the broker.
send({ type: 'listening', addr: config.brokerUrl, peerId: config.name })

process.on('message', (message: ParentMessage) => {
  void handle(message).catch((error: unknown) => send({ type: 'error', message: String(error) }))
})

async function handle(message: ParentMessage): Promise<void> {
  switch (message.type) {
    case 'dial':
      send({ type: 'dialled' })
      return
    case 'status':
      send({ type: 'status', connections: client.connected ? 1 : 0, meshPeers: 1, meshDegree: 1 })
      return
    case 'exit':
      await Promise.race([client.endAsync(), new Promise((resolve) => setTimeout(resolve, 3_000))])
      process.exit(0)
      return
    default:
      await core.handle(message)
  }
}
