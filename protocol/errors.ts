/**
 * The one closed table of error codes that crosses the wire. Handlers throw `ClawMeshError` with one
 * of these codes; anything else thrown is normalised to `INTERNAL` at the boundary, with the
 * original kept as `cause` locally and never sent to the caller.
 */
import { z } from 'zod'

export const ERROR_CODES = {
  BAD_REQUEST: 'The request could not be decoded or did not match the envelope schema.',
  PAYLOAD_TOO_LARGE: 'The request or response exceeded the size limit for this channel.',
  UNKNOWN_METHOD: 'The method is not in the RPC method table of this protocol generation.',
  INVALID_PARAMS: 'The parameters did not match the method schema.',
  UNAUTHORIZED: 'The caller is not trusted for this method.',
  FORBIDDEN: 'The caller is trusted but its role does not allow this method.',
  RATE_LIMITED: 'Too many requests from this peer; retry later.',
  TIMEOUT: 'The operation did not finish in time.',
  NOT_FOUND: 'The requested object does not exist.',
  UNAVAILABLE: 'No live provider can serve this request right now.',
  NO_PROVIDER: 'No live, trusted, non-viewer node advertises this capability.',
  POLICY_DENIED: 'The safety policy refused the action; `data.code` names the rule (see docs/safety.md).',
  ALREADY_EXECUTED: 'This command was executed (or started) before; it is never executed twice.',
  STALE_LEADER_TERM:
    'The command was issued under an older planner leader term than this node knows: its issuer is no longer the leader.',
  APPROVAL_REQUIRED: 'Actuation runs only through an approved proposal, never through a direct invoke.',
  NO_PLANNER: 'No planner leader is known right now (no live planner or standby-planner); retry later.',
  MESH_MISMATCH: 'The peer belongs to another mesh or protocol generation.',
  INTERNAL: 'The node failed while handling the request; see its log.',
} as const

export type ErrorCode = keyof typeof ERROR_CODES

export const errorCodeSchema = z.enum(Object.keys(ERROR_CODES) as [ErrorCode, ...ErrorCode[]])

export const wireErrorSchema = z.object({
  code: errorCodeSchema,
  message: z.string().max(2_000),
  data: z.record(z.string(), z.unknown()).optional(),
})
export type WireError = z.infer<typeof wireErrorSchema>

export class ClawMeshError extends Error {
  static readonly NAME = 'ClawMeshError'
  override readonly name = ClawMeshError.NAME
  readonly code: ErrorCode
  readonly data: Record<string, unknown> | undefined

  constructor(
    code: ErrorCode,
    message: string,
    options: { cause?: unknown; data?: Record<string, unknown> } = {},
  ) {
    super(message, { cause: options.cause })
    this.code = code
    this.data = options.data
  }

  toWire(): WireError {
    return this.data === undefined
      ? { code: this.code, message: this.message }
      : { code: this.code, message: this.message, data: this.data }
  }

  static fromWire(wire: WireError): ClawMeshError {
    return new ClawMeshError(wire.code, wire.message, wire.data === undefined ? {} : { data: wire.data })
  }
}

/** Maps anything thrown to the closed table. Unknown failures become INTERNAL with a generic
 * message so internals (paths, stack details) never leak to a remote caller. */
export function normaliseError(error: unknown): ClawMeshError {
  if (error instanceof ClawMeshError) return error
  if (error instanceof Error && error.name === 'AbortError') {
    return new ClawMeshError('TIMEOUT', 'the operation was aborted before it finished', { cause: error })
  }
  if (error instanceof Error && error.name === 'TimeoutError') {
    return new ClawMeshError('TIMEOUT', 'the operation timed out', { cause: error })
  }
  return new ClawMeshError('INTERNAL', 'internal error while handling the request', { cause: error })
}
