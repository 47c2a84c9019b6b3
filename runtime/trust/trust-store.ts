/**
 * The allowlist of trusted peers (`mesh/trusted-peers.json`). The connection gater consults it
 * synchronously on every connection, so it lives in memory; changes made by another process (the
 * CLI's `trust add` while the node runs) are picked up by `reload()`, and a file that turns corrupt
 * keeps the last good list in force rather than opening or closing the mesh by accident.
 */
import { z } from 'zod'
import { deviceIdSchema } from '../../protocol/device-id.ts'
import { DISPLAY_NAME_MAX_LENGTH } from '../../protocol/limits.ts'
import { readJsonFile, writeJsonAtomic } from '../state/atomic-file.ts'

export const trustedPeerSchema = z.object({
  deviceId: deviceIdSchema,
  name: z.string().max(DISPLAY_NAME_MAX_LENGTH).optional(),
  addedAt: z.string(),
  /** `operator`: a person's console or CLI key admitted by operator pairing (absent: a device). */
  kind: z.enum(['device', 'operator']).optional(),
  /** Epoch ms after which the key is no longer trusted (an operator's certificate expiry). */
  expiresAt: z.number().int().nonnegative().optional(),
})
export type TrustedPeer = z.infer<typeof trustedPeerSchema>

const trustFileSchema = z.object({
  version: z.literal(1),
  peers: z.array(trustedPeerSchema),
})

export class TrustStore {
  readonly path: string
  #peers = new Map<string, TrustedPeer>()
  #version = 0

  private constructor(path: string) {
    this.path = path
  }

  /** Loads the store; a missing file is an empty store, a corrupt one a StateFileError. */
  static async open(path: string): Promise<TrustStore> {
    const store = new TrustStore(path)
    await store.reload()
    return store
  }

  async reload(): Promise<void> {
    const file = await readJsonFile(this.path, trustFileSchema, 'trust store')
    this.#peers = new Map((file?.peers ?? []).map((peer) => [peer.deviceId, peer]))
    this.#version++
  }

  /** Changes whenever the list may have changed, so views derived from it (site bindings) know
   * when to rebuild. */
  get version(): number {
    return this.#version
  }

  /** The device trusted under this name, when exactly one device (not an operator key) has it. */
  deviceNamed(name: string, now: number = Date.now()): string | undefined {
    let found: string | undefined
    for (const peer of this.#peers.values()) {
      if (peer.name !== name || peer.kind === 'operator' || !this.has(peer.deviceId, now)) continue
      if (found !== undefined) return undefined
      found = peer.deviceId
    }
    return found
  }

  /** False for unknown keys and for entries past their `expiresAt` (an expired operator). */
  has(deviceId: string, now: number = Date.now()): boolean {
    const peer = this.#peers.get(deviceId)
    return peer !== undefined && (peer.expiresAt === undefined || now < peer.expiresAt)
  }

  /** True when the key is listed but its entry has expired. */
  isExpired(deviceId: string, now: number = Date.now()): boolean {
    const expiresAt = this.#peers.get(deviceId)?.expiresAt
    return expiresAt !== undefined && now >= expiresAt
  }

  get(deviceId: string): TrustedPeer | undefined {
    return this.#peers.get(deviceId)
  }

  list(): TrustedPeer[] {
    return [...this.#peers.values()]
  }

  get size(): number {
    return this.#peers.size
  }

  /** Adds or renames a peer. Returns false when it was already trusted under the same name (and
   * kind and expiry). An operator entry carries its certificate's expiry. */
  async add(
    deviceId: string,
    name?: string,
    options: { kind?: 'device' | 'operator'; expiresAt?: number } = {},
  ): Promise<boolean> {
    deviceIdSchema.parse(deviceId)
    const existing = this.#peers.get(deviceId)
    if (
      existing !== undefined &&
      existing.name === name &&
      existing.kind === options.kind &&
      existing.expiresAt === options.expiresAt
    )
      return false
    const peer: TrustedPeer = { deviceId, addedAt: existing?.addedAt ?? new Date().toISOString() }
    if (name !== undefined) peer.name = name
    if (options.kind !== undefined) peer.kind = options.kind
    if (options.expiresAt !== undefined) peer.expiresAt = options.expiresAt
    this.#peers.set(deviceId, peer)
    this.#version++
    await this.#save()
    return true
  }

  async remove(deviceId: string): Promise<boolean> {
    if (!this.#peers.delete(deviceId)) return false
    this.#version++
    await this.#save()
    return true
  }

  async #save(): Promise<void> {
    await writeJsonAtomic(this.path, { version: 1, peers: this.list() })
  }
}
