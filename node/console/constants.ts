/** Limits and defaults of the command center's console server (HTTPS). */

/** Default HTTPS port of the console. Not the WebSocket port: @libp2p/websockets answers every plain
 * HTTP request on its own port with 400, so the console cannot share it (docs/console-serving.md). */
export const DEFAULT_HTTPS_PORT = 18443

/** Longest request path accepted; a console URL is a few dozen characters. */
export const MAX_REQUEST_PATH_LENGTH = 2_048

/** Files above this size are sent uncompressed rather than compressed on the fly. */
export const MAX_COMPRESS_BYTES = 8 * 1024 * 1024

/** Below this, compression saves less than the header costs. */
export const MIN_COMPRESS_BYTES = 1_024

/** Compressed copies kept in memory (the built console is a few hundred KiB). */
export const COMPRESSED_CACHE_MAX_BYTES = 32 * 1024 * 1024

/** Vite names built assets `name-<hash>.ext`: their content never changes under that name. */
export const HASHED_ASSET_PATTERN = /[.-][A-Za-z0-9_-]{8,}\.(?:js|mjs|css|woff2?|png|svg|webp|jpg|wasm)$/

/** One year, the longest max-age browsers honour; used with `immutable` for hashed assets only. */
export const IMMUTABLE_MAX_AGE_S = 31_536_000

/** How long the server waits for open requests when the node stops. */
export const CLOSE_GRACE_MS = 2_000
