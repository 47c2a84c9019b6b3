/**
 * Limits and names of the MCP server (`clawmesh mcp`, docs/mcp.md).
 */

/** Where `--http` listens unless `--host` says otherwise: loopback, so only this machine reaches it. */
export const MCP_DEFAULT_HTTP_HOST = '127.0.0.1'
/** The one path the Streamable HTTP endpoint answers on. */
export const MCP_HTTP_PATH = '/mcp'
/** Credential-store entry holding the HTTP bearer token (`clawmesh credential get mcp/bearer-token --reveal`). */
export const MCP_BEARER_CREDENTIAL = 'mcp/bearer-token'
/** A bearer token shorter than this is refused at start: 32 characters of base64url is 192 bits. */
export const MCP_BEARER_TOKEN_MIN_CHARS = 32
/** Random bytes of a generated token (base64url: 43 characters). */
export const MCP_BEARER_TOKEN_BYTES = 32
/** A tool call's JSON-RPC body: the largest input (a proposal's args) is a few KiB. */
export const MCP_HTTP_MAX_BODY_BYTES = 256 * 1024
/** Evidence entries `evidence_list` returns by default, and at most. */
export const MCP_EVIDENCE_DEFAULT_LIMIT = 50
export const MCP_EVIDENCE_MAX_LIMIT = 500
/** Frames `world_query` returns by default (the node caps the maximum, WORLD_QUERY_MAX_LIMIT). */
export const MCP_WORLD_DEFAULT_LIMIT = 50
/** Lines of a tool's short text rendering; the structured result carries everything. */
export const MCP_TEXT_MAX_LINES = 20
/** How often a subscribed resource is re-read to tell the client it changed: a person approving a
 * proposal shows within this; a shorter period costs one RPC per subscription per tick. */
export const MCP_SUBSCRIPTION_POLL_MS = 2_000
/** Subscriptions one session may hold (each costs a read per tick). */
export const MCP_SUBSCRIPTIONS_MAX = 32
