import { generateKeyPair } from '@libp2p/crypto/keys'
import type { Message } from '@libp2p/gossipsub'
import { multiaddr } from '@multiformats/multiaddr'
import { ContextService } from '../../node/context/context-service.ts'
import type { EarlyBatchCounts } from '../../node/context/publish-coalescer.ts'
import { createNodeLibp2p } from '../../node/libp2p/create-node-libp2p.ts'
import { EventRing } from '../../node/mesh/event-ring.ts'
import { WorldModel } from '../../node/world/world-model.ts'
import { buildUnsignedFrame, type FrameFields } from '../../protocol/context/index.ts'
import {
  contextTopic,
  DEFAULT_MESH_NAME,
  type MeshIdentity,
  PROTOCOL_GENERATION,
} from '../../protocol/mesh.ts'
import { signerFromPrivateKey } from '../../protocol/signing.ts'
import { Counters } from '../../runtime/counters.ts'
import { installNativeCrypto } from '../../runtime/libp2p/native-crypto.ts'
import { installWsDialer } from '../../runtime/libp2p/ws-dialer.ts'
import {
  dialsThroughWs,
  FRAME_WIRE_BYTES,
  now,
  type ParentMessage,
  parseTag,
  rawPayload,
  sendToParent as send,
  type WorkerConfig,
  WorkerCore,
} from './fanout-core.ts'
import { traceStages } from './fanout-stages.ts'

// As the node's composition root does: this libp2p stack is built here, in-process.
installNativeCrypto()

const mesh: MeshIdentity = { meshName: DEFAULT_MESH_NAME, generation: PROTOCOL_GENERATION }
const topic = contextTopic(mesh)
const config = JSON.parse(process.argv[2] ?? '{}') as WorkerConfig
const signed = config.mode === 'clawmesh-signed' || config.mode === 'raw-signed'
const usesContextService =
  config.mode === 'clawmesh' || config.mode === 'clawmesh-flat' || config.mode === 'clawmesh-signed'
/** The hub's peer ID, told with `dial` (a spoke's `isHub` asks it only once linked). */
let hubPeerId: string | undefined

if (dialsThroughWs()) installWsDialer()

const privateKey = await generateKeyPair('Ed25519')
const listen = ['/ip4/127.0.0.1/tcp/0/ws']
const libp2p = await createNodeLibp2p({
  privateKey,
  mesh,
  listen,
  gater: { denyDialMultiaddr: () => false },
  gossipSigning: signed ? 'strict' : 'off',
  ...fieldMeshDegree(),
  ...(config.site === undefined
    ? {}
    : {
        gossipSite:
          config.site === 'hub'
            ? { role: 'hub' as const }
            : { role: 'spoke' as const, isHub: (deviceId: string) => deviceId === hubPeerId },
      }),
  // `FANOUT_KEEP_SLOW_LINKS=1` (the soak on a shared machine): a link whose keep-alive ping times
  // out under CPU starvation is kept instead of aborted; nothing here would redial it at once.
  ...(process.env.FANOUT_KEEP_SLOW_LINKS === '1'
    ? { connectionMonitor: { abortConnectionOnPingFailure: false } }
    : {}),
})

/** `FANOUT_FIELD_MESH_DEGREE=D,Dlo,Dhi` (an experiment for `site10`): every node but the command
 * center (n1) keeps this gossip mesh degree. */
function fieldMeshDegree(): { gossipMeshDegree?: { D: number; Dlo: number; Dhi: number } } {
  const value = process.env.FANOUT_FIELD_MESH_DEGREE
  if (value === undefined || config.name === 'n1') return {}
  const [D, Dlo, Dhi] = value.split(',').map(Number) as [number, number, number]
  return { gossipMeshDegree: { D, Dlo, Dhi } }
}

let publishOne: (runId: string, seq: number) => Promise<unknown>
/** Gossip messages the context service sent so far and its current coalescing window; undefined
 * for raw gossipsub, where every frame is a message. */
let publishing: () => { batches: number; windowMs: number; early: EarlyBatchCounts } | undefined = () =>
  undefined
const record = (runId: string, seq: number, sentAt: number) => core.record(runId, seq, sentAt)

if (usesContextService) {
  const signer = signerFromPrivateKey(privateKey)
  const counters = new Counters()
  const service = new ContextService({
    libp2p,
    mesh,
    signer,
    displayName: config.name,
    world: new WorldModel(),
    counters,
    events: new EventRing(500),
    isTrustedOrigin: () => true,
    log: () => {},
  })
  service.start()
  traceStages({
    name: config.name,
    peerId: libp2p.peerId.toString(),
    pubsub: libp2p.services.pubsub,
    topic,
    now,
  })
  service.onFrame((frame) => {
    if (frame.kind !== 'observation' || frame.origin === signer.id) return
    const tag = parseTag(frame.note ?? '')
    if (tag !== undefined) record(tag.runId, tag.seq, frame.data.value)
  })
  const fields = (runId: string, seq: number, note: string): FrameFields => ({
    generation: mesh.generation,
    meshName: mesh.meshName,
    kind: 'observation',
    originName: config.name,
    data: { zone: 'zone-1', metric: 'soil-moisture', value: now(), unit: '%' },
    trust: { tier: 'T1', sources: ['sensor:soil-moisture:zone-1'] },
    note: `${runId}:${seq}:${note}`,
  })
  // Pad so a frame, as it sits in the batch on the wire, is FRAME_WIRE_BYTES long.
  const probe = buildUnsignedFrame(signer.id, fields('warmup', 100_000, ''))
  const padding = 'x'.repeat(Math.max(0, FRAME_WIRE_BYTES - JSON.stringify(probe).length))
  publishOne = (runId, seq) => service.publish(fields(runId, seq, padding))
  publishing = () => ({
    batches: counters.get('frames.published.batches'),
    windowMs: service.publishing.windowMs,
    early: service.publishing.earlyBatches,
  })
} else {
  const pubsub = libp2p.services.pubsub
  pubsub.subscribe(topic)
  const encoder = new TextEncoder()
  const decoder = new TextDecoder()
  pubsub.addEventListener('message', (event: CustomEvent<Message>) => {
    if (event.detail.topic !== topic) return
    const payload = JSON.parse(decoder.decode(event.detail.data)) as { tag: string; sentAt: number }
    const tag = parseTag(payload.tag)
    if (tag !== undefined) record(tag.runId, tag.seq, payload.sentAt)
  })
  publishOne = (runId, seq) => pubsub.publish(topic, encoder.encode(rawPayload(runId, seq)))
}

const core = new WorkerCore({
  name: config.name,
  publishOne: (runId, seq) => publishOne(runId, seq),
  publishing: () => publishing(),
})

/** Diagnostics for overload: gossipsub drops a peer whose inbound stream errors and PRUNEs peers
 * from the mesh; both are recorded with the time since start. Reaches into gossipsub internals
 * (bench only). */
const linkEvents: string[] = []
const startedAt = performance.now()
const since = () => `${Math.round(performance.now() - startedAt)} ms`
{
  const internals = libp2p.services.pubsub as unknown as {
    handlePeerReadStreamError(error: Error, peerId: unknown): void
    streamsOutbound: Map<string, unknown>
  }
  const original = internals.handlePeerReadStreamError.bind(internals)
  internals.handlePeerReadStreamError = (error, peerId) => {
    linkEvents.push(`${since()}: read stream from ${String(peerId).slice(-6)} failed: ${error.message}`)
    original(error, peerId)
  }
  libp2p.services.pubsub.addEventListener('gossipsub:prune', (event) => {
    const detail = (event as CustomEvent<{ peerId: unknown; direction: string }>).detail
    linkEvents.push(`${since()}: prune ${detail.direction} ${String(detail.peerId).slice(-6)}`)
  })
  libp2p.addEventListener('peer:disconnect', (event) =>
    linkEvents.push(`${since()}: disconnected from ${event.detail.toString().slice(-6)}`),
  )
}

await libp2p.start()
const address = libp2p.getMultiaddrs().find((addr) => addr.toString().includes('/ws'))
send({ type: 'listening', addr: address?.toString() ?? '', peerId: libp2p.peerId.toString() })

process.on('message', (message: ParentMessage) => {
  void handle(message).catch((error: unknown) => send({ type: 'error', message: String(error) }))
})

async function handle(message: ParentMessage): Promise<void> {
  switch (message.type) {
    case 'dial':
      hubPeerId = message.hub
      await Promise.all(message.addrs.map((addr) => libp2p.dial(multiaddr(addr))))
      send({ type: 'dialled' })
      return
    case 'status':
      send({
        type: 'status',
        connections: libp2p.getConnections().length,
        // Mesh membership is not on the public GossipSub interface; the implementation has it.
        meshPeers: (
          libp2p.services.pubsub as unknown as { getMeshPeers(topic: string): string[] }
        ).getMeshPeers(topic).length,
        meshDegree: (libp2p.services.pubsub as unknown as { opts: { D: number } }).opts.D,
        gossipPeers: libp2p.services.pubsub.getPeers().length,
        outboundStreams: (libp2p.services.pubsub as unknown as { streamsOutbound: Map<string, unknown> })
          .streamsOutbound.size,
        linkEvents: linkEvents.splice(0),
      })
      return
    case 'mark':
    case 'publish':
    case 'count':
    case 'collect':
      await core.handle(message)
      return
    case 'exit':
      await Promise.race([libp2p.stop(), new Promise((resolve) => setTimeout(resolve, 3_000))])
      process.exit(0)
  }
}
