/**
 * Device IDs are libp2p PeerIds of Ed25519 keys (`12D3KooW…`). They are validated here so every
 * boundary (CLI arguments, trust files, RPC params, frames) refuses the same malformed input.
 */
import { peerIdFromString } from '@libp2p/peer-id'
import { z } from 'zod'

const ED25519_PEER_ID_PREFIX = '12D3KooW'

export type DeviceIdCheck = { readonly ok: true } | { readonly ok: false; readonly reason: string }

export function checkDeviceId(value: string): DeviceIdCheck {
  if (!value.startsWith(ED25519_PEER_ID_PREFIX)) {
    return {
      ok: false,
      reason: `a device ID is an Ed25519 libp2p peer ID starting with ${ED25519_PEER_ID_PREFIX}`,
    }
  }
  try {
    const peerId = peerIdFromString(value)
    if (peerId.type !== 'Ed25519')
      return { ok: false, reason: `expected an Ed25519 peer ID, got ${peerId.type}` }
    if (peerId.toString() !== value) return { ok: false, reason: 'the peer ID is not in canonical form' }
    return { ok: true }
  } catch (error) {
    return { ok: false, reason: `not a valid peer ID (${(error as Error).message})` }
  }
}

export const deviceIdSchema = z.string().superRefine((value, ctx) => {
  const check = checkDeviceId(value)
  if (!check.ok) ctx.addIssue({ code: 'custom', message: check.reason })
})
