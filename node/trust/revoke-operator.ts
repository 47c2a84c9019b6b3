/**
 * The command center's side of `clawmesh trust remove <operator>`: removing an operator's key from
 * this trust store only stops them connecting here, so the local admin also signs a revocation with
 * this node's device key and keeps it in this state dir's records (runtime/trust/revocations.ts). The
 * running node picks it up from the file, refuses the operator's certificates issued until now, and
 * a command center hands it to every member and relay (node/trust/revocation-distribution.ts).
 *
 * A key is an operator when its trust entry says so (paired as an operator) or when this node issued
 * it a certificate (`operator issue` / `enroll`, recorded in the evidence log).
 */
import { join } from 'node:path'
import { z } from 'zod'
import { evidenceEntrySchema } from '../../protocol/safety/evidence-log.ts'
import { issueOperatorRevocation, type OperatorRevocation } from '../../protocol/safety/revocation.ts'
import { signerFromPrivateKey } from '../../protocol/signing.ts'
import { loadIdentity } from '../../runtime/identity/device-identity.ts'
import { readJsonFile } from '../../runtime/state/atomic-file.ts'
import { statePaths } from '../../runtime/state/state-dir.ts'
import { RevocationStore } from '../../runtime/trust/revocations.ts'
import type { TrustedPeer } from '../../runtime/trust/trust-store.ts'
import { readJsonLines } from '../safety/durable-append.ts'
import { evidenceLogPaths } from '../safety/evidence-log-writer.ts'

const distributedOperatorsSchema = z.object({
  certificates: z.array(z.object({ body: z.object({ operatorId: z.string() }) })),
})

export const DEFAULT_REVOCATION_REASON = 'removed from the trust store by the local admin'

/** True when this state dir's node issued a certificate to the key (its evidence log says so, or
 * it holds a paired operator's certificate for redistribution). */
export async function issuedCertificateTo(stateDir: string, operatorId: string): Promise<boolean> {
  // Read loosely: only the operator IDs matter here, and an unreadable file must not stop a revocation.
  const distributed = await readJsonFile(
    join(stateDir, 'mesh', 'operator-certificates.json'),
    distributedOperatorsSchema,
    'operator certificates',
  ).catch(() => undefined)
  if (distributed?.certificates.some((certificate) => certificate.body.operatorId === operatorId)) return true
  const { lines } = await readJsonLines(evidenceLogPaths(stateDir).log)
  return lines.some((line) => {
    if (!line.includes(operatorId)) return false
    try {
      const entry = evidenceEntrySchema.safeParse(JSON.parse(line))
      if (!entry.success || entry.data.type !== 'decision') return false
      const data = entry.data.data as { kind?: unknown; body?: { operatorId?: unknown } }
      return data.kind === 'operator-certificate-issued' && data.body?.operatorId === operatorId
    } catch {
      return false
    }
  })
}

/** Signs and records a revocation when the key is an operator's; undefined when it is not. */
export async function revokeOperatorHere(
  stateDir: string,
  operatorId: string,
  entry: TrustedPeer | undefined,
  reason: string,
  now: number = Date.now(),
): Promise<OperatorRevocation | undefined> {
  if (entry?.kind !== 'operator' && !(await issuedCertificateTo(stateDir, operatorId))) return undefined
  const identity = await loadIdentity(statePaths(stateDir).deviceIdentity)
  if (identity === undefined) return undefined
  const revocation = await issueOperatorRevocation(signerFromPrivateKey(identity.privateKey), {
    operatorId,
    revokedAt: now,
    reason,
  })
  const store = await RevocationStore.open(stateDir)
  await store.add(revocation)
  return revocation
}
