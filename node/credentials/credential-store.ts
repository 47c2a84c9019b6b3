/**
 * Provider credentials of this device (`$CLAWMESH_STATE_DIR/credentials.json`, mode 0600, written
 * atomically). The planner reads them at start to reach its model provider; nothing else does.
 * Values never leave this file except into the provider request that needs them: listings show
 * names, set times and lengths only, and `redact.ts` scrubs them from anything a person or a peer
 * could see.
 */
import { chmod, readFile, stat } from 'node:fs/promises'
import { z } from 'zod'
import { StateFileError, writeJsonAtomic } from '../../runtime/state/atomic-file.ts'

/** Provider keys are a few hundred characters at most (JWT-style tokens included); anything longer
 * is a paste accident (a whole file), refused before it is stored. */
export const CREDENTIAL_VALUE_MAX_CHARS = 4_096
/** A store holds a handful of provider keys; the bound keeps a corrupt or hostile file small. */
export const CREDENTIALS_MAX = 64
/** `provider/NAME`: both segments short, lowercase, safe in file names and log lines. */
export const CREDENTIAL_SEGMENT_MAX_CHARS = 48

export const credentialNameSchema = z
  .string()
  .max(CREDENTIAL_SEGMENT_MAX_CHARS * 2 + 1)
  .regex(
    /^[a-z0-9][a-z0-9._-]*\/[a-z0-9][a-z0-9._-]*$/,
    'credential names look like "anthropic/api-key" or "local/api-key" (lowercase provider/NAME)',
  )
  .refine((name) => name.split('/').every((segment) => segment.length <= CREDENTIAL_SEGMENT_MAX_CHARS), {
    message: `each segment of a credential name is at most ${CREDENTIAL_SEGMENT_MAX_CHARS} characters`,
  })

export const credentialValueSchema = z
  .string()
  .min(1, 'a credential value is never empty')
  .max(CREDENTIAL_VALUE_MAX_CHARS, `a credential value is at most ${CREDENTIAL_VALUE_MAX_CHARS} characters`)
  .regex(/^[^\r\n]*$/, 'a credential value is one line')

const storedCredentialSchema = z.strictObject({ value: credentialValueSchema, setAt: z.string().max(64) })

const credentialsFileSchema = z.strictObject({
  version: z.literal(1),
  credentials: z
    .record(credentialNameSchema, storedCredentialSchema)
    .refine((entries) => Object.keys(entries).length <= CREDENTIALS_MAX, {
      message: `at most ${CREDENTIALS_MAX} credentials`,
    }),
})

/** What a listing shows: never the value. */
export interface CredentialListing {
  name: string
  setAt: string
  length: number
}

/** The read side the planner needs; tests pass a plain map. */
export interface CredentialReader {
  get(name: string): string | undefined
}

export class CredentialError extends Error {
  static readonly NAME = 'CredentialError'
  override readonly name = CredentialError.NAME
}

/** The standard name of a provider's API key in the store. */
export function apiKeyCredentialName(provider: string): string {
  return `${provider}/api-key`
}

export function checkCredentialName(name: string): string {
  const parsed = credentialNameSchema.safeParse(name)
  if (!parsed.success) {
    throw new CredentialError(`"${name}" is not a credential name: ${parsed.error.issues[0]?.message}`)
  }
  return parsed.data
}

export class CredentialStore implements CredentialReader {
  readonly path: string
  #entries = new Map<string, z.infer<typeof storedCredentialSchema>>()
  /** True when the file was readable by group or others when it was opened. */
  looseMode = false

  private constructor(path: string) {
    this.path = path
  }

  /** Loads the store; a missing file is an empty store, a corrupt one a StateFileError. */
  static async open(path: string): Promise<CredentialStore> {
    const store = new CredentialStore(path)
    const file = await readCredentialsFile(path)
    store.#entries = new Map(Object.entries(file?.credentials ?? {}))
    if (file !== undefined) {
      const mode = (await stat(path)).mode & 0o777
      if ((mode & 0o077) !== 0) {
        store.looseMode = true
        // Someone widened the mode by hand: tighten it again rather than keep serving keys from a
        // file other users can read.
        await chmod(path, 0o600)
      }
    }
    return store
  }

  get(name: string): string | undefined {
    return this.#entries.get(name)?.value
  }

  has(name: string): boolean {
    return this.#entries.has(name)
  }

  list(): CredentialListing[] {
    return [...this.#entries.entries()]
      .map(([name, entry]) => ({ name, setAt: entry.setAt, length: entry.value.length }))
      .sort((a, b) => a.name.localeCompare(b.name))
  }

  describe(name: string): CredentialListing | undefined {
    return this.list().find((entry) => entry.name === name)
  }

  /** Every stored value, for redaction. */
  secretValues(): string[] {
    return [...this.#entries.values()].map((entry) => entry.value)
  }

  async set(name: string, value: string): Promise<void> {
    checkCredentialName(name)
    const parsed = credentialValueSchema.safeParse(value)
    // The issue message never contains the value itself.
    if (!parsed.success) throw new CredentialError(`cannot store ${name}: ${parsed.error.issues[0]?.message}`)
    if (!this.#entries.has(name) && this.#entries.size >= CREDENTIALS_MAX) {
      throw new CredentialError(`the credential store holds at most ${CREDENTIALS_MAX} credentials`)
    }
    this.#entries.set(name, { value: parsed.data, setAt: new Date().toISOString() })
    await this.#save()
  }

  async delete(name: string): Promise<boolean> {
    checkCredentialName(name)
    if (!this.#entries.delete(name)) return false
    await this.#save()
    return true
  }

  async #save(): Promise<void> {
    await writeJsonAtomic(this.path, { version: 1, credentials: Object.fromEntries(this.#entries) }, 0o600)
  }
}

/** Like `readJsonFile`, but its errors never quote the file: JSON.parse messages include a snippet
 * of the text, and here the text is secrets. */
async function readCredentialsFile(path: string): Promise<z.infer<typeof credentialsFileSchema> | undefined> {
  let text: string
  try {
    text = await readFile(path, 'utf8')
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined
    throw new StateFileError(
      path,
      `cannot read the credential store at ${path}: ${(error as NodeJS.ErrnoException).code}`,
    )
  }
  let json: unknown
  try {
    json = JSON.parse(text)
  } catch {
    throw new StateFileError(
      path,
      `the credential store at ${path} is not valid JSON. It was left untouched: fix it or move it aside and set the keys again.`,
    )
  }
  const parsed = credentialsFileSchema.safeParse(json)
  if (!parsed.success) {
    const where = parsed.error.issues
      .slice(0, 5)
      .map((issue) => issue.path.join('.') || '(root)')
      .join(', ')
    throw new StateFileError(
      path,
      `the credential store at ${path} is invalid (at ${where}). It was left untouched: fix it or move it aside and set the keys again.`,
    )
  }
  return parsed.data
}
