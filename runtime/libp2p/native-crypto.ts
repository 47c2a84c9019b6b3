/**
 * Native crypto for a ClawMesh process in Node: SHA-256 (native-hash.ts) and Ed25519
 * (native-ed25519.ts) through OpenSSL instead of protocol/'s portable pure-JS defaults, which the
 * browser console keeps. Each composition root (the `clawmesh`, `clawmesh-node` and
 * `clawmesh-relay` bins, and startClawMeshNode for nodes run in-process by tests and benchmarks)
 * calls installNativeCrypto once, before it builds anything; building a libp2p stack installs
 * nothing. Both give the portable code's exact answers, only faster. Idempotent.
 */
import { installNativeEd25519 } from './native-ed25519.ts'
import { installNativeSha256 } from './native-hash.ts'

export function installNativeCrypto(): void {
  installNativeSha256()
  installNativeEd25519()
}
