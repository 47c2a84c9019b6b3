/**
 * Checks a wss:// static peer's certificate pin before it is dialled: a TLS handshake to the peer's
 * host and port reads the certificate it serves, and only a certificate whose SHA-256 equals the pin
 * lets the dial go ahead. The handshake does not validate the chain (the pin is the trust here, and a
 * CA error must not hide a wrong certificate); the dial that follows validates it as usual.
 */
import { connect } from 'node:tls'
import { pinFromFingerprint256, pinsMatch, type TlsTarget } from '../../protocol/tls-pin.ts'

/** A handshake is one round trip or two; a WAN link that cannot finish one in this time would not
 * carry the dial either. */
export const TLS_PIN_PROBE_TIMEOUT_MS = 5_000

export type TlsPinCheck =
  | { readonly verdict: 'match'; readonly pin: string }
  | { readonly verdict: 'mismatch'; readonly expected: string; readonly got: string }
  | { readonly verdict: 'unreachable'; readonly detail: string }

/** The canonical pin of the certificate a TLS server presents. */
export function fetchServerPin(target: TlsTarget, timeoutMs = TLS_PIN_PROBE_TIMEOUT_MS): Promise<string> {
  return new Promise((resolvePin, reject) => {
    const socket = connect({
      host: target.host,
      port: target.port,
      ...(target.servername === undefined ? {} : { servername: target.servername }),
      rejectUnauthorized: false,
    })
    const fail = (error: Error) => {
      socket.destroy()
      reject(error)
    }
    socket.setTimeout(timeoutMs, () => fail(new Error(`no TLS handshake within ${timeoutMs} ms`)))
    socket.once('error', fail)
    socket.once('secureConnect', () => {
      const fingerprint = socket.getPeerCertificate().fingerprint256
      socket.destroy()
      if (typeof fingerprint !== 'string' || fingerprint === '')
        reject(new Error('the server presented no certificate'))
      else resolvePin(pinFromFingerprint256(fingerprint))
    })
  })
}

export async function checkServerPin(
  target: TlsTarget,
  expected: string,
  timeoutMs = TLS_PIN_PROBE_TIMEOUT_MS,
): Promise<TlsPinCheck> {
  let got: string
  try {
    got = await fetchServerPin(target, timeoutMs)
  } catch (error) {
    return { verdict: 'unreachable', detail: (error as Error).message }
  }
  return pinsMatch(expected, got) ? { verdict: 'match', pin: got } : { verdict: 'mismatch', expected, got }
}
