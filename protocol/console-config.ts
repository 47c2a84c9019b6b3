/**
 * What a console learns from the server that serves it: `GET /console-config.json` on the command
 * center's HTTPS origin. The console dials only the command center named here (WSS on the LAN, or
 * WebRTC through the relay across WAN); it holds no provider credentials and no mesh device keys.
 */
import { z } from 'zod'
import { deviceIdSchema } from './device-id.ts'
import { ICE_SERVERS_MAX, iceServerSchema } from './ice-servers.ts'

export const CONSOLE_CONFIG_PATH = '/console-config.json'
/** Bounds of the site summary: a farm has a handful of zones and a few devices in each. */
export const CONSOLE_SITE_ZONES_MAX = 64
export const CONSOLE_SITE_DEVICES_PER_ZONE_MAX = 64

/** Field nodes a console may reach over WebRTC through the relay (the WAN path): a site has tens of
 * nodes, and one relayed address per relay (at most the relays' bound of 8) reaches each. */
export const CONSOLE_FIELD_NODES_MAX = 32
export const CONSOLE_FIELD_NODE_ADDRS_MAX = 8

const siteIdSchema = z.string().min(1).max(64)
const siteNameSchema = z.string().min(1).max(128)

/** The site the command center loaded, as the Twin needs it: zones in the model's order with their
 * names, and which sensors and actuators (by device ID, the `source` of their frames) each holds —
 * so a zone is named and drawn before its first reading arrives — and, per actuator, the one
 * operation that moves it to its safe state. */
export const consoleSiteSchema = z.strictObject({
  id: siteIdSchema,
  name: siteNameSchema,
  zones: z
    .array(
      z.strictObject({
        id: siteIdSchema,
        name: siteNameSchema,
        kind: z.string().max(64).optional(),
        sensors: z
          .array(
            z.strictObject({
              id: siteIdSchema,
              metric: z.string().min(1).max(64),
              unit: z.string().max(16),
              /** The device the command center's records bind it to: its readings count only from it. */
              deviceId: deviceIdSchema.optional(),
            }),
          )
          .max(CONSOLE_SITE_DEVICES_PER_ZONE_MAX),
        actuators: z
          .array(
            z.strictObject({
              id: siteIdSchema,
              kind: z.string().min(1).max(64),
              deviceId: deviceIdSchema.optional(),
              /** What a proposal names it by, and the operation its manifest marks `safeState`
               * (close, stop): the Twin's "close now" proposes exactly that, through the policy. */
              capability: z.string().min(1).max(128).optional(),
              safeStateOperation: siteIdSchema.optional(),
            }),
          )
          .max(CONSOLE_SITE_DEVICES_PER_ZONE_MAX),
      }),
    )
    .max(CONSOLE_SITE_ZONES_MAX),
})
export type ConsoleSite = z.infer<typeof consoleSiteSchema>

export const consoleConfigSchema = z.strictObject({
  version: z.literal(1),
  meshName: z.string().min(1).max(64),
  generation: z.number().int().nonnegative(),
  commandCenter: z.strictObject({
    deviceId: deviceIdSchema,
    name: z.string().min(1).max(64),
    /** Multiaddrs the browser can dial, each ending in `/p2p/<deviceId>` (WSS first). */
    addrs: z.array(z.string().min(1).max(512)).min(1).max(16),
  }),
  /** Relay multiaddrs for the WebRTC path across WAN, when the mesh has a relay. */
  relays: z.array(z.string().min(1).max(512)).max(8).default([]),
  /** Field nodes the console may dial over WebRTC signalled by the relay (`/…/p2p/<relay>/p2p-circuit/
   * webrtc/p2p/<node>`), for their frames directly; only for WAN use, see docs/console.md. */
  fieldNodes: z
    .array(
      z.strictObject({
        deviceId: deviceIdSchema,
        name: z.string().min(1).max(64),
        addrs: z.array(z.string().min(1).max(512)).min(1).max(CONSOLE_FIELD_NODE_ADDRS_MAX),
      }),
    )
    .max(CONSOLE_FIELD_NODES_MAX)
    .default([]),
  /** STUN servers for the console's WebRTC (`rtcConfiguration.iceServers`): the STUN part of the
   * command center's configured `iceServers`, never a TURN server or any credential — this is served
   * before pairing, to anyone who can load the page. A paired operator fetches the full list, TURN
   * credentials included, over its authenticated link (`console.iceServers`). Empty by default. */
  iceServers: z.array(iceServerSchema).max(ICE_SERVERS_MAX).default([]),
  /** The site the command center loaded, so the Twin can draw zones before any frame arrives. */
  siteName: z.string().max(128).optional(),
  /** Zones, their names and their devices, when the command center loaded a site model. */
  site: consoleSiteSchema.optional(),
})
export type ConsoleConfig = z.infer<typeof consoleConfigSchema>
