/**
 * Pairing wire format: a joining device or operator proves a one-time code over the Noise-secured
 * `/clawmesh/pair/<gen>` stream. Noise has already authenticated the joiner's key, so a correct code
 * binds that key to the grant; nothing else is accepted from an untrusted peer.
 */
import type { Libp2p, PeerId } from '@libp2p/interface'
import { lpStream } from '@libp2p/utils'
import type { Multiaddr } from '@multiformats/multiaddr'
import { z } from 'zod'
import { decodeJsonMessage, encodeJsonMessage } from './codec.ts'
import { DISPLAY_NAME_MAX_LENGTH } from './limits.ts'
import { operatorCertificateSchema } from './safety/operator-certificate.ts'

export function pairProtocolId(generation: number): string {
  return `/clawmesh/pair/${generation}`
}

/** One small request and one small answer (an operator certificate is ~1 KiB). */
export const PAIRING_MESSAGE_MAX_BYTES = 8 * 1024

export const pairingRequestSchema = z
  .object({
    code: z.string().min(4).max(32),
    /** How the joiner wants to be listed in the command center's trust store. */
    name: z.string().min(1).max(DISPLAY_NAME_MAX_LENGTH).optional(),
  })
  .strict()
export type PairingRequestMessage = z.infer<typeof pairingRequestSchema>

export const pairingResponseSchema = z.discriminatedUnion('ok', [
  z.object({
    ok: z.literal(true),
    kind: z.enum(['device', 'operator']),
    commandCenterId: z.string(),
    commandCenterName: z.string(),
    meshName: z.string(),
    /** Operator pairing: the certificate the command center issued for the joiner's key. */
    certificate: operatorCertificateSchema.optional(),
  }),
  z.object({ ok: z.literal(false), reason: z.string(), message: z.string() }),
])
export type PairingResponseMessage = z.infer<typeof pairingResponseSchema>

/** How long a joiner waits for the whole pairing exchange (dial, code, answer). */
export const PAIRING_CLIENT_TIMEOUT_MS = 15_000

/** The joiner's side: proves the code over a Noise-secured stream to the command center and returns
 * its answer (validated). Used by `clawmesh pair join` and by the browser console. */
export async function requestPairing(
  libp2p: Pick<Libp2p, 'dialProtocol'>,
  target: PeerId | Multiaddr | Multiaddr[],
  generation: number,
  request: PairingRequestMessage,
  signal: AbortSignal = AbortSignal.timeout(PAIRING_CLIENT_TIMEOUT_MS),
): Promise<PairingResponseMessage> {
  const stream = await libp2p.dialProtocol(target, pairProtocolId(generation), { signal })
  try {
    const messages = lpStream(stream, { maxDataLength: PAIRING_MESSAGE_MAX_BYTES })
    await messages.write(encodeJsonMessage(pairingRequestSchema.parse(request), PAIRING_MESSAGE_MAX_BYTES), {
      signal,
    })
    const answer = pairingResponseSchema.parse(
      decodeJsonMessage((await messages.read({ signal })).subarray(), PAIRING_MESSAGE_MAX_BYTES),
    )
    await stream.close({ signal }).catch(() => {})
    return answer
  } catch (error) {
    stream.abort(error as Error)
    throw error
  }
}
