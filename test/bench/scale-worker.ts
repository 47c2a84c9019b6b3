/**
 * One process of the scale simulation (test/bench/scale.bench.ts): it runs several ClawMesh nodes,
 * each the node's own libp2p stack (node/libp2p/create-node-libp2p.ts: tuned WebSockets, Noise,
 * yamux, gossipsub with the node's score parameters) and its context service (signed frame
 * batches, validated on receipt), on loopback. The parent plans the links, the partition and the
 * traffic; this process carries them out and reports what each of its nodes received.
 */
import { generateKeyPair } from '@libp2p/crypto/keys'
import type { PeerId } from '@libp2p/interface'
import { multiaddr } from '@multiformats/multiaddr'
import { ContextService } from '../../node/context/context-service.ts'
import { createNodeLibp2p, type NodeLibp2p } from '../../node/libp2p/create-node-libp2p.ts'
import { EventRing } from '../../node/mesh/event-ring.ts'
import { WorldModel } from '../../node/world/world-model.ts'
import {
  contextTopic,
  DEFAULT_MESH_NAME,
  type MeshIdentity,
  PROTOCOL_GENERATION,
} from '../../protocol/mesh.ts'
import { signerFromPrivateKey } from '../../protocol/signing.ts'
import { Counters } from '../../runtime/counters.ts'
import { installNativeCrypto } from '../../runtime/libp2p/native-crypto.ts'
import { now } from './shared-clock.ts'

installNativeCrypto()

/** Parent → worker. */
export type ScaleParentMessage =
  | { type: 'dial'; links: Array<{ from: number; to: string }> }
  | { type: 'status' }
  | { type: 'mark'; runId: string }
  | { type: 'publish'; runId: string; publishers: number[]; ratePerPublisher: number; seconds: number }
  | { type: 'collect'; runId: string }
  | { type: 'partition'; cut: Array<{ from: number; peerId: string }> }
  | { type: 'heal' }
  | { type: 'exit' }

/** Worker → parent. */
export type ScaleWorkerMessage =
  | { type: 'listening'; nodes: Array<{ index: number; addr: string; peerId: string }> }
  | { type: 'dialled'; failed: number }
  | { type: 'status'; nodes: Array<{ index: number; connections: number; meshPeers: number }> }
  | { type: 'marked' }
  | { type: 'published'; sent: number; failed: number }
  | {
      type: 'collected'
      /** [receiver index, origin index, seq, latency ms] of every first receipt of the run. */
      receipts: number[][]
      /** Gossip messages each node accepted first, and duplicate copies gossipsub dropped. */
      firstMessages: number
      duplicates: number
      cpuMs: number
      /** Connections closed since start, by the error they closed with. */
      closeReasons: Record<string, number>
    }
  | { type: 'partitioned' }
  | { type: 'healed' }

const mesh: MeshIdentity = { meshName: DEFAULT_MESH_NAME, generation: PROTOCOL_GENERATION }
const topic = contextTopic(mesh)
const { indexes, keepSlowLinks } = JSON.parse(process.argv[2] ?? '{}') as {
  indexes: number[]
  /** Keep a link whose keep-alive ping times out (libp2p's connection monitor aborts it by default). */
  keepSlowLinks: boolean
}
const send = (message: ScaleWorkerMessage) => process.send?.(message)

interface SimNode {
  index: number
  libp2p: NodeLibp2p
  service: ContextService
  /** Peers this node must not reach while a partition holds. */
  blocked: Set<string>
  receipts: number[][]
  firstMessages: number
  duplicates: number
}

let runId = ''
const closeReasons = new Map<string, number>()

async function createSimNode(index: number): Promise<SimNode> {
  const privateKey = await generateKeyPair('Ed25519')
  const blocked = new Set<string>()
  const libp2p = await createNodeLibp2p({
    privateKey,
    mesh,
    listen: ['/ip4/127.0.0.1/tcp/0/ws'],
    ...(keepSlowLinks ? { connectionMonitor: { abortConnectionOnPingFailure: false } } : {}),
    // The partition: a blocked peer is neither dialled nor accepted.
    gater: {
      denyDialPeer: (peer: PeerId) => blocked.has(peer.toString()),
      denyInboundEncryptedConnection: (peer: PeerId) => blocked.has(peer.toString()),
      denyDialMultiaddr: () => false,
    },
  })
  const service = new ContextService({
    libp2p,
    mesh,
    signer: signerFromPrivateKey(privateKey),
    displayName: `sim-${index}`,
    world: new WorldModel(),
    counters: new Counters(),
    events: new EventRing(100),
    isTrustedOrigin: () => true,
    log: () => {},
  })
  // Why links close (bench diagnostics): the error of each connection that closes, by message.
  libp2p.addEventListener('connection:open', (event) => {
    event.detail.addEventListener('close', (close: Event) => {
      const error = (close as Event & { error?: Error }).error
      const reason = error === undefined ? 'clean close' : `${error.name}: ${error.message}`.slice(0, 120)
      closeReasons.set(reason, (closeReasons.get(reason) ?? 0) + 1)
    })
  })
  const node: SimNode = { index, libp2p, service, blocked, receipts: [], firstMessages: 0, duplicates: 0 }
  service.start()
  service.onFrame((frame) => {
    if (frame.kind !== 'observation' || frame.note === undefined) return
    const [run, origin, seq] = frame.note.split(':')
    if (run !== runId || Number(origin) === index) return
    node.receipts.push([index, Number(origin), Number(seq), now() - frame.data.value])
  })
  // Counts from gossipsub's own paths (bench only): every message it handles, and each copy it
  // drops as a duplicate (already seen).
  const internals = libp2p.services.pubsub as unknown as {
    handleReceivedMessage(from: unknown, message: { topic: string }): Promise<void>
    score: { duplicateMessage(from: string, msgId: string, topic: string): void }
  }
  const handle = internals.handleReceivedMessage.bind(internals)
  internals.handleReceivedMessage = (from, message) => {
    if (message.topic === topic) node.firstMessages++
    return handle(from, message)
  }
  const duplicate = internals.score.duplicateMessage.bind(internals.score)
  internals.score.duplicateMessage = (from, msgId, messageTopic) => {
    if (messageTopic === topic) node.duplicates++
    duplicate(from, msgId, messageTopic)
  }
  return node
}

const nodes = new Map<number, SimNode>()
for (const index of indexes) nodes.set(index, await createSimNode(index))
send({
  type: 'listening',
  nodes: [...nodes.values()].map((node) => ({
    index: node.index,
    addr: `${node.libp2p.getMultiaddrs()[0]?.toString()}`,
    peerId: node.libp2p.peerId.toString(),
  })),
})

/** gossipsub's mesh for the context topic (its internal `mesh` map; bench only). */
function meshPeersOf(libp2p: NodeLibp2p): number {
  const internals = libp2p.services.pubsub as unknown as { mesh: Map<string, Set<string>> }
  return internals.mesh.get(topic)?.size ?? 0
}

const lastLinks: Array<{ from: number; to: string }> = []
/** Links are dialled a few at a time: on a loaded 2-core machine a burst of handshakes times out
 * stream negotiations, and gossipsub does not retry a peer whose stream failed to open. */
const DIALS_AT_ONCE = 4

async function dialAll(links: Array<{ from: number; to: string }>): Promise<number> {
  let failed = 0
  for (let start = 0; start < links.length; start += DIALS_AT_ONCE) {
    const results = await Promise.allSettled(
      links
        .slice(start, start + DIALS_AT_ONCE)
        .map((link) => (nodes.get(link.from) as SimNode).libp2p.dial(multiaddr(link.to))),
    )
    failed += results.filter((result) => result.status === 'rejected').length
  }
  return failed
}

async function publish(message: Extract<ScaleParentMessage, { type: 'publish' }>): Promise<void> {
  const publishers = message.publishers.map((index) => nodes.get(index)).filter((n) => n !== undefined)
  const intervalMs = 1000 / message.ratePerPublisher
  const total = Math.round(message.ratePerPublisher * message.seconds)
  let sent = 0
  let failed = 0
  const started = performance.now()
  for (let seq = 0; seq < total; seq++) {
    const due = started + seq * intervalMs
    const wait = due - performance.now()
    if (wait > 0) await new Promise((resolveWait) => setTimeout(resolveWait, wait))
    for (const node of publishers) {
      node.service
        .publish({
          generation: mesh.generation,
          meshName: mesh.meshName,
          originName: `sim-${node.index}`,
          kind: 'observation',
          data: { zone: 'zone-1', metric: 'soil-moisture', value: now(), unit: '%' },
          trust: { tier: 'T1', sources: ['sensor:soil-moisture:zone-1'] },
          note: `${message.runId}:${node.index}:${seq}`,
        })
        .then(
          () => sent++,
          () => failed++,
        )
    }
  }
  await new Promise((resolveWait) => setTimeout(resolveWait, 200))
  send({ type: 'published', sent, failed })
}

/** CPU of the current run: from its mark to its collect. */
let runCpuStart = process.cpuUsage()
process.on('message', async (message: ScaleParentMessage) => {
  switch (message.type) {
    case 'dial':
      lastLinks.push(...message.links)
      send({ type: 'dialled', failed: await dialAll(message.links) })
      break
    case 'status':
      send({
        type: 'status',
        nodes: [...nodes.values()].map((node) => ({
          index: node.index,
          connections: node.libp2p.getConnections().length,
          meshPeers: meshPeersOf(node.libp2p),
        })),
      })
      break
    case 'mark':
      runId = message.runId
      runCpuStart = process.cpuUsage()
      for (const node of nodes.values()) {
        node.receipts = []
        node.firstMessages = 0
        node.duplicates = 0
      }
      send({ type: 'marked' })
      break
    case 'publish':
      await publish(message)
      break
    case 'collect': {
      const all = [...nodes.values()]
      const cpu = process.cpuUsage(runCpuStart)
      send({
        type: 'collected',
        receipts: all.flatMap((node) => node.receipts),
        firstMessages: all.reduce((sum, node) => sum + node.firstMessages, 0),
        duplicates: all.reduce((sum, node) => sum + node.duplicates, 0),
        cpuMs: (cpu.user + cpu.system) / 1000,
        closeReasons: Object.fromEntries(closeReasons),
      })
      break
    }
    case 'partition':
      for (const { from, peerId } of message.cut) {
        const node = nodes.get(from) as SimNode
        node.blocked.add(peerId)
        for (const connection of node.libp2p.getConnections())
          if (connection.remotePeer.toString() === peerId) await connection.close().catch(() => {})
      }
      send({ type: 'partitioned' })
      break
    case 'heal':
      for (const node of nodes.values()) node.blocked.clear()
      send({ type: 'healed' })
      // The links the partition cut come back as they were made: the dialling side redials.
      void dialAll(lastLinks)
      break
    case 'exit':
      await Promise.allSettled([...nodes.values()].map((node) => node.libp2p.stop()))
      process.exit(0)
  }
})
