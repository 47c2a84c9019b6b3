/** Lifetimes and names of the TLS material a command center serves the console and WSS with. */

/** The local CA is installed once on each tablet; ten years means nobody re-installs it mid-season. */
export const LOCAL_CA_VALIDITY_DAYS = 3_650

/** Apple refuses server certificates valid for more than 825 days even under a user-installed root,
 * and Chrome/Safari cap publicly trusted ones at 398; 397 days stays inside every such rule. */
export const SERVER_CERT_VALIDITY_DAYS = 397

/** `clawmesh demo` and `clawmesh cert` re-issue a server certificate that expires within this time. */
export const SERVER_CERT_RENEW_BEFORE_DAYS = 30

/** Backdating covers tablets whose clock runs a little behind the command center's. */
export const CERT_BACKDATE_MS = 60 * 60_000

/** Key files are readable by the owner only; certificates are public. */
export const KEY_FILE_MODE = 0o600
export const CERT_FILE_MODE = 0o644

/** Largest PEM file `clawmesh cert --cert/--key` accepts (a long chain is a few tens of KiB). */
export const MAX_PEM_FILE_BYTES = 256 * 1024

export const DAY_MS = 24 * 60 * 60_000
