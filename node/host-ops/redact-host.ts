/**
 * Secrets in machine output (a command's stdout, log lines): removed before anything leaves the
 * node as evidence. The provider-key shapes of node/credentials/redact.ts, plus what hosts leak:
 * `password=…` / `token: …` style assignments, AWS access keys, private key blocks.
 */
import { REDACTED, redactSecrets } from '../credentials/redact.ts'

const HOST_SECRET_SHAPES: readonly RegExp[] = [
  /-----BEGIN [A-Z ]*PRIVATE KEY-----[\s\S]*?(-----END [A-Z ]*PRIVATE KEY-----|$)/g,
  /\b(?:AKIA|ASIA)[0-9A-Z]{16}\b/g,
  /\bgh[pousr]_[A-Za-z0-9]{20,}\b/g,
  /\bxox[abpr]-[A-Za-z0-9-]{10,}\b/g,
]
/** `key = value` where the key names a secret: the value goes, the key stays (the line still says
 * what was there). */
const SECRET_ASSIGNMENT =
  /\b([A-Za-z0-9_.-]*(?:password|passwd|pwd|secret|token|api[_-]?key|access[_-]?key|private[_-]?key|credentials?)[A-Za-z0-9_.-]*)(\s*[:=]\s*)("[^"]*"|'[^']*'|[^\s,;&]+)/gi

export function redactHostText(text: string): string {
  let result = redactSecrets(text, [])
  for (const shape of HOST_SECRET_SHAPES) result = result.replace(shape, REDACTED)
  return result.replace(
    SECRET_ASSIGNMENT,
    (_match, key: string, separator: string) => `${key}${separator}${REDACTED}`,
  )
}

/** True when the text holds something `redactHostText` would remove. */
export function leaksSecrets(text: string): boolean {
  return redactHostText(text) !== text
}
