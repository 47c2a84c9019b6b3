/**
 * The shared builder: two stacks it builds reach each other over loopback WebSockets, and each
 * learns through identify the kind and mesh the other announces (what the node's hello and the
 * relay's mesh check read).
 */
import { generateKeyPair } from '@libp2p/crypto/keys'
import type { IdentifyResult } from '@libp2p/interface'
import { afterEach, describe, expect, it } from 'vitest'
import { PROTOCOL_GENERATION, parseAgentVersion } from '../../protocol/mesh.ts'
import { CLAWMESH_VERSION } from '../version.ts'
import { buildLibp2p, type ClawMeshLibp2p, DIAL_ANY_ADDRESS } from './build-libp2p.ts'

const mesh = { meshName: 'farm-a', generation: PROTOCOL_GENERATION }
const started: ClawMeshLibp2p<Record<string, never>>[] = []

afterEach(async () => {
  await Promise.all(started.splice(0).map((libp2p) => libp2p.stop()))
})

describe('buildLibp2p', () => {
  it('announces each side kind, mesh and version through identify', async () => {
    const relay = await buildLibp2p({
      privateKey: await generateKeyPair('Ed25519'),
      agent: { name: 'clawmesh-relay', kind: 'relay', mesh },
      listen: ['/ip4/127.0.0.1/tcp/0/ws'],
      gater: DIAL_ANY_ADDRESS,
    })
    started.push(relay)
    const cli = await buildLibp2p({
      privateKey: await generateKeyPair('Ed25519'),
      agent: { name: 'clawmesh-cli', kind: 'cli', mesh },
      gater: DIAL_ANY_ADDRESS,
    })
    started.push(cli)
    const identifiedBy = (libp2p: ClawMeshLibp2p<Record<string, never>>) =>
      new Promise<IdentifyResult>((resolve) =>
        libp2p.addEventListener('peer:identify', (event) => resolve(event.detail), { once: true }),
      )
    const heardByRelay = identifiedBy(relay)
    const heardByCli = identifiedBy(cli)
    const connection = await cli.dial(relay.getMultiaddrs()[0]!, { signal: AbortSignal.timeout(10_000) })
    expect(connection.remotePeer.equals(relay.peerId)).toBe(true)

    expect(parseAgentVersion((await heardByRelay).agentVersion)).toEqual({
      ...mesh,
      kind: 'cli',
      version: CLAWMESH_VERSION,
    })
    expect(parseAgentVersion((await heardByCli).agentVersion)).toEqual({
      ...mesh,
      kind: 'relay',
      version: CLAWMESH_VERSION,
    })
  })
})
