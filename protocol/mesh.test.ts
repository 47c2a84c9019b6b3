import { describe, expect, it } from 'vitest'
import {
  checkMeshCompatibility,
  checkServedPeerMesh,
  contextTopic,
  formatAgentVersion,
  parseAgentVersion,
  rpcProtocolId,
} from './mesh.ts'

const local = { meshName: 'farm', generation: 1 }

describe('mesh identity', () => {
  it('derives protocol ids and topics from mesh name and generation', () => {
    expect(rpcProtocolId(3)).toBe('/clawmesh/rpc/3')
    expect(contextTopic({ meshName: 'farm', generation: 2 })).toBe('clawmesh/farm/ctx/2')
  })

  it('round-trips the agent announcement', () => {
    const announcement = { meshName: 'farm', generation: 1, kind: 'node' as const, version: '0.1.0' }
    expect(parseAgentVersion(formatAgentVersion(announcement))).toEqual(announcement)
    expect(parseAgentVersion('js-libp2p/3.0.0 UserAgent=node')).toBeUndefined()
    expect(parseAgentVersion(undefined)).toBeUndefined()
  })

  it('accepts its own mesh and refuses other meshes, other generations and non-ClawMesh agents', () => {
    const node = (meshName: string, generation = 1) => ({
      meshName,
      generation,
      kind: 'node' as const,
      version: '0.1.0',
    })
    expect(checkMeshCompatibility(local, node('farm'))).toEqual({ verdict: 'accept' })
    expect(checkMeshCompatibility(local, node('quarry'))).toMatchObject({
      verdict: 'reject',
      reason: 'mesh-mismatch',
    })
    expect(checkMeshCompatibility(local, node('farm', 2))).toMatchObject({
      verdict: 'reject',
      reason: 'generation-mismatch',
    })
    expect(checkMeshCompatibility(local, undefined)).toMatchObject({
      verdict: 'reject',
      reason: 'not-clawmesh',
    })
  })

  it('lets CLI and console clients of another mesh connect (to pair) but serves none of them', () => {
    const client = (kind: 'cli' | 'console', meshName: string) => ({
      meshName,
      generation: 1,
      kind,
      version: 'x',
    })
    expect(checkServedPeerMesh(local, client('cli', 'farm'))).toEqual({ verdict: 'accept' })
    expect(checkServedPeerMesh(local, client('console', 'farm'))).toEqual({ verdict: 'accept' })
    for (const kind of ['cli', 'console'] as const)
      expect(checkServedPeerMesh(local, client(kind, 'quarry'))).toMatchObject({
        verdict: 'reject',
        reason: 'mesh-mismatch',
      })
    expect(checkServedPeerMesh(local, undefined)).toMatchObject({ verdict: 'reject', reason: 'not-clawmesh' })
  })

  it('checks only the generation of CLI and console clients at hello time', () => {
    expect(
      checkMeshCompatibility(local, { meshName: 'clawmesh', generation: 1, kind: 'cli', version: 'x' }),
    ).toEqual({ verdict: 'accept' })
    expect(
      checkMeshCompatibility(local, { meshName: 'clawmesh', generation: 9, kind: 'console', version: 'x' }),
    ).toMatchObject({
      verdict: 'reject',
    })
  })
})
