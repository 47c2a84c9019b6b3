/**
 * ContextService on real libp2p nodes in this process (WebSockets on loopback): frames published
 * with no gossip peer are counted as unheard and raise one event; once a peer is in the mesh, the
 * same publish reaches it, is verified there and says so; a frame still queued at stop is sent;
 * the coalescing window follows the machine's CPU pressure.
 */
import { multiaddr } from '@multiformats/multiaddr'
import { afterAll, describe, expect, it } from 'vitest'
import { BATCH_COALESCE_WINDOW_MAX_MS, BATCH_COALESCE_WINDOW_MS } from '../../protocol/context/constants.ts'
import type { FrameFields } from '../../protocol/context/index.ts'
import { CONTEXT_TEST_MESH, startContextNode, stopContextNodes } from '../../test/helpers/context-node.ts'
import { CPU_PRESSURE_SAMPLE_MS, CpuPressure } from './cpu-pressure.ts'

const mesh = CONTEXT_TEST_MESH
const startNode = (name: string, cpuPressure?: CpuPressure) => startContextNode(name, { cpuPressure })

function reading(value: number): FrameFields {
  return {
    ...mesh,
    kind: 'observation',
    originName: 'field',
    data: { zone: 'zone-1', metric: 'soil-moisture', value, unit: '%' },
    trust: { tier: 'T1', sources: ['sensor:soil-moisture:zone-1'] },
  }
}

async function until<T>(what: string, probe: () => T | undefined, timeoutMs = 20_000): Promise<T> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const value = probe()
    if (value !== undefined) return value
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await new Promise((resolve) => setTimeout(resolve, 50))
  }
}

afterAll(stopContextNodes)

describe('ContextService publishing', () => {
  it('counts frames that reached no peer, warns once, reports when peers hear it again, and sends what is queued at stop', async () => {
    const field = await startNode('field')
    await field.service.publish(reading(1))
    await field.service.publish(reading(2))
    expect(field.counters.get('frames.published.unheard')).toBe(2)
    expect(field.events.list().filter((event) => event.type === 'frames.unheard')).toHaveLength(1)
    expect(field.world.has((await field.service.publish(reading(3))).frameId)).toBe(true)

    const hub = await startNode('hub')
    await field.libp2p.dial(multiaddr(hub.libp2p.getMultiaddrs()[0]!.toString()))
    const topic = field.service.topic
    const pubsub = field.libp2p.services.pubsub as unknown as { getMeshPeers(topic: string): string[] }
    await until('the hub in the field node’s gossip mesh', () =>
      pubsub.getMeshPeers(topic).length > 0 ? true : undefined,
    )
    const unheardBefore = field.counters.get('frames.published.unheard')
    const frame = await field.service.publish(reading(4))
    expect(field.counters.get('frames.published.unheard')).toBe(unheardBefore)
    expect(field.events.list().at(-1)).toMatchObject({ type: 'frames.heard' })
    await until('the frame in the hub’s world model', () => (hub.world.has(frame.frameId) ? true : undefined))
    expect(hub.counters.get('frames.received')).toBeGreaterThanOrEqual(1)

    // A frame still waiting for its batch when the service stops is sent, not dropped.
    const last = field.service.publish(reading(5))
    field.service.stop()
    const sent = await last
    await until('the last frame at the hub', () => (hub.world.has(sent.frameId) ? true : undefined))
  })

  it('holds frames to a longer window while the machine is short of CPU, and back to the base window when it is not', async () => {
    let clock = 0
    let stalledUs = 0
    const pressure = new CpuPressure({ readTotalUs: () => stalledUs, now: () => clock })
    const field = await startNode('loaded field', pressure)
    /** `readings` pressure readings in a row with the given share of stalled time. */
    const sustain = (share: number, readings: number) => {
      for (let reading = 0; reading < readings; reading++) {
        clock += CPU_PRESSURE_SAMPLE_MS
        stalledUs += CPU_PRESSURE_SAMPLE_MS * 1_000 * share
        void field.service.publishing
      }
    }
    // Some task waited for a CPU all the time, for a second.
    sustain(1, 10)
    // A lone frame is not held: at a low rate a message per frame costs little.
    await field.service.publish(reading(1))
    expect(field.service.publishing.windowMs).toBe(BATCH_COALESCE_WINDOW_MS)
    // Many frames at once are.
    await Promise.all(Array.from({ length: 150 }, (_, i) => field.service.publish(reading(100 + i))))
    expect(field.service.publishing.windowMs).toBe(BATCH_COALESCE_WINDOW_MAX_MS)
    expect(field.service.publishing.cpuPressure).toBeGreaterThan(0.95)
    // Then no task waited, for a second.
    sustain(0, 10)
    await field.service.publish(reading(2))
    expect(field.service.publishing.windowMs).toBe(BATCH_COALESCE_WINDOW_MS)
    expect(field.service.publishing.cpuPressure).toBeLessThan(0.05)
    expect(field.counters.get('frames.published.batches')).toBeGreaterThanOrEqual(4)
  })
})
