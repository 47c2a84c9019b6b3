/** The HTTPS console server as a lifecycle part (command centers with TLS, see serve-console.ts). */
import type { NodeComponents } from '../components.ts'
import type { Startable } from '../lifecycle.ts'
import type { ConsoleServer } from './console-server.ts'
import { serveConsoleIfCommandCenter } from './serve-console.ts'

export class ConsolePart implements Startable {
  readonly name = 'console'
  readonly #components: NodeComponents
  #server: ConsoleServer | undefined

  constructor(components: NodeComponents) {
    this.#components = components
  }

  /** The running server; undefined before start and on nodes that serve no console. */
  get server(): ConsoleServer | undefined {
    return this.#server
  }

  async start(): Promise<void> {
    const { config, tls, identity, mesh, libp2p, membership, site, bindings } = this.#components
    this.#server = await serveConsoleIfCommandCenter({
      config,
      tls,
      source: {
        deviceId: identity.deviceId,
        name: config.name,
        meshName: mesh.meshName,
        generation: mesh.generation,
        listenAddrs: () => libp2p.getMultiaddrs().map((address) => address.toString()),
        relays: config.relays,
        iceServers: config.iceServers,
        fieldNodes: () =>
          membership
            .entries()
            .filter((record) => record.state === 'connected' && record.agent?.kind === 'node')
            .map((record) => ({ deviceId: record.deviceId, name: record.info?.name ?? record.deviceId })),
        ...(site === undefined ? {} : { siteName: site.site.name }),
        ...(site === undefined ? {} : { site }),
        deviceFor: (capability) => bindings.deviceFor(capability),
      },
      counters: this.#components.counters,
      events: this.#components.events,
      log: this.#components.log,
    })
  }

  async stop(): Promise<void> {
    await this.#server?.close()
  }
}
