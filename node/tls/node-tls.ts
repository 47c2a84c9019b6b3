/**
 * Decides whether a starting node speaks TLS (WSS on its WebSocket port, HTTPS for the console) and
 * loads the material: `tls: on` creates the local CA and certificate when missing, `auto` uses them
 * when `clawmesh cert` has made them, `off` never does.
 */
import { DAY_MS } from './constants.ts'
import { ensureLocalTls, hasServerTls, loadServerTls, type ServerTls } from './tls-material.ts'

export type TlsMode = 'auto' | 'on' | 'off'

export async function resolveNodeTls(
  mode: TlsMode,
  stateDir: string,
  log: (line: string) => void,
): Promise<ServerTls | undefined> {
  if (mode === 'off') return undefined
  if (mode === 'auto' && !(await hasServerTls(stateDir))) return undefined
  if (mode === 'on') {
    const ensured = await ensureLocalTls(stateDir, { reissue: 'when-needed' })
    if (ensured.createdCa)
      log(`created a local CA in ${ensured.status.paths.dir} (install ca.crt on tablets)`)
    if (ensured.issuedServer)
      log(`issued a server certificate for ${ensured.status.server.dnsNames.join(', ')}`)
  }
  const tls = await loadServerTls(stateDir)
  const daysLeft = Math.floor((Date.parse(tls.status.server.validTo) - Date.now()) / DAY_MS)
  if (daysLeft < 30)
    log(`the server certificate expires in ${daysLeft} days: run \`clawmesh cert\` to renew it`)
  return tls
}
