/**
 * What a console learns from the server that serves it: `GET /console-config.json` on the command
 * center's HTTPS origin. The console dials only the command center named here (WSS on the LAN, or
 * WebRTC through the relay across WAN); it holds no provider credentials and no mesh device keys.
 */
import { z } from 'zod'
import { deviceIdSchema } from './device-id.ts'

export const CONSOLE_CONFIG_PATH = '/console-config.json'

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
  /** The site the command center loaded, so the Twin can draw zones before any frame arrives. */
  siteName: z.string().max(128).optional(),
})
export type ConsoleConfig = z.infer<typeof consoleConfigSchema>
