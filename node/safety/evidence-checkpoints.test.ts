import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import type { Frame, LocalFrameFields } from '../../protocol/context/index.ts'
import {
  type EvidenceCheckpoint,
  signEvidenceCheckpoint,
  verifyEvidenceCheckpoint,
} from '../../protocol/safety/index.ts'
import type { Signer } from '../../protocol/signing.ts'
import { Counters } from '../../runtime/counters.ts'
import { NOW, newSigner } from '../../test/helpers/safety-fixtures.ts'
import { EventRing } from '../mesh/event-ring.ts'
import { type EvidenceCheckpoints, openEvidenceCheckpoints } from './evidence-checkpoints.ts'
import { EvidenceLogWriter } from './evidence-log-writer.ts'

let stateDir: string
let signer: Signer
let published: EvidenceCheckpoint[]
let listeners: Set<(frame: Frame) => void>
let service: EvidenceCheckpoints | undefined

beforeEach(async () => {
  stateDir = await mkdtemp(join(tmpdir(), 'clawmesh-checkpoint-service-'))
  signer = await newSigner()
  published = []
  listeners = new Set()
})
afterEach(async () => {
  await service?.stop()
  service = undefined
  await rm(stateDir, { recursive: true, force: true })
})

async function start(
  writer: EvidenceLogWriter,
  options: { everyEntries?: number; intervalMs?: number; keeps?: (origin: string) => boolean } = {},
) {
  service = await openEvidenceCheckpoints({
    stateDir,
    deviceId: signer.id,
    signer,
    writer,
    publish: async (fields: LocalFrameFields) => {
      if (fields.kind === 'checkpoint') published.push(fields.data)
    },
    onFrame: (listener) => {
      listeners.add(listener)
      return () => listeners.delete(listener)
    },
    keeps: options.keeps ?? (() => true),
    counters: new Counters(),
    events: new EventRing(20),
    log: () => {},
    everyEntries: options.everyEntries ?? 3,
    intervalMs: options.intervalMs ?? 60_000,
  })
  service.start()
  return service
}

const checkpointFrame = (origin: string, data: EvidenceCheckpoint) =>
  ({ kind: 'checkpoint', origin, data }) as Frame

describe('evidence checkpoint service', () => {
  it('publishes nothing for an empty log, then a checkpoint every N durable entries', async () => {
    const writer = await EvidenceLogWriter.open({ stateDir, signer })
    await start(writer)
    await service?.publishNow()
    expect(published).toEqual([])
    for (let index = 0; index < 3; index++) await writer.append('refusal', { index }, NOW + index)
    await vi.waitFor(() => expect(published).toHaveLength(1))
    const checkpoint = published[0] as EvidenceCheckpoint
    expect(checkpoint).toMatchObject({ nodeId: signer.id, seq: 2, hash: writer.head?.hash })
    expect(await verifyEvidenceCheckpoint(checkpoint, signer.id)).toMatchObject({ outcome: 'accept' })
  })

  it('publishes the head at start, and on the interval only when the log moved', async () => {
    const first = await EvidenceLogWriter.open({ stateDir, signer })
    await first.append('refusal', { index: 0 }, NOW)
    await first.flush()
    const writer = await EvidenceLogWriter.open({ stateDir, signer })
    await start(writer, { intervalMs: 30 })
    await vi.waitFor(() => expect(published).toHaveLength(1))
    expect(published[0]).toMatchObject({ seq: 0 })
    // Several intervals with no new entry: nothing more.
    await new Promise((resolve) => setTimeout(resolve, 120))
    expect(published).toHaveLength(1)
    await writer.append('refusal', { index: 1 }, NOW + 1)
    await vi.waitFor(() => expect(published.at(-1)).toMatchObject({ seq: 1 }))
  })

  it('keeps only the checkpoints of the origins it keeps, and never its own', async () => {
    const writer = await EvidenceLogWriter.open({ stateDir, signer })
    const commandCenter = await newSigner()
    const fieldNode = await newSigner()
    const running = await start(writer, { keeps: (origin) => origin === commandCenter.id })
    const hash = 'c'.repeat(64)
    for (const source of [commandCenter, fieldNode, signer]) {
      const frame = checkpointFrame(source.id, await signEvidenceCheckpoint(source, { seq: 4, hash }, NOW))
      for (const listener of listeners) listener(frame)
    }
    await vi.waitFor(async () => {
      const kept = await running
        .handlers()
        ['evidence.checkpoints']({}, { callerId: commandCenter.id } as never)
      expect(kept.checkpoints.map((checkpoint) => checkpoint.nodeId)).toEqual([commandCenter.id])
    })
  })
})
