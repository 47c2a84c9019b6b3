/** Whether and how a started node serves the operator console (command centers with TLS). */
import { isCommandCenterRole } from '../../protocol/roles.ts'
import type { Counters } from '../../runtime/counters.ts'
import type { NodeConfig } from '../config.ts'
import type { EventRing } from '../mesh/event-ring.ts'
import type { ServerTls } from '../tls/tls-material.ts'
import type { ConsoleConfigSource } from './console-config.ts'
import type { ConsoleServer } from './console-server.ts'

export interface ServeConsoleInit {
  config: NodeConfig
  tls: ServerTls | undefined
  source: ConsoleConfigSource
  counters: Counters
  events: EventRing
  log: (line: string) => void
}

export async function serveConsoleIfCommandCenter(
  init: ServeConsoleInit,
): Promise<ConsoleServer | undefined> {
  const { config, tls } = init
  const isCommandCenter = isCommandCenterRole(config.role)
  if (tls === undefined) {
    if (config.consoleDir !== undefined)
      init.log('--console-dir is ignored without TLS: run `clawmesh cert` or start with --tls')
    return undefined
  }
  if (!isCommandCenter && config.consoleDir === undefined) return undefined
  // Loaded only on a node that serves the console (docs/memory.md).
  const { DEFAULT_CONSOLE_DIR, startConsoleServer } = await import('./console-server.ts')
  return startConsoleServer({
    host: config.host,
    port: config.httpsPort,
    certPem: tls.certPem,
    keyPem: tls.keyPem,
    ...(tls.caPem === undefined ? {} : { caPem: tls.caPem }),
    consoleDir: config.consoleDir ?? DEFAULT_CONSOLE_DIR,
    source: init.source,
    counters: init.counters,
    events: init.events,
    log: init.log,
  })
}
