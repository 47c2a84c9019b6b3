/**
 * The operator's pairing with the command center: the certificate it gave this console's key, and
 * the ICE servers (TURN credentials) it gives paired operators only. Pairing proves a one-time code
 * over the Noise-secured stream; forgetting drops both records, so an expired or foreign
 * certificate is never used again.
 */
import { multiaddr } from '@multiformats/multiaddr'
import { type Accessor, createSignal } from 'solid-js'
import type { ConsoleConfig } from '../../../protocol/console-config.ts'
import type { IceServer } from '../../../protocol/ice-servers.ts'
import { requestPairing } from '../../../protocol/pairing.ts'
import type { OperatorCertificate } from '../../../protocol/safety/operator-certificate.ts'
import type { ConsoleNode } from '../mesh/browser-node.ts'
import type { OperatorKey } from '../mesh/operator-key.ts'
import type { ConsoleStorage } from '../storage/console-storage.ts'

export interface OperatorPairing {
  /** The usable certificate, or undefined while the console must pair. */
  readonly certificate: Accessor<OperatorCertificate | undefined>
  /** Why the stored certificate cannot be used, when there is one and it cannot. */
  readonly storedProblem: string | undefined
  /** What WebRTC dials with (read at each dial). */
  iceServers(): readonly IceServer[]
  acceptIceServers(servers: readonly IceServer[]): Promise<void>
  /** False once the certificate has expired (checked before each poll). */
  isCurrent(now?: number): boolean
  /** Pairs with a one-time code; throws an error the pairing screen shows. */
  pair(node: ConsoleNode, code: string): Promise<OperatorCertificate>
  forget(): Promise<void>
}

export const CERTIFICATE_EXPIRED = 'your operator certificate expired: pair this console again'

export async function createOperatorPairing(
  storage: ConsoleStorage,
  config: ConsoleConfig,
  key: OperatorKey,
): Promise<OperatorPairing> {
  const stored = await storage.certificate()
  const storedProblem = stored === undefined ? undefined : certificateProblem(stored, config, key.operatorId)
  const [certificate, setCertificate] = createSignal<OperatorCertificate | undefined>(
    stored !== undefined && storedProblem === undefined ? stored : undefined,
  )
  // console-config's STUN servers until the command center hands this paired console the full list.
  const given = stored === undefined ? undefined : await storage.iceServers()
  let iceServers: readonly IceServer[] = given ?? config.iceServers

  return {
    certificate,
    storedProblem,
    iceServers: () => iceServers,
    async acceptIceServers(servers) {
      iceServers = servers
      await storage.saveIceServers(servers)
    },
    isCurrent(now = Date.now()) {
      const current = certificate()
      return current !== undefined && now < current.body.expiresAt
    },
    async pair(node, code) {
      const answer = await requestPairing(
        node,
        config.commandCenter.addrs.map((address) => multiaddr(address)),
        config.generation,
        { code: code.trim() },
      )
      if (!answer.ok) throw new Error(`pairing refused (${answer.reason}): ${answer.message}`)
      const { certificate: issued } = answer
      if (answer.kind !== 'operator' || issued === undefined)
        throw new Error('this code pairs a device, not an operator: run `clawmesh pair --operator NAME`')
      const problem = certificateProblem(issued, config, key.operatorId)
      if (problem !== undefined) throw new Error(problem)
      await storage.saveCertificate(issued)
      setCertificate(issued)
      return issued
    },
    async forget() {
      setCertificate(undefined)
      iceServers = config.iceServers
      await storage.forgetPairing()
    },
  }
}

/** Why a stored or fresh certificate cannot be used with this command center, if it cannot. */
export function certificateProblem(
  certificate: OperatorCertificate,
  config: ConsoleConfig,
  operatorId: string,
  now: number = Date.now(),
): string | undefined {
  if (certificate.body.operatorId !== operatorId)
    return 'the stored certificate is for another operator key: pair this console again'
  if (certificate.body.issuerId !== config.commandCenter.deviceId)
    return `the stored certificate was issued by another command center: pair with ${config.commandCenter.name}`
  if (now >= certificate.body.expiresAt) return CERTIFICATE_EXPIRED
  return undefined
}
