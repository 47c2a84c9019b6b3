/**
 * Lets this process's TLS clients (the global WebSocket that dials `wss://`) trust a CA besides the
 * system's: the one given with `--ca FILE`, and this state dir's own local CA, so `clawmesh status
 * --url wss://…` works on the command center without flags. NODE_EXTRA_CA_CERTS works as well.
 */
import { X509Certificate } from 'node:crypto'
import { readFile } from 'node:fs/promises'
import { getCACertificates, setDefaultCACertificates } from 'node:tls'
import { TlsMaterialError } from './tls-material.ts'
import { tlsPaths } from './tls-paths.ts'

const added = new Set<string>()

export async function trustCaFile(path: string): Promise<void> {
  let pem: string
  try {
    pem = await readFile(path, 'utf8')
    new X509Certificate(pem)
  } catch (error) {
    throw new TlsMaterialError('NOT_A_CERTIFICATE', `--ca ${path}: not a readable PEM certificate`, {
      cause: error,
    })
  }
  if (added.has(pem)) return
  added.add(pem)
  setDefaultCACertificates([...getCACertificates('default'), pem])
}

/** Trusts `<stateDir>/tls/ca.crt` when this state dir has made a local CA. */
export async function trustOwnLocalCa(stateDir: string): Promise<void> {
  const path = tlsPaths(stateDir).caCert
  const exists = await readFile(path, 'utf8').then(
    () => true,
    () => false,
  )
  if (exists) await trustCaFile(path)
}
