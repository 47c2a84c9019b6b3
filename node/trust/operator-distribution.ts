/**
 * The command center's side of `trust.addOperator`: it hands every operator certificate it issued at
 * pairing to its relays and member nodes, so a console can reach them across WAN (WebRTC signalled by
 * the relay, docs/console.md). Certificates are kept until they expire (`mesh/operator-
 * certificates.json`), so a member that joins or restarts later is sent them again when it connects.
 * Each receiver verifies the certificate itself (runtime/trust/operator-admission.ts): this side only
 * delivers, it grants nothing.
 */
import { join } from 'node:path'
import { peerIdFromString } from '@libp2p/peer-id'
import { z } from 'zod'
import {
  type OperatorCertificate,
  operatorCertificateSchema,
} from '../../protocol/safety/operator-certificate.ts'
import type { IsOperatorRevoked } from '../../protocol/safety/revocation.ts'
import type { Counters } from '../../runtime/counters.ts'
import { readJsonFile, writeJsonAtomic } from '../../runtime/state/atomic-file.ts'
import type { NodeLibp2p } from '../libp2p/create-node-libp2p.ts'
import type { EventRing } from '../mesh/event-ring.ts'
import { callRpc } from '../rpc/rpc-client.ts'

/** Operators a command center has paired and whose certificates are still valid. A site has a few
 * operators and their tablets; past this the oldest certificates are dropped from redistribution
 * (they stay valid where they were already delivered). */
export const MAX_DISTRIBUTED_OPERATORS = 64
/** One delivery is a single small RPC; a member that does not answer in time gets it on reconnect. */
export const OPERATOR_DELIVERY_TIMEOUT_MS = 10_000

const certificatesFileSchema = z.object({
  version: z.literal(1),
  certificates: z.array(operatorCertificateSchema).max(MAX_DISTRIBUTED_OPERATORS),
})

export interface OperatorDistributionInit {
  stateDir: string
  libp2p: NodeLibp2p
  rpcProtocol: string
  /** Relays and member nodes that should accept consoles: connected now. */
  targets(): string[]
  /** A revoked operator's certificate is never handed out again. */
  isRevoked: IsOperatorRevoked
  counters: Counters
  events: EventRing
  log(line: string): void
  now?: () => number
}

export interface OperatorDistribution {
  /** A pairing issued this certificate: keep it and deliver it to every target now. */
  paired(certificate: OperatorCertificate): Promise<void>
  /** A relay or member (re)connected: deliver every valid certificate to it. */
  deliverAll(deviceId: string): Promise<void>
  certificates(): OperatorCertificate[]
}

export async function openOperatorDistribution(
  init: OperatorDistributionInit,
): Promise<OperatorDistribution> {
  const now = init.now ?? Date.now
  const path = join(init.stateDir, 'mesh', 'operator-certificates.json')
  const stored = await readJsonFile(path, certificatesFileSchema, 'operator certificates')
  let certificates = stored?.certificates ?? []
  const valid = () =>
    certificates.filter(
      (certificate) =>
        certificate.body.expiresAt > now() &&
        !init.isRevoked(certificate.body.operatorId, certificate.body.issuedAt),
    )

  const deliver = async (deviceId: string, certificate: OperatorCertificate) => {
    const operator = `${certificate.body.displayName} (${certificate.body.operatorId})`
    try {
      const result = await callRpc(
        init.libp2p,
        peerIdFromString(deviceId),
        init.rpcProtocol,
        'trust.addOperator',
        { certificate },
        { timeoutMs: OPERATOR_DELIVERY_TIMEOUT_MS },
      )
      init.counters.increment('operator.distribution.delivered')
      if (result.added) init.log(`operator ${operator} is now trusted by ${deviceId}`)
    } catch (error) {
      init.counters.increment('operator.distribution.failed')
      init.events.push({
        level: 'warn',
        type: 'operator.distribution.failed',
        message: `${deviceId} did not accept operator ${operator}: ${(error as Error).message}`,
        peer: deviceId,
      })
      init.log(`${deviceId} did not accept operator ${operator}: ${(error as Error).message}`)
    }
  }

  return {
    async paired(certificate) {
      certificates = [
        ...valid().filter((known) => known.body.operatorId !== certificate.body.operatorId),
        certificate,
      ].slice(-MAX_DISTRIBUTED_OPERATORS)
      await writeJsonAtomic(path, { version: 1, certificates })
      await Promise.all(init.targets().map((deviceId) => deliver(deviceId, certificate)))
    },
    async deliverAll(deviceId) {
      for (const certificate of valid()) await deliver(deviceId, certificate)
    },
    certificates: valid,
  }
}
