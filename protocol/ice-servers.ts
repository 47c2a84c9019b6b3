/**
 * STUN/TURN servers for WebRTC, as a node's config names them and as console-config hands them to
 * the browser's `rtcConfiguration`. None by default: no public STUN server is ever contacted unless
 * the operator configures one (DESIGN.md). One schema for node and browser, so both refuse the same.
 */
import { z } from 'zod'

/** A site needs a STUN server and perhaps a TURN server or two; more is a misconfiguration. */
export const ICE_SERVERS_MAX = 8
/** URLs of one server (e.g. `turn:…?transport=udp` and `turns:…:443`). */
export const ICE_SERVER_URLS_MAX = 4
export const ICE_SERVER_URL_MAX_LENGTH = 256
export const ICE_SERVER_SECRET_MAX_LENGTH = 256

export const iceServerUrlSchema = z
  .string()
  .max(ICE_SERVER_URL_MAX_LENGTH)
  .regex(/^(stun|stuns|turn|turns):[^\s]+$/, 'ICE servers look like stun:host:port or turn:host:port')

const isTurn = (url: string) => /^turns?:/.test(url)

/** `{ urls, username?, credential? }` as RTCIceServer has it. A TURN URL needs both: browsers
 * refuse a TURN server without them (RTCPeerConnection throws) and TURN servers require them. */
export const iceServerSchema = z
  .strictObject({
    urls: z.array(iceServerUrlSchema).min(1).max(ICE_SERVER_URLS_MAX),
    username: z.string().min(1).max(ICE_SERVER_SECRET_MAX_LENGTH).optional(),
    credential: z.string().min(1).max(ICE_SERVER_SECRET_MAX_LENGTH).optional(),
  })
  .refine(
    (server) =>
      !server.urls.some(isTurn) || (server.username !== undefined && server.credential !== undefined),
    {
      message:
        'a TURN server needs a username and a credential: in a node config file {"urls": ["turn:host:3478"], "username": "…", "credential": "…"}',
    },
  )
export type IceServer = z.infer<typeof iceServerSchema>

/** What a node config accepts per entry: a bare URL (STUN, no credentials) or the object form
 * (TURN with its username and credential, or several URLs of one server); parsed to the object. */
export const iceServerConfigSchema = z
  .union([
    iceServerUrlSchema,
    z.strictObject({
      urls: z.union([iceServerUrlSchema, z.array(iceServerUrlSchema).min(1).max(ICE_SERVER_URLS_MAX)]),
      username: z.string().min(1).max(ICE_SERVER_SECRET_MAX_LENGTH).optional(),
      credential: z.string().min(1).max(ICE_SERVER_SECRET_MAX_LENGTH).optional(),
    }),
  ])
  .transform((entry) =>
    typeof entry === 'string'
      ? { urls: [entry] }
      : { ...entry, urls: typeof entry.urls === 'string' ? [entry.urls] : entry.urls },
  )
  .pipe(iceServerSchema)
export type IceServerConfig = z.input<typeof iceServerConfigSchema>

export const iceServersConfigSchema = z.array(iceServerConfigSchema).max(ICE_SERVERS_MAX)

/** What may be shown to anyone who loads the console page: STUN URLs only. TURN servers need their
 * username and credential, which a paired operator fetches over its authenticated link
 * (`console.iceServers`); a TURN URL without them is useless to a browser, so it is left out too. */
export function publicIceServers(iceServers: readonly IceServer[] | undefined): IceServer[] {
  return (iceServers ?? []).slice(0, ICE_SERVERS_MAX).flatMap((server) => {
    const urls = server.urls.filter((url) => !isTurn(url))
    return urls.length === 0 ? [] : [{ urls }]
  })
}

/** The RTCConfiguration a WebRTC transport gets: exactly the configured servers, none by default. */
export function rtcConfigurationFor(iceServers: readonly IceServer[] | undefined): {
  iceServers: IceServer[]
} {
  return { iceServers: (iceServers ?? []).slice(0, ICE_SERVERS_MAX).map((server) => ({ ...server })) }
}
