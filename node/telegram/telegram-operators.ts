/**
 * Telegram operators of a command center: which Telegram user ID is which operator, and the key the
 * command center holds for each (one key per person, never a shared bot key). The binding and the
 * person's certificate live in `$STATE/telegram/operators.json` (0600); the private key lives in
 * the credential store as `telegram-operator/<userId>`, so it is redacted like every other secret.
 */
import { join } from 'node:path'
import { generateKeyPair, privateKeyFromProtobuf, privateKeyToProtobuf } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { fromString as uint8ArrayFromString, toString as uint8ArrayToString } from 'uint8arrays'
import { z } from 'zod'
import { type OperatorCertificate, operatorCertificateSchema } from '../../protocol/safety/index.ts'
import { type Signer, signerFromPrivateKey } from '../../protocol/signing.ts'
import { readJsonFile, writeJsonAtomic } from '../../runtime/state/atomic-file.ts'
import { CredentialStore } from '../credentials/credential-store.ts'
import { TELEGRAM_OPERATORS_MAX } from './constants.ts'

/** The credential-store name of the key held for one Telegram user. */
function telegramOperatorKeyName(telegramUserId: number): string {
  return `telegram-operator/${telegramUserId}`
}

const bindingSchema = z.strictObject({
  telegramUserId: z.number().int().positive(),
  operatorId: z.string().min(1),
  certificate: operatorCertificateSchema,
  pairedAt: z.number().int(),
})
export type TelegramOperatorBinding = z.infer<typeof bindingSchema>

const fileSchema = z.strictObject({
  version: z.literal(1),
  operators: z.array(bindingSchema).max(TELEGRAM_OPERATORS_MAX),
})

export interface TelegramOperator extends TelegramOperatorBinding {
  readonly signer: Signer
}

export class TelegramOperatorsError extends Error {
  static readonly NAME = 'TelegramOperatorsError'
  override readonly name = TelegramOperatorsError.NAME
}

export class TelegramOperators {
  readonly #path: string
  readonly #credentialsPath: string
  readonly #byUser = new Map<number, TelegramOperator>()

  private constructor(path: string, credentialsPath: string) {
    this.#path = path
    this.#credentialsPath = credentialsPath
  }

  /** Loads the bindings and their keys; a binding whose key is gone from the store is dropped (and
   * said), since nothing could sign for it. */
  static async open(init: {
    stateDir: string
    credentialsPath: string
    log: (line: string) => void
  }): Promise<TelegramOperators> {
    const store = new TelegramOperators(
      join(init.stateDir, 'telegram', 'operators.json'),
      init.credentialsPath,
    )
    const file = await readJsonFile(store.#path, fileSchema, 'the Telegram operators')
    const credentials = await CredentialStore.open(init.credentialsPath)
    for (const binding of file?.operators ?? []) {
      const encoded = credentials.get(telegramOperatorKeyName(binding.telegramUserId))
      if (encoded === undefined) {
        init.log(
          `Telegram user ${binding.telegramUserId} (${binding.certificate.body.displayName}) has no key in the credential store: pair them again`,
        )
        continue
      }
      const signer = signerFromPrivateKey(privateKeyFromProtobuf(uint8ArrayFromString(encoded, 'base64')))
      if (signer.id !== binding.operatorId) {
        init.log(
          `Telegram user ${binding.telegramUserId}: the stored key is not the certified one; pair again`,
        )
        continue
      }
      store.#byUser.set(binding.telegramUserId, { ...binding, signer })
    }
    return store
  }

  get(telegramUserId: number): TelegramOperator | undefined {
    return this.#byUser.get(telegramUserId)
  }

  list(): TelegramOperator[] {
    return [...this.#byUser.values()]
  }

  /** A new key for this person (a re-pairing replaces their old key and certificate). */
  static async newKey(): Promise<{ signer: Signer; encoded: string; operatorId: string }> {
    const privateKey = await generateKeyPair('Ed25519')
    return {
      signer: signerFromPrivateKey(privateKey),
      encoded: uint8ArrayToString(privateKeyToProtobuf(privateKey), 'base64'),
      operatorId: peerIdFromPrivateKey(privateKey).toString(),
    }
  }

  /** Stores the key first (reopening the credential store, so a credential the CLI set meanwhile is
   * kept), then the binding. */
  async bind(
    telegramUserId: number,
    key: { signer: Signer; encoded: string },
    certificate: OperatorCertificate,
    at: number,
  ): Promise<TelegramOperator> {
    if (!this.#byUser.has(telegramUserId) && this.#byUser.size >= TELEGRAM_OPERATORS_MAX) {
      throw new TelegramOperatorsError(
        `this command center holds keys for at most ${TELEGRAM_OPERATORS_MAX} Telegram operators`,
      )
    }
    const credentials = await CredentialStore.open(this.#credentialsPath)
    await credentials.set(telegramOperatorKeyName(telegramUserId), key.encoded)
    const operator: TelegramOperator = {
      telegramUserId,
      operatorId: key.signer.id,
      certificate,
      pairedAt: at,
      signer: key.signer,
    }
    this.#byUser.set(telegramUserId, operator)
    await writeJsonAtomic(
      this.#path,
      {
        version: 1,
        operators: this.list().map(({ signer: _signer, ...binding }) => binding),
      },
      0o600,
    )
    return operator
  }
}
