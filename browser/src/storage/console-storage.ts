/**
 * The console's records in IndexedDB, typed: what is stored is parsed on the way out, so a record
 * left by an older build (or edited by hand) is ignored rather than trusted. The last known mesh
 * state is written only when it changed since the last write.
 */
import { z } from 'zod'
import { type ConsoleConfig, consoleConfigSchema } from '../../../protocol/console-config.ts'
import { ICE_SERVERS_MAX, type IceServer, iceServerSchema } from '../../../protocol/ice-servers.ts'
import {
  type OperatorCertificate,
  operatorCertificateSchema,
} from '../../../protocol/safety/operator-certificate.ts'
import { emptyMeshState, type MeshState } from '../state/mesh-state.ts'
import { type ConsoleDb, openConsoleDb } from './console-db.ts'

export interface ConsoleStorage {
  readonly db: ConsoleDb
  certificate(): Promise<OperatorCertificate | undefined>
  saveCertificate(certificate: OperatorCertificate): Promise<void>
  iceServers(): Promise<IceServer[] | undefined>
  saveIceServers(servers: readonly IceServer[]): Promise<void>
  /** Drops what pairing gave this console: the certificate and the ICE servers with credentials. */
  forgetPairing(): Promise<void>
  config(): Promise<ConsoleConfig | undefined>
  saveConfig(config: ConsoleConfig): Promise<void>
  snapshot(): Promise<MeshState | undefined>
  /** Writes the state unless it is the one written last (same `freshAt`). */
  saveSnapshot(state: MeshState): Promise<void>
  /** The alert IDs this operator key acknowledged, oldest first. */
  alertAcks(operatorId: string): Promise<string[]>
  /** Keeps the newest MAX_ACKED_ALERTS of them; other operators' acknowledgements are left alone. */
  saveAlertAcks(operatorId: string, ids: readonly string[]): Promise<void>
}

/** Acknowledged alert IDs kept per operator: alerts come and go with the bounded state the console
 * holds (observations, events, proposals), so an ID older than this many has long left the panel. */
export const MAX_ACKED_ALERTS = 1_000
/** Operator keys whose acknowledgements are kept: one per browser profile, a few after a reset. */
export const MAX_ACK_OPERATORS = 8
const ALERT_ID_MAX_LENGTH = 256

const alertAcksSchema = z
  .record(z.string().max(128), z.array(z.string().max(ALERT_ID_MAX_LENGTH)).max(MAX_ACKED_ALERTS))
  .refine((record) => Object.keys(record).length <= MAX_ACK_OPERATORS)

export async function createConsoleStorage(db?: ConsoleDb): Promise<ConsoleStorage> {
  const records = db ?? (await openConsoleDb())
  let savedFreshAt = 0
  return {
    db: records,
    certificate: async () => parsed(operatorCertificateSchema, await records.get('operator-certificate')),
    saveCertificate: (certificate) => records.put('operator-certificate', certificate),
    iceServers: async () =>
      parsed(iceServerSchema.array().max(ICE_SERVERS_MAX), await records.get('ice-servers')),
    saveIceServers: (servers) => records.put('ice-servers', servers),
    async forgetPairing() {
      await records.delete('operator-certificate')
      await records.delete('ice-servers')
    },
    config: async () => parsed(consoleConfigSchema, await records.get('console-config')),
    saveConfig: (config) => records.put('console-config', config),
    snapshot: async () => restoreSnapshot(await records.get('snapshot')),
    alertAcks: async (operatorId) =>
      parsed(alertAcksSchema, await records.get('alert-acks'))?.[operatorId] ?? [],
    async saveAlertAcks(operatorId, ids) {
      const stored = parsed(alertAcksSchema, await records.get('alert-acks')) ?? {}
      const others = Object.entries(stored)
        .filter(([id]) => id !== operatorId)
        .slice(-(MAX_ACK_OPERATORS - 1))
      await records.put('alert-acks', {
        ...Object.fromEntries(others),
        [operatorId]: ids.slice(-MAX_ACKED_ALERTS),
      })
    },
    async saveSnapshot(state) {
      if (state.freshAt === savedFreshAt) return
      savedFreshAt = state.freshAt
      await records.put('snapshot', JSON.parse(JSON.stringify(state)))
    },
  }
}

/** A stored snapshot over the empty state, so fields added since it was written get their defaults. */
export function restoreSnapshot(stored: unknown): MeshState | undefined {
  if (stored === undefined || stored === null || typeof stored !== 'object' || Array.isArray(stored))
    return undefined
  return { ...emptyMeshState(), ...(stored as Partial<MeshState>) }
}

function parsed<T>(
  schema: { safeParse(value: unknown): { success: true; data: T } | { success: false } },
  value: unknown,
) {
  const result = schema.safeParse(value)
  return result.success ? result.data : undefined
}
