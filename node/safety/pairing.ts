/**
 * One-time pairing codes for enrolling a device or an operator: an admin opens a window, reads the
 * code to the person at the other end, and the first correct redemption within the window
 * enrols. Codes are short enough to type, expire, tolerate a few typos and are used once; every
 * refusal is counted so guessing shows up in `mesh.health`. Wrong codes are counted per attempting
 * key, so a stranger's guesses lock out that stranger, not the admin's code; a ceiling over all keys
 * stops a guesser who rotates keys.
 */
import { createHash, randomInt, timingSafeEqual } from 'node:crypto'
import type { OperatorRole } from '../../protocol/safety/index.ts'
import type { Counters } from '../../runtime/counters.ts'
import {
  PAIRING_CODE_ALPHABET,
  PAIRING_CODE_LENGTH,
  PAIRING_MAX_ATTEMPTS_PER_PEER,
  PAIRING_MAX_FAILED_ATTEMPTS_PER_WINDOW,
  PAIRING_MAX_TTL_MS,
} from './constants.ts'

export type PairingKind = 'device' | 'operator'

export interface PairingRequest {
  readonly kind: PairingKind
  /** For an operator: the name their certificate will carry. */
  readonly operatorName?: string
  /** For an operator: the roles their certificate will grant. */
  readonly roles?: readonly OperatorRole[]
  /** For an operator: how long their certificate (and so their trust entry) lasts. */
  readonly certificateTtlMs?: number
  readonly ttlMs: number
}

export interface OpenedPairing {
  /** Shown as two groups of four (`ABCD-EFGH`); spaces, dashes and case are ignored on redeem. */
  readonly code: string
  readonly expiresAt: number
}

export interface PairingGrant {
  readonly kind: PairingKind
  readonly operatorName?: string
  readonly roles?: readonly OperatorRole[]
  readonly certificateTtlMs?: number
}

/** `peer-too-many-attempts`: this key used up its wrong codes, the window stays open for others;
 * `too-many-attempts`: all keys together did, the window is closed. */
export type PairingRefusal =
  | 'no-window'
  | 'expired'
  | 'wrong-code'
  | 'peer-too-many-attempts'
  | 'too-many-attempts'
  | 'already-used'

export type PairingVerdict =
  | { readonly outcome: 'accept'; readonly grant: PairingGrant }
  | { readonly outcome: 'reject'; readonly reason: PairingRefusal }

export class PairingRequestError extends Error {
  static readonly NAME = 'PairingRequestError'
  override readonly name = PairingRequestError.NAME
}

export interface PairingWindowInit {
  readonly counters?: Counters
  readonly now?: () => number
  readonly maxAttemptsPerPeer?: number
  readonly maxFailedAttemptsPerWindow?: number
}

interface OpenWindow {
  readonly codeDigest: Buffer
  readonly grant: PairingGrant
  readonly expiresAt: number
  failedAttempts: number
  /** Wrong codes per attempting key; at most one entry per failure, so bounded by the ceiling. */
  readonly failedAttemptsByPeer: Map<string, number>
  used: boolean
}

/** Holds at most one open window; opening a new one replaces (and so revokes) the previous code. */
export class PairingWindow {
  readonly #counters: Counters | undefined
  readonly #now: () => number
  readonly #maxAttemptsPerPeer: number
  readonly #maxFailedAttemptsPerWindow: number
  #window: OpenWindow | undefined

  constructor(init: PairingWindowInit = {}) {
    this.#counters = init.counters
    this.#now = init.now ?? Date.now
    this.#maxAttemptsPerPeer = init.maxAttemptsPerPeer ?? PAIRING_MAX_ATTEMPTS_PER_PEER
    this.#maxFailedAttemptsPerWindow =
      init.maxFailedAttemptsPerWindow ?? PAIRING_MAX_FAILED_ATTEMPTS_PER_WINDOW
  }

  open(request: PairingRequest, now: number = this.#now()): OpenedPairing {
    if (!Number.isInteger(request.ttlMs) || request.ttlMs <= 0 || request.ttlMs > PAIRING_MAX_TTL_MS) {
      throw new PairingRequestError(
        `a pairing window lasts between 1 ms and ${PAIRING_MAX_TTL_MS / 60_000} minutes, not ${request.ttlMs} ms`,
      )
    }
    if (request.kind === 'operator' && (request.operatorName === undefined || request.roles === undefined)) {
      throw new PairingRequestError(
        'pairing an operator needs the name and roles their certificate will carry',
      )
    }
    const code = generateCode()
    const grant: PairingGrant =
      request.kind === 'operator'
        ? {
            kind: 'operator',
            operatorName: request.operatorName,
            roles: [...(request.roles ?? [])],
            ...(request.certificateTtlMs === undefined ? {} : { certificateTtlMs: request.certificateTtlMs }),
          }
        : { kind: 'device' }
    const expiresAt = now + request.ttlMs
    this.#window = {
      codeDigest: digest(code),
      grant,
      expiresAt,
      failedAttempts: 0,
      failedAttemptsByPeer: new Map(),
      used: false,
    }
    return { code: `${code.slice(0, 4)}-${code.slice(4)}`, expiresAt }
  }

  /**
   * Checks a code typed by `peer` (the Noise-authenticated key of the joiner, never a name it sent).
   * The window closes on success, on expiry and after too many wrong codes from all keys together;
   * a key that used up its own wrong codes is refused while the window stays open for the others.
   */
  redeem(typed: string, peer: string, now: number = this.#now()): PairingVerdict {
    const window = this.#window
    if (window === undefined) return this.#refuse('no-window')
    if (window.used) return this.#refuse('already-used')
    if (window.failedAttempts >= this.#maxFailedAttemptsPerWindow) return this.#refuse('too-many-attempts')
    if (now >= window.expiresAt) return this.#refuse('expired')
    const peerFailures = window.failedAttemptsByPeer.get(peer) ?? 0
    if (peerFailures >= this.#maxAttemptsPerPeer) return this.#refuse('peer-too-many-attempts')
    // Digests have equal length whatever was typed, so the comparison time reveals nothing.
    if (!timingSafeEqual(digest(normalise(typed)), window.codeDigest)) {
      window.failedAttempts += 1
      window.failedAttemptsByPeer.set(peer, peerFailures + 1)
      return this.#refuse('wrong-code')
    }
    window.used = true
    return { outcome: 'accept', grant: window.grant }
  }

  /** True while a code can still be redeemed: the gater admits unknown keys only then. */
  isOpen(now: number = this.#now()): boolean {
    const window = this.#window
    return (
      window !== undefined &&
      !window.used &&
      now < window.expiresAt &&
      window.failedAttempts < this.#maxFailedAttemptsPerWindow
    )
  }

  /** Revokes the open code, if any. */
  close(): void {
    this.#window = undefined
  }

  #refuse(reason: PairingRefusal): PairingVerdict {
    this.#counters?.increment(`pairing.refused.${reason}`)
    return { outcome: 'reject', reason }
  }
}

function generateCode(): string {
  let code = ''
  for (let i = 0; i < PAIRING_CODE_LENGTH; i++)
    code += PAIRING_CODE_ALPHABET[randomInt(PAIRING_CODE_ALPHABET.length)]
  return code
}

function normalise(typed: string): string {
  return typed.replace(/[\s-]/g, '').toUpperCase()
}

function digest(code: string): Buffer {
  return createHash('sha256').update(code, 'utf8').digest()
}
