/**
 * How a tool answers: the structured result (checked by the SDK against the tool's output schema)
 * with a short text rendering for clients that only show text; a failure as an `isError` result
 * carrying the ClawMesh error code, so the model can tell a refusal from a broken link. The code
 * goes in the text and in `_meta` (MCP_ERROR_META_KEY), not in `structuredContent`: clients check
 * structured content against the tool's output schema even on errors.
 */
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js'
import { type ErrorCode, normaliseError } from '../../protocol/errors.ts'
import { MCP_TEXT_MAX_LINES } from './constants.ts'

export function toolResult(structured: Record<string, unknown>, lines: readonly string[]): CallToolResult {
  const shown =
    lines.length > MCP_TEXT_MAX_LINES
      ? [
          ...lines.slice(0, MCP_TEXT_MAX_LINES),
          `… ${lines.length - MCP_TEXT_MAX_LINES} more in the structured result`,
        ]
      : lines
  return { content: [{ type: 'text', text: shown.join('\n') }], structuredContent: structured }
}

/** What the model is told to do next, per code: a refusal is final, a missing link is retried. */
const NEXT_STEP: Partial<Record<ErrorCode, string>> = {
  POLICY_DENIED: 'The safety policy refused it; do not retry the same request. Tell the person why.',
  FORBIDDEN:
    'This AI operator key may not do that. If it should propose, pair it with `clawmesh pair --operator NAME --roles ai-operator` and `clawmesh mcp pair`.',
  UNAUTHORIZED: 'The node does not trust this MCP key; pair it (docs/mcp.md).',
  UNAVAILABLE: 'The node is unreachable right now; retry later.',
  RATE_LIMITED: 'The node limits calls per second; wait a second before the next call.',
  NOT_FOUND: 'Nothing by that id; list first.',
}

/** `_meta` key of an error result's `{ code, message, data? }`. */
export const MCP_ERROR_META_KEY = 'clawmesh/error'

export function errorResult(error: unknown): CallToolResult {
  const normalised = normaliseError(error)
  const data = normalised.data
  const wire = {
    code: normalised.code,
    message: normalised.message,
    ...(data === undefined ? {} : { data }),
  }
  const next = NEXT_STEP[normalised.code]
  const policyCode = typeof data?.['code'] === 'string' ? ` (${data['code']})` : ''
  return {
    isError: true,
    content: [
      {
        type: 'text',
        text: `${normalised.code}${policyCode}: ${normalised.message}${next === undefined ? '' : `\n${next}`}`,
      },
    ],
    _meta: { [MCP_ERROR_META_KEY]: wire },
  }
}
