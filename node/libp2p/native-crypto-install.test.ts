/**
 * Native crypto is installed by composition roots, never as a side effect of building a libp2p
 * stack: the installers protocol/ offers are spied on while a node's stack is built, then while
 * installNativeCrypto runs.
 */
import { generateKeyPair } from '@libp2p/crypto/keys'
import { afterEach, describe, expect, it, vi } from 'vitest'
import { DEFAULT_MESH_NAME, PROTOCOL_GENERATION } from '../../protocol/mesh.ts'
import { DIAL_ANY_ADDRESS } from '../../runtime/libp2p/build-libp2p.ts'
import { installNativeCrypto } from '../../runtime/libp2p/native-crypto.ts'
import { createNodeLibp2p } from './create-node-libp2p.ts'

const installers = vi.hoisted(() => ({ sha256: vi.fn(), ed25519: vi.fn() }))

vi.mock('../../protocol/canonical.ts', async (importOriginal) => {
  const original = await importOriginal<typeof import('../../protocol/canonical.ts')>()
  return {
    ...original,
    useNativeSha256Hex: (...args: Parameters<typeof original.useNativeSha256Hex>) => {
      installers.sha256()
      original.useNativeSha256Hex(...args)
    },
  }
})
vi.mock('../../protocol/signing.ts', async (importOriginal) => {
  const original = await importOriginal<typeof import('../../protocol/signing.ts')>()
  return {
    ...original,
    useNativeEd25519: (...args: Parameters<typeof original.useNativeEd25519>) => {
      installers.ed25519()
      original.useNativeEd25519(...args)
    },
  }
})

afterEach(() => vi.clearAllMocks())

describe('native crypto installation', () => {
  it('building a node stack installs neither native SHA-256 nor native Ed25519', async () => {
    const libp2p = await createNodeLibp2p({
      privateKey: await generateKeyPair('Ed25519'),
      mesh: { meshName: DEFAULT_MESH_NAME, generation: PROTOCOL_GENERATION },
      listen: [],
      gater: DIAL_ANY_ADDRESS,
    })
    await libp2p.stop()
    expect(installers.sha256).not.toHaveBeenCalled()
    expect(installers.ed25519).not.toHaveBeenCalled()
  })

  it('installNativeCrypto installs both', () => {
    installNativeCrypto()
    expect(installers.sha256).toHaveBeenCalledTimes(1)
    expect(installers.ed25519).toHaveBeenCalledTimes(1)
  })
})
