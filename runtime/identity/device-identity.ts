/**
 * Persistent Ed25519 identities. A node's device key (`identity/device.json`) is its libp2p PeerId;
 * the CLI has its own key (`identity/cli.json`) so a node can tell its local admin apart from remote
 * peers. A missing file is created; an existing file that cannot be read or does not match its
 * recorded ID is a startup error, never a silently regenerated identity.
 */
import { generateKeyPair, privateKeyFromProtobuf, privateKeyToProtobuf } from '@libp2p/crypto/keys'
import type { Ed25519PrivateKey, PrivateKey } from '@libp2p/interface'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { fromString as uint8ArrayFromString, toString as uint8ArrayToString } from 'uint8arrays'
import { z } from 'zod'
import { deviceIdSchema } from '../../protocol/device-id.ts'
import { readJsonFile, StateFileError, writeJsonAtomic } from '../state/atomic-file.ts'

const identityFileSchema = z.object({
  version: z.literal(1),
  type: z.literal('Ed25519'),
  deviceId: deviceIdSchema,
  privateKey: z.string().min(1),
  createdAt: z.string(),
})

export interface DeviceIdentity {
  readonly deviceId: string
  readonly privateKey: PrivateKey
  /** Raw public key, base64 */
  readonly publicKey: string
  readonly path: string
}

export async function loadOrCreateIdentity(path: string): Promise<DeviceIdentity> {
  const existing = await loadIdentity(path)
  if (existing !== undefined) return existing
  const privateKey: Ed25519PrivateKey = await generateKeyPair('Ed25519')
  const deviceId = peerIdFromPrivateKey(privateKey).toString()
  await writeJsonAtomic(
    path,
    {
      version: 1,
      type: 'Ed25519',
      deviceId,
      privateKey: uint8ArrayToString(privateKeyToProtobuf(privateKey), 'base64'),
      createdAt: new Date().toISOString(),
    },
    0o600,
  )
  return describe(privateKey, path)
}

export async function loadIdentity(path: string): Promise<DeviceIdentity | undefined> {
  const file = await readJsonFile(path, identityFileSchema, 'device identity')
  if (file === undefined) return undefined
  let privateKey: PrivateKey
  try {
    privateKey = privateKeyFromProtobuf(uint8ArrayFromString(file.privateKey, 'base64'))
  } catch (error) {
    throw new StateFileError(
      path,
      `device identity at ${path} holds an unreadable private key. It was left untouched.`,
      {
        cause: error,
      },
    )
  }
  const identity = describe(privateKey, path)
  if (identity.deviceId !== file.deviceId) {
    throw new StateFileError(
      path,
      `device identity at ${path} records ID ${file.deviceId} but its key belongs to ${identity.deviceId}. It was left untouched.`,
    )
  }
  return identity
}

function describe(privateKey: PrivateKey, path: string): DeviceIdentity {
  return {
    deviceId: peerIdFromPrivateKey(privateKey).toString(),
    privateKey,
    publicKey: uint8ArrayToString(privateKey.publicKey.raw, 'base64'),
    path,
  }
}
