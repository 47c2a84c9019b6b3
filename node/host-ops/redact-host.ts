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
 * what was there). The match starts at the secret word, not at the start of the key: a leading
 * `[\w.-]*` made the engine try every suffix of every word (8x slower on a log); the characters
 * of the key before the word are left as they are either way. */
const SECRET_ASSIGNMENT =
  /(password|passwd|pwd|secret|token|api[_-]?key|access[_-]?key|private[_-]?key|credentials?)([A-Za-z0-9_.-]*)(\s*[:=]\s*)("[^"]*"|'[^']*'|[^\s,;&]+)/gi

export function redactHostText(text: string): string {
  let result = redactSecrets(text, [])
  for (const shape of HOST_SECRET_SHAPES) result = result.replace(shape, REDACTED)
  return result.replace(
    SECRET_ASSIGNMENT,
    (_match, word: string, rest: string, separator: string) => `${word}${rest}${separator}${REDACTED}`,
  )
}

/** True when the text holds something `redactHostText` would remove. */
export function leaksSecrets(text: string): boolean {
  return redactHostText(text) !== text
}
