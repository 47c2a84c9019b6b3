/**
 * Native Ed25519 for the node, with key objects parsed once. @libp2p/crypto already uses OpenSSL
 * (node:crypto) in Node, but re-imports the key from JWK on every call: ~20 µs of a ~130 µs verify
 * and half of a ~90 µs signature. One verification per gossip batch on every hop and one signature
 * per batch at the publisher make that the largest single cost of a small batch, so the node keeps
 * each origin's public `KeyObject` (bounded LRU) and its own private one.
 *
 * Same OpenSSL, same answers: only the key import moves out of the per-call path. Key types other
 * than Ed25519 are left to the portable path.
 */
import { createPrivateKey, createPublicKey, type KeyObject, sign, verify } from 'node:crypto'
import type { PrivateKey, PublicKey } from '@libp2p/interface'
import { BoundedLru } from '../../protocol/lru.ts'
import { type Ed25519Backend, useNativeEd25519 } from '../../protocol/signing.ts'

/** Origins whose parsed public key a node keeps. A mesh has tens of devices and a few operators;
 * a flood of new IDs evicts the least recently used rather than growing memory. */
export const NATIVE_ED25519_KEY_CACHE_SIZE = 1_024

const ED25519_PUBLIC_KEY_BYTES = 32
const ED25519_SIGNATURE_BYTES = 64
/** DER SubjectPublicKeyInfo header for an Ed25519 key (RFC 8410): the raw 32 bytes follow. */
const ED25519_SPKI_PREFIX = Uint8Array.from([
  0x30, 0x2a, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x03, 0x21, 0x00,
])

function publicKeyObject(raw: Uint8Array): KeyObject {
  const der = new Uint8Array(ED25519_SPKI_PREFIX.byteLength + raw.byteLength)
  der.set(ED25519_SPKI_PREFIX, 0)
  der.set(raw, ED25519_SPKI_PREFIX.byteLength)
  return createPublicKey({
    key: Buffer.from(der.buffer, der.byteOffset, der.byteLength),
    format: 'der',
    type: 'spki',
  })
}

/** A new backend with its own key caches. */
export function createNativeEd25519(keyCacheSize: number = NATIVE_ED25519_KEY_CACHE_SIZE): Ed25519Backend {
  const publicKeys = new BoundedLru<string, KeyObject>(keyCacheSize)
  // Keyed by the key object itself: a node signs with one or two keys, dropped with them.
  const privateKeys = new WeakMap<PrivateKey, KeyObject>()
  return {
    verify(signerId: string, publicKey: PublicKey, message: Uint8Array, signature: Uint8Array) {
      if (publicKey.type !== 'Ed25519') return undefined
      // The portable path refuses (throws on) these lengths; the caller turns that into false.
      if (publicKey.raw.byteLength !== ED25519_PUBLIC_KEY_BYTES) return false
      if (signature.byteLength !== ED25519_SIGNATURE_BYTES) return false
      let keyObject = publicKeys.get(signerId)
      if (keyObject === undefined) {
        keyObject = publicKeyObject(publicKey.raw)
        publicKeys.set(signerId, keyObject)
      }
      return verify(null, message, keyObject, signature)
    },
    sign(privateKey: PrivateKey, message: Uint8Array) {
      if (privateKey.type !== 'Ed25519') return undefined
      let keyObject = privateKeys.get(privateKey)
      if (keyObject === undefined) {
        // libp2p's raw Ed25519 private key is the 32-byte seed followed by the public key.
        keyObject = createPrivateKey({
          format: 'jwk',
          key: {
            kty: 'OKP',
            crv: 'Ed25519',
            d: Buffer.from(privateKey.raw.subarray(0, 32)).toString('base64url'),
            x: Buffer.from(privateKey.publicKey.raw).toString('base64url'),
          },
        })
        privateKeys.set(privateKey, keyObject)
      }
      const signature = sign(null, message, keyObject)
      return new Uint8Array(signature.buffer, signature.byteOffset, signature.byteLength)
    },
  }
}

/** Makes protocol/'s signing and verification use native Ed25519 with cached keys. Idempotent. */
export function installNativeEd25519(): void {
  if (installed === undefined) installed = createNativeEd25519()
  useNativeEd25519(installed)
}

let installed: Ed25519Backend | undefined
