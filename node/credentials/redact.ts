/**
 * Scrubs secrets from text a person or a peer could see (error replies, log lines). Providers echo
 * keys back in their errors, sometimes whole, sometimes a prefix and a suffix ("Incorrect API key
 * provided: sk-abc1…wxyz"), so a known secret is removed whole and by any long enough fragment;
 * strings shaped like common provider keys are removed even when we do not know them.
 */

/** A fragment this long of a known secret is treated as the secret: short enough to catch the
 * prefix/suffix excerpts providers print, long enough not to match ordinary words. */
export const REDACT_FRAGMENT_CHARS = 8
/** Secrets shorter than this are only removed whole: a 3-character "key" would shred every text. */
export const REDACT_MIN_SECRET_CHARS = 4

export const REDACTED = '[redacted]'

/** Key shapes of the common providers (OpenAI/Anthropic `sk-…`, Google `AIza…`, bearer tokens). */
const KEY_SHAPED = [
  /\bsk-[A-Za-z0-9_-]{12,}/g,
  /\bAIza[0-9A-Za-z_-]{20,}/g,
  /\b(?:xai|gsk|csk|pplx)-[A-Za-z0-9_-]{16,}/g,
  /(\bBearer\s+)[A-Za-z0-9._~+/=-]{12,}/gi,
]

export function redactSecrets(text: string, secrets: Iterable<string | undefined>): string {
  let covered: Uint8Array | undefined
  for (const secret of secrets) {
    if (typeof secret !== 'string' || secret.length < REDACT_MIN_SECRET_CHARS) continue
    const fragmentLength = Math.min(secret.length, REDACT_FRAGMENT_CHARS)
    // Overlapping fragments mark every run of the text that shares 8+ characters with the secret,
    // so a whole echo, a prefix and a suffix all disappear without leaving their edges behind.
    for (let start = 0; start + fragmentLength <= secret.length; start++) {
      const fragment = secret.slice(start, start + fragmentLength)
      for (let at = text.indexOf(fragment); at !== -1; at = text.indexOf(fragment, at + 1)) {
        covered ??= new Uint8Array(text.length)
        covered.fill(1, at, at + fragmentLength)
      }
    }
  }
  let result = covered === undefined ? text : withoutCovered(text, covered)
  for (const pattern of KEY_SHAPED) {
    result = result.replace(pattern, (_match, prefix?: string) =>
      typeof prefix === 'string' ? `${prefix}${REDACTED}` : REDACTED,
    )
  }
  return result
}

/** The text with each covered run replaced by one REDACTED. Uncovered runs are copied whole: a
 * character at a time, a 10 MiB log took 2 s (test/bench/log-redact.bench.ts). */
function withoutCovered(text: string, covered: Uint8Array): string {
  const parts: string[] = []
  for (let at = 0; ; ) {
    const start = covered.indexOf(1, at)
    if (start === -1) {
      parts.push(text.slice(at))
      break
    }
    parts.push(text.slice(at, start), REDACTED)
    at = covered.indexOf(0, start)
    if (at === -1) break
  }
  return parts.join('')
}
