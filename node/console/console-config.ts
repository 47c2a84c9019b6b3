/**
 * Builds `GET /console-config.json` (protocol/console-config.ts) from the running node: who the
 * command center is and which of its addresses a browser can dial. The address the browser used to
 * load the page comes first, because that name is the one it can resolve and the certificate covers.
 */
import {
  CONSOLE_FIELD_NODES_MAX,
  CONSOLE_SITE_DEVICES_PER_ZONE_MAX,
  CONSOLE_SITE_ZONES_MAX,
  type ConsoleConfig,
  type ConsoleSite,
  consoleConfigSchema,
} from '../../protocol/console-config.ts'
import { type IceServer, publicIceServers } from '../../protocol/ice-servers.ts'
import type { SiteModel } from '../site/site-model.ts'

export interface ConsoleConfigSource {
  deviceId: string
  name: string
  meshName: string
  generation: number
  /** The node's multiaddrs, each ending in `/p2p/<deviceId>`. */
  listenAddrs(): string[]
  relays: readonly string[]
  /** The command center's STUN/TURN servers; only their STUN part is published here (none by default). */
  iceServers?: readonly IceServer[]
  /** Member field nodes (connected, kind node) the console may reach through the relays. */
  fieldNodes?(): Array<{ deviceId: string; name: string }>
  siteName?: string
  /** The loaded site model, summarised for the Twin (zones, names, devices). */
  site?: SiteModel
  /** The device this node's records bind a sensor or actuator capability to (site bindings), so the
   * Twin takes each device's state only from the node that serves it. */
  deviceFor?(capability: string): string | undefined
}

const MAX_ADDRS = 16
const MAX_RELAYS = 8

export function buildConsoleConfig(source: ConsoleConfigSource, requestHost?: string): ConsoleConfig {
  const suffix = `/p2p/${source.deviceId}`
  const all = source
    .listenAddrs()
    .map((address) => (address.endsWith(suffix) ? address : `${address}${suffix}`))
  const secure = all.filter((address) => address.includes('/tls/ws/'))
  const hostname = requestHost === undefined ? undefined : hostnameOf(requestHost)
  const first: string[] = []
  if (hostname !== undefined) {
    const matching = secure.filter((address) => hostOf(address) === hostname)
    first.push(...matching)
    const port = secure.map(portOf).find((value) => value !== undefined)
    if (matching.length === 0 && port !== undefined && !isIpLiteral(hostname))
      first.push(`/dns/${hostname}/tcp/${port}/tls/ws${suffix}`)
  }
  const isLoopback = (address: string) => /^\/ip4\/127\.|^\/ip6\/::1\//.test(address)
  const relayed = all.filter((address) => address.includes('/p2p-circuit/webrtc/'))
  const addrs = [
    ...new Set([
      ...first,
      ...secure.filter((address) => !isLoopback(address)),
      ...secure.filter(isLoopback),
      ...relayed,
    ]),
  ].slice(0, MAX_ADDRS)
  return consoleConfigSchema.parse({
    version: 1,
    meshName: source.meshName,
    generation: source.generation,
    commandCenter: { deviceId: source.deviceId, name: source.name, addrs },
    relays: source.relays.slice(0, MAX_RELAYS),
    fieldNodes: relayedFieldNodes(source),
    // Served to anyone who loads the page: no TURN server, no credential (see publicIceServers).
    iceServers: publicIceServers(source.iceServers),
    ...(source.siteName === undefined ? {} : { siteName: source.siteName }),
    ...(source.site === undefined ? {} : { site: consoleSiteSummary(source.site, source.deviceFor) }),
  })
}

/** Each field node's relayed WebRTC address on every relay of the command center: a site's nodes
 * hold their reservations on the site relay, which the command center also uses. */
function relayedFieldNodes(source: ConsoleConfigSource): ConsoleConfig['fieldNodes'] {
  const relays = source.relays.slice(0, MAX_RELAYS).filter((relay) => /\/p2p\/[^/]+$/.test(relay))
  if (relays.length === 0) return []
  return (source.fieldNodes?.() ?? [])
    .filter((node) => node.deviceId !== source.deviceId)
    .slice(0, CONSOLE_FIELD_NODES_MAX)
    .map((node) => ({
      deviceId: node.deviceId,
      name: node.name.slice(0, 64) || node.deviceId.slice(-8),
      addrs: relays.map((relay) => `${relay}/p2p-circuit/webrtc/p2p/${node.deviceId}`),
    }))
}

/** What the Twin needs of the site model: zones in the model's order with their names and the
 * device IDs of their sensors and actuators, and each actuator's capability and safe-state operation
 * (no other operations, no thresholds). */
export function consoleSiteSummary(
  site: SiteModel,
  deviceFor: (capability: string) => string | undefined = () => undefined,
): ConsoleSite {
  const boundTo = (capability: string) => {
    const deviceId = deviceFor(capability)
    return deviceId === undefined ? {} : { deviceId }
  }
  return {
    id: site.site.id,
    name: site.site.name,
    zones: site.zones.slice(0, CONSOLE_SITE_ZONES_MAX).map((zone) => ({
      id: zone.id,
      name: zone.name,
      ...(zone.kind === undefined ? {} : { kind: zone.kind }),
      sensors: site.sensors
        .filter((sensor) => sensor.zone === zone.id)
        .slice(0, CONSOLE_SITE_DEVICES_PER_ZONE_MAX)
        .map((sensor) => ({
          id: sensor.id,
          metric: sensor.metric,
          unit: sensor.unit,
          ...boundTo(sensor.capability),
        })),
      actuators: site.actuators
        .filter((actuator) => actuator.zone === zone.id)
        .slice(0, CONSOLE_SITE_DEVICES_PER_ZONE_MAX)
        .map((actuator) => {
          const safe = actuator.operations.find((operation) => operation.safeState)
          return {
            id: actuator.id,
            kind: actuator.kind,
            ...boundTo(actuator.capability),
            capability: actuator.capability,
            ...(safe === undefined ? {} : { safeStateOperation: safe.name }),
          }
        }),
    })),
  }
}

/** `host:port`, `[v6]:port` or a bare host → the lowercase host without brackets. */
function hostnameOf(hostHeader: string): string | undefined {
  try {
    const host = new URL(`https://${hostHeader}/`).hostname.toLowerCase()
    return host.startsWith('[') ? host.slice(1, -1) : host
  } catch {
    return undefined
  }
}

function hostOf(multiaddr: string): string | undefined {
  return /^\/(?:ip4|ip6|dns|dns4|dns6)\/([^/]+)\//.exec(multiaddr)?.[1]?.toLowerCase()
}

function portOf(multiaddr: string): number | undefined {
  const port = /\/tcp\/(\d+)\//.exec(multiaddr)?.[1]
  return port === undefined ? undefined : Number(port)
}

function isIpLiteral(host: string): boolean {
  return /^\d{1,3}(\.\d{1,3}){3}$/.test(host) || host.includes(':')
}
