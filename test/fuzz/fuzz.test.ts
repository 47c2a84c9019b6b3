/**
 * CI's slice of the fuzzing (the million-input run is test/bench/fuzz.bench.ts): every boundary
 * decoder under a short fixed-seed run of its fast-check arbitrary. A decoder must answer in its
 * closed vocabulary (a ClawMeshError code, a verdict reason of its table) and must not accept a
 * signed record after a mutation changed it.
 */
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { RPC_METHODS } from '../../protocol/rpc/methods.ts'
import { buildSamples, buildTargets, careless, FuzzFailure, type FuzzTarget } from './targets.ts'

/** Fixed, so a CI failure replays locally with the same inputs. */
const CI_SEED = 202_612
const CI_RUNS_PER_TARGET = 150

const targets: FuzzTarget[] = buildTargets(await buildSamples())

describe('fuzzed boundary decoders (fixed seed)', () => {
  it('covers every RPC method, every signed record and every byte-level decoder', () => {
    const names = targets.map((target) => target.name)
    for (const method of Object.keys(RPC_METHODS)) expect(names).toContain(`rpc.${method} params`)
    for (const name of [
      'rpc.envelope (bytes)',
      'operator certificate',
      'approval',
      'command',
      'operator revocation',
      'evidence checkpoint',
      'leader announcement',
      'leader announcement (bytes)',
      'context frame',
      'context batch (bytes)',
      'pairing request (bytes)',
      'pairing response (bytes)',
      'console config',
    ])
      expect(names).toContain(name)
  })

  it('every signed sample verifies unmutated, so "no mutation verifies" is not vacuous', async () => {
    const signedTargets = targets.filter((target) => target.acceptsSample !== undefined)
    expect(signedTargets.length).toBe(8)
    for (const target of signedTargets) expect(await target.acceptsSample?.(), target.name).toBe(true)
  })

  it('the property catches a decoder that leaks a raw exception (guard: protocol/codec.ts)', async () => {
    const [envelope] = targets
    const leaky = await fc.check(
      fc.asyncProperty(envelope?.arbitrary ?? fc.constant(new Uint8Array()), async (input) => {
        try {
          careless(input as Uint8Array)
        } catch (error) {
          throw new FuzzFailure('unclassified', 'careless', String(error))
        }
      }),
      { seed: CI_SEED, numRuns: CI_RUNS_PER_TARGET },
    )
    expect(leaky.failed).toBe(true)
    expect(leaky.errorInstance).toBeInstanceOf(FuzzFailure)
  })

  it.each(targets.map((target, index) => [target.name, target, index] as const))(
    '%s answers only in its closed vocabulary',
    async (_name, target, index) => {
      await fc.assert(
        fc.asyncProperty(target.arbitrary, async (input) => {
          await target.run(input)
        }),
        { seed: CI_SEED + index, numRuns: CI_RUNS_PER_TARGET },
      )
    },
  )
})
