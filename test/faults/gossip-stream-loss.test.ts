/**
 * Gossip lost on a live connection comes back (docs/scale.md, "Under CPU starvation a link can stay
 * up while its gossip is gone"). A command center runs in this process (`startClawMeshNode`, real
 * libp2p on loopback) and a field node runs as a `clawmesh start` process, its mock sensors
 * publishing every MOCK_SENSOR_INTERVAL_MS. Once frames flow, the test resets both gossipsub streams
 * of the command center's connection to the field node from the outside, with libp2p's own stream
 * API (`connection.streams`, `stream.abort`), as read errors and resets did in the soak; the
 * connection stays open. Both gossipsub instances drop the streams and, by themselves, never open
 * them again.
 *
 * Frames from the field node must reach the command center again within RESUME_WITHIN_MS (derived
 * from the watchdog's constants), over the same connection, none must arrive between the loss and
 * the repair, and the repair must be counted (by whichever end made it first; both run the
 * watchdog). Guard: node/libp2p/gossip-watchdog.ts, wired as `watchGossipStreams(components)` in
 * node/clawmesh-node.ts; with that part removed from the list no frame arrives after the loss and
 * the test times out waiting for one (checked).
 */
import { peerIdFromString } from '@libp2p/peer-id'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type ClawMeshNode, startClawMeshNode } from '../../node/clawmesh-node.ts'
import { parseNodeConfig } from '../../node/config.ts'
import { MOCK_SENSOR_INTERVAL_MS } from '../../node/devices/field-devices.ts'
import { GOSSIP_STREAM_GRACE_MS, GOSSIP_WATCHDOG_CHECK_MS } from '../../node/libp2p/gossip-watchdog.ts'
import { DEMO_FARM_PATH } from '../../node/site/site-model.ts'
import type { MeshEvent } from '../../protocol/rpc/methods.ts'
import {
  cliJson,
  makeStateDir,
  type NodeProcess,
  startNode,
  stopAll,
  trustEachOther,
  waitFor,
} from '../helpers/processes.ts'

/** A frame validated just before the reset may still be delivered a moment after it. */
const IN_FLIGHT_MS = 500
/** Identify's round trip, the new streams' protocol negotiation and the first message over them,
 * on a loaded 2-core machine. */
const REOPEN_ALLOWANCE_MS = 3_000
/** The loss is noticed at the next check, repaired once it has lasted the grace, and the next
 * sensor frame follows within its interval. */
const RESUME_WITHIN_MS =
  GOSSIP_WATCHDOG_CHECK_MS + GOSSIP_STREAM_GRACE_MS + MOCK_SENSOR_INTERVAL_MS + REOPEN_ALLOWANCE_MS

interface FieldHealth {
  health: { counters: Record<string, number> }
  events: MeshEvent[]
}

let cc: ClawMeshNode
let field: NodeProcess
let fieldDir: string
let fieldId: string
const ccLog: string[] = []
/** When each frame from the field node reached the command center. */
const arrivals: number[] = []

beforeAll(async () => {
  const ccDir = await makeStateDir('gossip-cc')
  fieldDir = await makeStateDir('gossip-field')
  const [ccId, fieldDeviceId] = await trustEachOther([ccDir, fieldDir], ['command-center', 'field-1'])
  fieldId = fieldDeviceId as string
  cc = await startClawMeshNode(
    parseNodeConfig(
      { name: 'command-center', host: '127.0.0.1', port: 0, discovery: false, stateDir: ccDir },
      'test',
    ),
    { log: (line) => ccLog.push(`${new Date().toISOString()} ${line}`) },
  )
  cc.context.onFrame((frame) => {
    if (frame.origin === fieldId) arrivals.push(Date.now())
  })
  const ccUrl = `ws://127.0.0.1:${cc.listenAddrs()[0]?.split('/')[4]}`
  field = await startNode(fieldDir, [
    '--name',
    'field-1',
    '--field-node',
    '--site',
    DEMO_FARM_PATH,
    '--command-center',
    ccId as string,
    '--peer',
    `${ccId}=${ccUrl}`,
  ])
  await waitFor('frames from field-1 at the command center', () => arrivals.length >= 2 || undefined, 30_000)
}, 60_000)

afterAll(async () => {
  await cc?.stop()
  await stopAll()
})

describe('gossip streams reset on a live connection', () => {
  it(`frames resume within ${RESUME_WITHIN_MS} ms over the same connection, and the repair is counted`, {
    timeout: 60_000,
  }, async () => {
    const [connection] = cc.libp2p.getConnections(peerIdFromString(fieldId))
    if (connection === undefined) throw new Error('the command center has no connection to field-1')
    const protocols = cc.libp2p.services.pubsub.protocols
    const gossipStreams = connection.streams.filter((stream) => protocols.includes(stream.protocol))
    expect(gossipStreams.map((stream) => stream.direction).sort()).toEqual(['inbound', 'outbound'])

    const lostAt = Date.now()
    for (const stream of gossipStreams) stream.abort(new Error('test: gossip stream lost'))
    expect(connection.status).toBe('open')

    const resumedAt = await waitFor(
      'a frame from field-1 after the loss',
      () => arrivals.find((at) => at > lostAt + IN_FLIGHT_MS),
      RESUME_WITHIN_MS + 10_000,
    ).catch((error: Error) => {
      throw new Error(
        `${error.message}\ncommand center log:\n${ccLog.join('\n')}\nfield-1:\n${field.output()}`,
      )
    })
    // The repairing end counts gossip restored at its next check after the repair.
    let field1: FieldHealth = { health: { counters: {} }, events: [] }
    const counted = (name: string) => cc.counters.get(name) + (field1.health.counters[name] ?? 0)
    await waitFor(
      'the repair counted as restored',
      async () => {
        field1 = await cliJson<FieldHealth>(['status', '--url', field.url, '--events'], fieldDir)
        return counted('gossip.restored') >= 1 || undefined
      },
      3 * GOSSIP_WATCHDOG_CHECK_MS,
    )
    const repairs = [
      ...cc.events.list().map((event) => ({ ...event, by: 'command-center' })),
      ...field1.events.map((event) => ({ ...event, by: 'field-1' })),
    ].filter((event) => event.type === 'peer.gossip.repair')
    const repairedAt = Math.min(...repairs.map((event) => event.at))
    console.log(
      `[gossip-stream-loss] frames resumed ${resumedAt - lostAt} ms after the loss; first repair at ${repairedAt - lostAt} ms (${repairs.map((event) => `${event.by} ${event.message}`).join('; ')})`,
    )

    expect(resumedAt - lostAt).toBeLessThanOrEqual(RESUME_WITHIN_MS)
    // Nothing came through until the repair: the gossip really was gone while the link stayed up.
    expect(arrivals.filter((at) => at > lostAt + IN_FLIGHT_MS && at < repairedAt)).toEqual([])
    // Reopened on the same connection, never closed to redial.
    expect(connection.status).toBe('open')
    expect(counted('gossip.repair.reopen')).toBeGreaterThanOrEqual(1)
    expect(counted('gossip.repair.redial')).toBe(0)
    expect(counted('gossip.repair.refused')).toBe(0)
  })
})
