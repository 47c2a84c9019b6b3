/**
 * The gossip mesh degree a node stack is built with: gossipsub's defaults, or the degree given
 * (with the derived Dout and Dscore gossipsub requires to be consistent with it, or it refuses to
 * start).
 */
import { generateKeyPair } from '@libp2p/crypto/keys'
import { describe, expect, it } from 'vitest'
import { DEFAULT_MESH_NAME, PROTOCOL_GENERATION } from '../../protocol/mesh.ts'
import { DIAL_ANY_ADDRESS } from '../../runtime/libp2p/build-libp2p.ts'
import { createNodeLibp2p, type NodeLibp2pInit } from './create-node-libp2p.ts'
import { HUB_GOSSIP_MESH_MAX } from './gossip-site.ts'

type Degree = { D: number; Dlo: number; Dhi: number; Dout: number; Dscore: number }

async function degreeOf(
  gossipMeshDegree?: NodeLibp2pInit['gossipMeshDegree'],
  gossipSite?: NodeLibp2pInit['gossipSite'],
): Promise<Degree> {
  const libp2p = await createNodeLibp2p({
    privateKey: await generateKeyPair('Ed25519'),
    mesh: { meshName: DEFAULT_MESH_NAME, generation: PROTOCOL_GENERATION },
    listen: [],
    gater: DIAL_ANY_ADDRESS,
    ...(gossipMeshDegree === undefined ? {} : { gossipMeshDegree }),
    ...(gossipSite === undefined ? {} : { gossipSite }),
  })
  try {
    // The options are not on gossipsub's public interface; the implementation keeps them.
    const { D, Dlo, Dhi, Dout, Dscore } = (libp2p.services.pubsub as unknown as { opts: Degree }).opts
    return { D, Dlo, Dhi, Dout, Dscore }
  } finally {
    await libp2p.stop()
  }
}

describe('gossip mesh degree', () => {
  it('is gossipsub’s default when not given', async () => {
    expect(await degreeOf()).toEqual({ D: 6, Dlo: 4, Dhi: 12, Dout: 2, Dscore: 4 })
  })

  it('is the given degree, with Dout below Dlo and at most D / 2, and Dscore at most D', async () => {
    expect(await degreeOf({ D: 2, Dlo: 2, Dhi: 3 })).toEqual({ D: 2, Dlo: 2, Dhi: 3, Dout: 1, Dscore: 2 })
    expect(await degreeOf({ D: 1, Dlo: 1, Dhi: 2 })).toEqual({ D: 1, Dlo: 1, Dhi: 2, Dout: 0, Dscore: 1 })
  })

  it('holds a whole site at a hub (node/libp2p/gossip-site.ts)', async () => {
    expect(await degreeOf(undefined, { role: 'hub' })).toEqual({
      D: 6,
      Dlo: 4,
      Dhi: HUB_GOSSIP_MESH_MAX,
      Dout: 2,
      Dscore: 4,
    })
  })
})
