/**
 * Signed records on the wire (approvals, operator certificates and revocations, certified commands,
 * frames a peer hands over for re-verification). The RPC boundary must not refuse a malformed one
 * with a bare INVALID_PARAMS: its verifier decides, and a refusal verdict carries a code, a counter
 * and an evidence entry that a schema error would not. So `signed(schema)` accepts any JSON object
 * at run time, like the loose record it replaces, while the types say what travels:
 *
 * - the sender must hand over a `T` (the record its signer produced), or pass on an `Unverified<T>`
 *   it received (a forwarder relaying an approval to the leader);
 * - the receiver holds an `Unverified<T>`, which exposes no fields: the only things to do with it
 *   are to give it to the verifier (which takes `unknown` and returns a verdict) or pass it on.
 */
import { z } from 'zod'

declare const unverifiedRecord: unique symbol

/** A signed record as received, before its verifier has spoken. Opaque on purpose. */
export type Unverified<T> = { readonly [unverifiedRecord]: T }

/** What `signed(schema)` checks at run time: a JSON object, nothing more (the verifier does the rest). */
const wireObjectSchema = z.record(z.string(), z.unknown())

/** The wire schema of a signed record whose shape is `schema`'s. `schema` fixes the types only: its
 * checks run in the record's verifier, which answers a bad record with a verdict, not a throw. */
export function signed<T extends object>(_schema: z.ZodType<T>): z.ZodType<Unverified<T>, T | Unverified<T>> {
  // The one place the static type and the run-time check differ, by design (see above).
  return wireObjectSchema as unknown as z.ZodType<Unverified<T>, T | Unverified<T>>
}
