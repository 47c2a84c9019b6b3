/** What a paired operator console asks its command center for beyond the mesh reads. */
import { z } from 'zod'
import { ICE_SERVERS_MAX, iceServerSchema } from '../../ice-servers.ts'
import { method, noParamsSchema } from './define.ts'

export const CONSOLE_METHODS = {
  'console.iceServers': method({
    params: noParamsSchema,
    result: z.object({ iceServers: z.array(iceServerSchema).max(ICE_SERVERS_MAX) }),
    access: 'peer',
    description:
      "The node's STUN/TURN servers with their credentials, for a paired operator console's WebRTC (operator keys and the local admin only; console-config.json carries STUN only).",
  }),
} as const
