/**
 * Domain-separated Ed25519 signatures over canonical JSON. Device and operator IDs are libp2p
 * PeerIds of Ed25519 keys, which embed the public key, so a signature can be checked from the ID
 * alone. The domain prefix keeps a signature made for one purpose (a frame) from being replayed as
 * another (an approval).
 */
import { publicKeyFromRaw } from '@libp2p/crypto/keys'
import type { PrivateKey, PublicKey } from '@libp2p/interface'
import { peerIdFromPublicKey, peerIdFromString } from '@libp2p/peer-id'
import { fromString as uint8ArrayFromString, toString as uint8ArrayToString } from 'uint8arrays'
import { canonicalBytes } from './canonical.ts'
import { PUBLIC_KEY_CACHE_SIZE, VERIFIED_SIGNATURE_CACHE_SIZE } from './limits.ts'
import { BoundedLru } from './lru.ts'

/** Purposes a ClawMesh signature can be made for. Adding one is a protocol change. */
export type SignatureDomain =
  | 'context-frame'
  | 'frame-batch'
  | 'operator-certificate'
  | 'operator-revocation'
  | 'approval'
  | 'proposal'
  | 'command'
  | 'evidence-entry'
  | 'evidence-checkpoint'
  | 'pairing'
  | 'leader-term'
  | 'estop'
  | 'command-cancel'

const textEncoder = new TextEncoder()

export function signingBytes(domain: SignatureDomain, value: unknown): Uint8Array {
  const prefix = textEncoder.encode(`clawmesh:${domain}:v1\n`)
  const body = canonicalBytes(value)
  const bytes = new Uint8Array(prefix.byteLength + body.byteLength)
  bytes.set(prefix, 0)
  bytes.set(body, prefix.byteLength)
  return bytes
}

/** Something that can sign: a device's private key, an operator key in the browser, a test key. */
export interface Signer {
  readonly id: string
  sign(bytes: Uint8Array): Uint8Array | Promise<Uint8Array>
}

/** A faster Ed25519 a platform can install (the node installs OpenSSL through node:crypto with key
 * objects parsed once per key, runtime/libp2p/native-ed25519.ts). It must give exactly the answers of
 * the portable path (the key's own `sign`/`verify`, @libp2p/crypto); only speed may differ. */
export interface Ed25519Backend {
  /** Verifies `signature` over `message` by `publicKey`, the key embedded in `signerId` (a stable
   * cache key for the parsed key). Returns `undefined` for a key type it does not handle, so the
   * portable path decides. */
  verify(
    signerId: string,
    publicKey: PublicKey,
    message: Uint8Array,
    signature: Uint8Array,
  ): boolean | undefined
  /** Signs with `privateKey`; `undefined` for a key type it does not handle. */
  sign(privateKey: PrivateKey, message: Uint8Array): Uint8Array | undefined
}

let ed25519Backend: Ed25519Backend | undefined

/** Installs a native Ed25519 backend for every signature made and checked through this module;
 * `undefined` restores the portable one (the browser never installs one). */
export function useNativeEd25519(backend: Ed25519Backend | undefined): void {
  ed25519Backend = backend
}

export function signerFromPrivateKey(privateKey: PrivateKey): Signer {
  return {
    id: peerIdFromPublicKey(privateKey.publicKey).toString(),
    // The backend is looked up per signature, so a signer made before it was installed uses it too.
    sign: (bytes) => ed25519Backend?.sign(privateKey, bytes) ?? privateKey.sign(bytes),
  }
}

export async function signValue(signer: Signer, domain: SignatureDomain, value: unknown): Promise<string> {
  return encodeBase64Url(await signer.sign(signingBytes(domain, value)))
}

const publicKeyCache = new BoundedLru<string, PublicKey>(PUBLIC_KEY_CACHE_SIZE)

/** Public key embedded in an Ed25519 device/operator ID; throws on IDs that do not embed one. */
export function publicKeyOf(id: string): PublicKey {
  const cached = publicKeyCache.get(id)
  if (cached !== undefined) return cached
  const publicKey = peerIdFromString(id).publicKey
  if (publicKey === undefined) throw new Error(`ID ${id} does not embed a public key`)
  publicKeyCache.set(id, publicKey)
  return publicKey
}

/** Domains whose signed values are verified many times over (see VERIFIED_SIGNATURE_CACHE_SIZE);
 * frames and commands are verified once each and would only churn the cache. */
const REPEATED_DOMAINS: ReadonlySet<SignatureDomain> = new Set(['operator-certificate', 'approval'])

/** Valid signatures by (domain, signer, signature) with the exact bytes they were checked over. */
const verifiedSignatures = new BoundedLru<string, Uint8Array>(VERIFIED_SIGNATURE_CACHE_SIZE)

/** Verifies a signature made by `signerId` (a device or operator ID) over `value` in `domain`.
 * Returns false, never throws, for malformed IDs or signatures. */
export async function verifyValue(
  signerId: string,
  domain: SignatureDomain,
  value: unknown,
  signature: string,
): Promise<boolean> {
  try {
    const publicKey = publicKeyOf(signerId)
    const message = signingBytes(domain, value)
    const cacheKey = REPEATED_DOMAINS.has(domain) ? `${domain}\n${signerId}\n${signature}` : undefined
    // Ed25519 verification is deterministic: the same key, signature and bytes give the same answer.
    if (cacheKey !== undefined && sameBytes(verifiedSignatures.get(cacheKey), message)) return true
    const signatureBytes = decodeBase64Url(signature)
    const valid =
      ed25519Backend?.verify(signerId, publicKey, message, signatureBytes) ??
      (await publicKey.verify(message, signatureBytes))
    if (valid && cacheKey !== undefined) verifiedSignatures.set(cacheKey, message)
    return valid
  } catch {
    return false
  }
}

function sameBytes(a: Uint8Array | undefined, b: Uint8Array): boolean {
  if (a === undefined || a.byteLength !== b.byteLength) return false
  for (let index = 0; index < a.byteLength; index++) if (a[index] !== b[index]) return false
  return true
}

export function idFromRawPublicKey(raw: Uint8Array): string {
  return peerIdFromPublicKey(publicKeyFromRaw(raw)).toString()
}

export function encodeBase64Url(bytes: Uint8Array): string {
  return uint8ArrayToString(bytes, 'base64url')
}

export function decodeBase64Url(text: string): Uint8Array {
  return uint8ArrayFromString(text, 'base64url')
}
