import { chmod, mkdtemp, readFile, stat, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { StateFileError } from '../../runtime/state/atomic-file.ts'
import { CredentialError, CredentialStore } from './credential-store.ts'
import { REDACTED, redactSecrets } from './redact.ts'

async function storePath(): Promise<string> {
  return join(await mkdtemp(join(tmpdir(), 'clawmesh-credentials-')), 'credentials.json')
}

describe('CredentialStore', () => {
  it('stores, reads back after reopening, lists without values, deletes', async () => {
    const path = await storePath()
    const store = await CredentialStore.open(path)
    await store.set('anthropic/api-key', 'sk-ant-secret-value-123')
    const reopened = await CredentialStore.open(path)
    expect(reopened.get('anthropic/api-key')).toBe('sk-ant-secret-value-123')
    expect(reopened.list()).toEqual([
      { name: 'anthropic/api-key', setAt: expect.any(String), length: 'sk-ant-secret-value-123'.length },
    ])
    expect(JSON.stringify(reopened.list())).not.toContain('secret')
    expect((await stat(path)).mode & 0o777).toBe(0o600)
    expect(await reopened.delete('anthropic/api-key')).toBe(true)
    expect(await reopened.delete('anthropic/api-key')).toBe(false)
    expect((await CredentialStore.open(path)).list()).toEqual([])
  })

  it('refuses malformed names and multi-line or empty values', async () => {
    const store = await CredentialStore.open(await storePath())
    await expect(store.set('Anthropic Key', 'x')).rejects.toThrow(CredentialError)
    await expect(store.set('anthropic', 'x')).rejects.toThrow(CredentialError)
    await expect(store.set('openai/api-key', 'line1\nline2')).rejects.toThrow(CredentialError)
    await expect(store.set('openai/api-key', '')).rejects.toThrow(CredentialError)
  })

  it('tightens a file someone made readable by others', async () => {
    const path = await storePath()
    await (await CredentialStore.open(path)).set('openai/api-key', 'sk-abc')
    await chmod(path, 0o644)
    const store = await CredentialStore.open(path)
    expect(store.looseMode).toBe(true)
    expect((await stat(path)).mode & 0o777).toBe(0o600)
  })

  it('reports a corrupt file without quoting its content', async () => {
    const path = await storePath()
    await writeFile(path, '{"version":1,"credentials":{"openai/api-key":{"value":"sk-leaky-value"', {
      mode: 0o600,
    })
    const failure = await CredentialStore.open(path).catch((error: unknown) => error)
    expect(failure).toBeInstanceOf(StateFileError)
    expect((failure as Error).message).not.toContain('sk-leaky')
    expect(await readFile(path, 'utf8')).toContain('sk-leaky-value')
  })
})

describe('redactSecrets', () => {
  const secret = 'sk-proj-Ab12Cd34Ef56Gh78Ij90'

  it('removes a known secret whole, and its prefix or suffix excerpts', () => {
    expect(redactSecrets(`key ${secret} rejected`, [secret])).toBe(`key ${REDACTED} rejected`)
    expect(redactSecrets(`key ${secret.slice(0, 10)}…${secret.slice(-9)} rejected`, [secret])).toBe(
      `key ${REDACTED}…${REDACTED} rejected`,
    )
  })

  it('removes key-shaped strings it was not told about', () => {
    expect(redactSecrets('Bearer abcdefghijklmnop1234', [])).toBe(`Bearer ${REDACTED}`)
    expect(redactSecrets('bad key sk-ant-api03-xxxxxxxxxxxxxxxx', [])).toBe(`bad key ${REDACTED}`)
  })

  it('leaves ordinary text and very short "secrets" alone', () => {
    expect(redactSecrets('zone-2 moisture is 12 %', ['abc', secret])).toBe('zone-2 moisture is 12 %')
  })
})
