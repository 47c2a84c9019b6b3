/**
 * The operator's own Ed25519 key: made in the browser on first open and kept in IndexedDB. It is
 * the console's libp2p identity (Noise authenticates it to the command center) and signs approvals.
 */
import { generateKeyPair, privateKeyFromProtobuf, privateKeyToProtobuf } from '@libp2p/crypto/keys'
import type { PrivateKey } from '@libp2p/interface'
import { type Signer, signerFromPrivateKey } from '../../../protocol/signing.ts'
import type { ConsoleDb } from '../storage/console-db.ts'

export interface OperatorKey {
  readonly privateKey: PrivateKey
  readonly operatorId: string
  readonly signer: Signer
}

export async function loadOrCreateOperatorKey(db: ConsoleDb): Promise<OperatorKey> {
  const stored = await db.get('operator-key')
  let privateKey: PrivateKey
  if (stored instanceof Uint8Array) {
    privateKey = privateKeyFromProtobuf(stored)
  } else {
    privateKey = await generateKeyPair('Ed25519')
    await db.put('operator-key', privateKeyToProtobuf(privateKey))
  }
  const signer = signerFromPrivateKey(privateKey)
  return { privateKey, operatorId: signer.id, signer }
}
