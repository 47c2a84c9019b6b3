/**
 * Device IDs are libp2p PeerIds of Ed25519 keys (`12D3KooW…`). They are validated here so every
 * boundary (CLI arguments, trust files, RPC params, frames) refuses the same malformed input.
 */
import { peerIdFromString } from '@libp2p/peer-id'
import { z } from 'zod'

const ED25519_PEER_ID_PREFIX = '12D3KooW'

export type DeviceIdCheck = { readonly ok: true } | { readonly ok: false; readonly reason: string }

/** Device IDs recently found valid. Every frame names its origin, so every hop would otherwise
 * base58-decode and re-encode the same few IDs thousands of times a second; a mesh has tens of
 * devices, so a bounded set (cleared when full) holds them all. Only successes are remembered. */
export const DEVICE_ID_CHECK_CACHE_SIZE = 4_096
const validDeviceIds = new Set<string>()

export function checkDeviceId(value: string): DeviceIdCheck {
  if (validDeviceIds.has(value)) return { ok: true }
  const check = checkDeviceIdUncached(value)
  if (check.ok) {
    if (validDeviceIds.size >= DEVICE_ID_CHECK_CACHE_SIZE) validDeviceIds.clear()
    validDeviceIds.add(value)
  }
  return check
}

function checkDeviceIdUncached(value: string): DeviceIdCheck {
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
