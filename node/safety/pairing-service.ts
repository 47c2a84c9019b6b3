/**
 * The command center's side of pairing. While a pairing window is open, the gater admits keys it
 * does not know yet — but such a connection may only speak `/clawmesh/pair/<gen>`: RPC and frames
 * still require trust, and the connection is closed once the exchange ends (or after a short grace)
 * unless the code was right. A correct code adds the joiner's Noise-authenticated key to the trust
 * store; for an operator it also issues an operator certificate for that key.
 */
import type { Connection, Stream } from '@libp2p/interface'
import { lpStream } from '@libp2p/utils'
import { decodeJsonMessage, encodeJsonMessage } from '../../protocol/codec.ts'
import {
  PAIRING_MESSAGE_MAX_BYTES,
  type PairingResponseMessage,
  pairingRequestSchema,
  pairProtocolId,
} from '../../protocol/pairing.ts'
import type { OperatorCertificate } from '../../protocol/safety/operator-certificate.ts'
import type { Counters } from '../../runtime/counters.ts'
import type { TrustStore } from '../../runtime/trust/trust-store.ts'
import type { NodeLibp2p } from '../libp2p/create-node-libp2p.ts'
import type { EventRing } from '../mesh/event-ring.ts'
import type { PairingWindow } from './pairing.ts'
import type { SafetyRuntime } from './safety-runtime.ts'

/** How long an unknown key admitted during a pairing window may stay connected without pairing. */
export const PAIRING_CONNECTION_GRACE_MS = 20_000
const PAIRING_STREAM_TIMEOUT_MS = 10_000

export interface PairingServiceInit {
  libp2p: NodeLibp2p
  generation: number
  window: PairingWindow
  trust: TrustStore
  safety: SafetyRuntime
  counters: Counters
  events: EventRing
  log: (line: string) => void
  self: { deviceId: string; name: string; meshName: string }
  isKnown(deviceId: string): boolean
  /** An operator paired: its certificate goes to the relays and members (operator-distribution.ts). */
  onOperatorPaired?(certificate: OperatorCertificate): void
}

export async function startPairingService(init: PairingServiceInit): Promise<() => void> {
  const protocol = pairProtocolId(init.generation)
  await init.libp2p.handle(protocol, (stream, connection) => serve(init, stream, connection), {
    maxInboundStreams: 2,
  })
  const onConnection = (event: CustomEvent<Connection>) => {
    const remote = event.detail.remotePeer.toString()
    if (init.isKnown(remote)) return
    init.counters.increment('pairing.connections.admitted')
    setTimeout(() => {
      if (!init.isKnown(remote)) void event.detail.close().catch(() => {})
    }, PAIRING_CONNECTION_GRACE_MS).unref()
  }
  init.libp2p.addEventListener('connection:open', onConnection)
  return () => {
    init.libp2p.removeEventListener('connection:open', onConnection)
    void init.libp2p.unhandle(protocol)
  }
}

async function serve(init: PairingServiceInit, stream: Stream, connection: Connection): Promise<void> {
  const joiner = connection.remotePeer.toString()
  const messages = lpStream(stream, { maxDataLength: PAIRING_MESSAGE_MAX_BYTES })
  const signal = AbortSignal.timeout(PAIRING_STREAM_TIMEOUT_MS)
  let response: PairingResponseMessage
  try {
    const request = pairingRequestSchema.safeParse(
      decodeJsonMessage((await messages.read({ signal })).subarray(), PAIRING_MESSAGE_MAX_BYTES),
    )
    if (!request.success) {
      response = { ok: false, reason: 'malformed', message: 'the pairing request is malformed' }
    } else {
      const verdict = init.window.redeem(request.data.code, joiner)
      if (verdict.outcome === 'reject') {
        response = { ok: false, reason: verdict.reason, message: refusalMessage(verdict.reason) }
        init.events.push({
          level: 'warn',
          type: `pairing.refused.${verdict.reason}`,
          message: `pairing attempt by ${joiner} refused: ${verdict.reason}`,
          peer: joiner,
        })
        init.log(`pairing attempt by ${joiner} refused: ${verdict.reason}`)
      } else {
        const name = verdict.grant.kind === 'operator' ? verdict.grant.operatorName : request.data.name
        const certificate =
          verdict.grant.kind === 'operator'
            ? await init.safety.issueOperatorCertificate({
                operatorId: joiner,
                displayName: verdict.grant.operatorName ?? 'operator',
                roles: [...(verdict.grant.roles ?? ['operator'])],
                ...(verdict.grant.certificateTtlMs === undefined
                  ? {}
                  : { ttlMs: verdict.grant.certificateTtlMs }),
              })
            : undefined
        // An operator's key is trusted only as long as its certificate: past expiry the gater, the
        // RPC boundary and gossip all refuse it.
        await init.trust.add(
          joiner,
          name,
          certificate === undefined ? {} : { kind: 'operator', expiresAt: certificate.body.expiresAt },
        )
        await init.safety.evidence.append('decision', {
          kind: 'paired',
          as: verdict.grant.kind,
          deviceId: joiner,
          name,
        })
        init.events.push({
          level: 'info',
          type: 'pairing.accepted',
          message: `${name ?? joiner} paired as ${verdict.grant.kind}`,
          peer: joiner,
        })
        init.log(`paired ${name ?? joiner} (${joiner}) as ${verdict.grant.kind}`)
        if (certificate !== undefined) init.onOperatorPaired?.(certificate)
        response = {
          ok: true,
          kind: verdict.grant.kind,
          commandCenterId: init.self.deviceId,
          commandCenterName: init.self.name,
          meshName: init.self.meshName,
          ...(certificate === undefined ? {} : { certificate }),
        }
      }
    }
    await messages.write(encodeJsonMessage(response, PAIRING_MESSAGE_MAX_BYTES), { signal })
    await stream.close({ signal })
  } catch (error) {
    stream.abort(error as Error)
  }
  if (!init.isKnown(joiner)) await connection.close().catch(() => {})
}

function refusalMessage(reason: string): string {
  switch (reason) {
    case 'no-window':
      return 'no pairing window is open: run `clawmesh pair` on the command center first'
    case 'expired':
      return 'the pairing code expired: open a new window with `clawmesh pair`'
    case 'too-many-attempts':
      return 'too many wrong codes: open a new window with `clawmesh pair`'
    case 'peer-too-many-attempts':
      return 'too many wrong codes from this key: ask the admin to read the code again'
    case 'already-used':
      return 'this code was already used'
    default:
      return 'wrong code'
  }
}
