/**
 * A real libp2p node in this process (WebSockets on loopback, the node's own libp2p stack) with a
 * ContextService over a fresh world model: what tests and benchmarks of the context layer run
 * between. Every origin is trusted; `stopContextNodes` stops all those started.
 */
import { generateKeyPair } from '@libp2p/crypto/keys'
import type { PrivateKey } from '@libp2p/interface'
import { ContextService } from '../../node/context/context-service.ts'
import type { CpuPressure } from '../../node/context/cpu-pressure.ts'
import { createNodeLibp2p, type NodeLibp2p } from '../../node/libp2p/create-node-libp2p.ts'
import { EventRing } from '../../node/mesh/event-ring.ts'
import { WorldModel } from '../../node/world/world-model.ts'
import { DEFAULT_MESH_NAME, PROTOCOL_GENERATION } from '../../protocol/mesh.ts'
import { signerFromPrivateKey } from '../../protocol/signing.ts'
import { Counters } from '../../runtime/counters.ts'

export const CONTEXT_TEST_MESH = { meshName: DEFAULT_MESH_NAME, generation: PROTOCOL_GENERATION }

export interface ContextNode {
  readonly libp2p: NodeLibp2p
  readonly service: ContextService
  readonly counters: Counters
  readonly events: EventRing
  readonly world: WorldModel
  readonly privateKey: PrivateKey
  readonly deviceId: string
}

const started: ContextNode[] = []

export async function startContextNode(
  name: string,
  options: { cpuPressure?: CpuPressure } = {},
): Promise<ContextNode> {
  const privateKey = await generateKeyPair('Ed25519')
  const libp2p = await createNodeLibp2p({
    privateKey,
    mesh: CONTEXT_TEST_MESH,
    listen: ['/ip4/127.0.0.1/tcp/0/ws'],
    gater: { denyDialMultiaddr: () => false },
  })
  const counters = new Counters()
  const events = new EventRing(100)
  const world = new WorldModel()
  const service = new ContextService({
    libp2p,
    mesh: CONTEXT_TEST_MESH,
    signer: signerFromPrivateKey(privateKey),
    displayName: name,
    world,
    counters,
    events,
    isTrustedOrigin: () => true,
    log: () => {},
    cpuPressure: options.cpuPressure,
  })
  service.start()
  await libp2p.start()
  const node = { libp2p, service, counters, events, world, privateKey, deviceId: libp2p.peerId.toString() }
  started.push(node)
  return node
}

/** Stops every node started here (the services first: frames still queued go out). */
export async function stopContextNodes(): Promise<void> {
  for (const { libp2p, service } of started.splice(0)) {
    service.stop()
    await libp2p.stop()
  }
}
