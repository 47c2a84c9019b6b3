/**
 * This node's revocation records (`mesh/operator-revocations.json`): the operator revocations it
 * issued (a command center, `clawmesh trust remove`) or accepted from a command center it trusts
 * (node/trust/revocation-distribution.ts). Every operator certificate and approval check on this
 * node asks `isRevoked` (protocol/safety/revocation.ts), so a revoked operator's signature is refused
 * here whoever relays it.
 *
 * The file is written by the node and by the CLI of the same state dir, so the store only ever
 * grows by union: `reload()` merges the file with what is in memory and writes back what the file
 * lacked. A revocation never disappears by accident; it is dropped only once every certificate it
 * can cover has expired.
 */
import { join } from 'node:path'
import { z } from 'zod'
import { OPERATOR_CERTIFICATE_MAX_VALIDITY_MS } from '../../protocol/safety/constants.ts'
import {
  type IsOperatorRevoked,
  type OperatorRevocation,
  operatorRevocationSchema,
  revokes,
} from '../../protocol/safety/revocation.ts'
import { readJsonFile, writeJsonAtomic } from '../state/atomic-file.ts'

/** Operators whose revocation a node remembers at once. One per operator is kept (the latest covers
 * the earlier ones), so this bounds a site's revoked people within a certificate lifetime; only a
 * trusted command center can add to it. */
export const MAX_OPERATOR_REVOCATIONS = 1_024
/** A revocation is kept until every certificate it covers has expired: a certificate issued at
 * `revokedAt` at the latest lives at most the longest validity a certificate may claim. */
export const REVOCATION_RETENTION_MS = OPERATOR_CERTIFICATE_MAX_VALIDITY_MS

const revocationsFileSchema = z.object({
  version: z.literal(1),
  revocations: z.array(operatorRevocationSchema).max(MAX_OPERATOR_REVOCATIONS),
})

export function revocationsPath(stateDir: string): string {
  return join(stateDir, 'mesh', 'operator-revocations.json')
}

export type RevocationAdd =
  | { readonly outcome: 'added'; readonly revocation: OperatorRevocation }
  /** A revocation at the same time or later is already held for this operator. */
  | { readonly outcome: 'known' }
  | { readonly outcome: 'full' }

export class RevocationStore {
  readonly path: string
  readonly #now: () => number
  /** The latest revocation per operator. */
  #byOperator = new Map<string, OperatorRevocation>()
  #writes: Promise<void> = Promise.resolve()

  private constructor(path: string, now: () => number) {
    this.path = path
    this.#now = now
  }

  /** Loads the store; a missing file is an empty store, a corrupt one a StateFileError. */
  static async open(stateDir: string, options: { now?: () => number } = {}): Promise<RevocationStore> {
    const store = new RevocationStore(revocationsPath(stateDir), options.now ?? Date.now)
    await store.reload()
    return store
  }

  /** Merges the file into memory; answers the revocations this call learned from the file. */
  async reload(): Promise<OperatorRevocation[]> {
    const file = await readJsonFile(this.path, revocationsFileSchema, 'operator revocations')
    const learned: OperatorRevocation[] = []
    for (const revocation of file?.revocations ?? []) {
      if (this.#keep(revocation)) learned.push(revocation)
    }
    const inFile = new Set((file?.revocations ?? []).map((revocation) => revocation.signature))
    if (this.list().some((revocation) => !inFile.has(revocation.signature))) await this.#save()
    return learned
  }

  /** Records an already verified revocation and makes it durable before answering. */
  async add(revocation: OperatorRevocation): Promise<RevocationAdd> {
    const known = this.#byOperator.get(revocation.body.operatorId)
    if (known !== undefined && known.body.revokedAt >= revocation.body.revokedAt) return { outcome: 'known' }
    this.#prune()
    if (known === undefined && this.#byOperator.size >= MAX_OPERATOR_REVOCATIONS) return { outcome: 'full' }
    this.#byOperator.set(revocation.body.operatorId, revocation)
    await this.#save()
    return { outcome: 'added', revocation }
  }

  readonly isRevoked: IsOperatorRevoked = (operatorId, certificateIssuedAt) => {
    const revocation = this.#byOperator.get(operatorId)
    return revocation !== undefined && revokes(revocation.body, operatorId, certificateIssuedAt)
  }

  get(operatorId: string): OperatorRevocation | undefined {
    return this.#byOperator.get(operatorId)
  }

  list(): OperatorRevocation[] {
    return [...this.#byOperator.values()]
  }

  get size(): number {
    return this.#byOperator.size
  }

  #keep(revocation: OperatorRevocation): boolean {
    const known = this.#byOperator.get(revocation.body.operatorId)
    if (known !== undefined && known.body.revokedAt >= revocation.body.revokedAt) return false
    if (this.#expired(revocation)) return false
    this.#byOperator.set(revocation.body.operatorId, revocation)
    return true
  }

  #expired(revocation: OperatorRevocation): boolean {
    return revocation.body.revokedAt + REVOCATION_RETENTION_MS < this.#now()
  }

  #prune(): void {
    for (const [operatorId, revocation] of this.#byOperator) {
      if (this.#expired(revocation)) this.#byOperator.delete(operatorId)
    }
  }

  /** Writes one after another, each the whole current list, so a slow write cannot land last with
   * an older list. */
  #save(): Promise<void> {
    const write = this.#writes.then(() =>
      writeJsonAtomic(this.path, { version: 1, revocations: this.list() }),
    )
    this.#writes = write.catch(() => {})
    return write
  }
}
