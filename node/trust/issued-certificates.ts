/**
 * The operator certificates this command center issued (`mesh/issued-certificates.json`): its own
 * record of who is an operator and with which roles. RPC access on the command center and the
 * author kind of a proposal are read from here — the receiver's records — never from a role a caller
 * claims. Only the newest certificate per operator is kept; an expired one grants nothing.
 */
import { join } from 'node:path'
import { z } from 'zod'
import {
  type OperatorCertificate,
  operatorCertificateSchema,
} from '../../protocol/safety/operator-certificate.ts'
import { readJsonFile, writeJsonAtomic } from '../../runtime/state/atomic-file.ts'

/** Operators one command center keeps on record: a site has a handful of people and their
 * tablets; past this the certificates closest to expiry are dropped from the record (their holders
 * then only read until they pair again). */
export const MAX_ISSUED_CERTIFICATES = 256

const fileSchema = z.object({
  version: z.literal(1),
  certificates: z.array(operatorCertificateSchema).max(MAX_ISSUED_CERTIFICATES),
})

export class IssuedCertificates {
  readonly #path: string
  readonly #byOperator = new Map<string, OperatorCertificate>()
  #writing: Promise<void> = Promise.resolve()

  private constructor(path: string) {
    this.#path = path
  }

  static async open(stateDir: string): Promise<IssuedCertificates> {
    const store = new IssuedCertificates(join(stateDir, 'mesh', 'issued-certificates.json'))
    const file = await readJsonFile(store.#path, fileSchema, 'issued operator certificates')
    for (const certificate of file?.certificates ?? []) store.#keep(certificate)
    return store
  }

  /** The operator's newest certificate, while it is valid. */
  current(operatorId: string, now: number = Date.now()): OperatorCertificate | undefined {
    const certificate = this.#byOperator.get(operatorId)
    return certificate !== undefined && now < certificate.body.expiresAt ? certificate : undefined
  }

  /** Every operator's newest certificate still valid (policy-check finds an operator by name). */
  valid(now: number = Date.now()): OperatorCertificate[] {
    return [...this.#byOperator.values()].filter((certificate) => now < certificate.body.expiresAt)
  }

  async record(certificate: OperatorCertificate): Promise<void> {
    this.#keep(certificate)
    if (this.#byOperator.size > MAX_ISSUED_CERTIFICATES) {
      const soonest = [...this.#byOperator.values()].sort((a, b) => a.body.expiresAt - b.body.expiresAt)[0]
      if (soonest !== undefined) this.#byOperator.delete(soonest.body.operatorId)
    }
    const certificates = [...this.#byOperator.values()]
    this.#writing = this.#writing.then(() => writeJsonAtomic(this.#path, { version: 1, certificates }))
    await this.#writing
  }

  #keep(certificate: OperatorCertificate): void {
    const existing = this.#byOperator.get(certificate.body.operatorId)
    if (existing === undefined || existing.body.issuedAt <= certificate.body.issuedAt)
      this.#byOperator.set(certificate.body.operatorId, certificate)
  }
}
