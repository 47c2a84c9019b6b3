/** Where a node keeps its TLS material: `$CLAWMESH_STATE_DIR/tls/`. */
import { join } from 'node:path'

export function tlsPaths(stateDir: string) {
  const dir = join(stateDir, 'tls')
  return {
    dir,
    /** Local CA private key: never leaves this machine. */
    caKey: join(dir, 'ca.key'),
    /** Local CA certificate: what tablets install (served at `GET /ca.crt`). */
    caCert: join(dir, 'ca.crt'),
    serverKey: join(dir, 'server.key'),
    /** Server certificate (PEM; may hold a chain when the user brought their own). */
    serverCert: join(dir, 'server.crt'),
  } as const
}
export type TlsPaths = ReturnType<typeof tlsPaths>
