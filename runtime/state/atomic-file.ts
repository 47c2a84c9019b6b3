/**
 * Crash-safe state files. Writes go to a temporary file in the same directory, are fsynced, then
 * renamed over the target (rename is atomic on POSIX), and the directory is fsynced so the rename
 * survives power loss. Reads validate with zod and report the file path and the failing fields.
 */
import { randomBytes } from 'node:crypto'
import { mkdir, open, readFile, rename, rm } from 'node:fs/promises'
import { basename, dirname, join } from 'node:path'
import type { z } from 'zod'

export class StateFileError extends Error {
  static readonly NAME = 'StateFileError'
  override readonly name = StateFileError.NAME
  readonly path: string
  constructor(path: string, message: string, options: { cause?: unknown } = {}) {
    super(message, options)
    this.path = path
  }
}

export async function writeFileAtomic(path: string, data: string | Uint8Array, mode = 0o600): Promise<void> {
  const directory = dirname(path)
  await mkdir(directory, { recursive: true, mode: 0o700 })
  const temporary = join(directory, `.${basename(path)}.${randomBytes(6).toString('hex')}.tmp`)
  const handle = await open(temporary, 'w', mode)
  try {
    await handle.writeFile(data)
    await handle.sync()
  } catch (error) {
    await handle.close()
    await rm(temporary, { force: true })
    throw error
  }
  await handle.close()
  await rename(temporary, path)
  const directoryHandle = await open(directory, 'r')
  try {
    await directoryHandle.sync()
  } finally {
    await directoryHandle.close()
  }
}

export async function writeJsonAtomic(path: string, value: unknown, mode = 0o600): Promise<void> {
  await writeFileAtomic(path, `${JSON.stringify(value, null, 2)}\n`, mode)
}

/** Reads and validates a JSON state file. Returns undefined only when the file does not exist;
 * every other problem (unreadable, not JSON, wrong shape) is a StateFileError naming the file, so
 * callers never silently replace a file they could not read. */
export async function readJsonFile<S extends z.ZodType>(
  path: string,
  schema: S,
  what: string,
): Promise<z.output<S> | undefined> {
  let text: string
  try {
    text = await readFile(path, 'utf8')
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined
    throw new StateFileError(path, `cannot read ${what} at ${path}: ${(error as Error).message}`, {
      cause: error,
    })
  }
  let json: unknown
  try {
    json = JSON.parse(text)
  } catch (error) {
    throw new StateFileError(
      path,
      `${what} at ${path} is not valid JSON (${(error as Error).message}). It was left untouched: restore it from a backup or move it aside.`,
      { cause: error },
    )
  }
  const parsed = schema.safeParse(json)
  if (!parsed.success) {
    const issues = parsed.error.issues
      .slice(0, 5)
      .map((issue) => `${issue.path.join('.') || '(root)'}: ${issue.message}`)
      .join('; ')
    throw new StateFileError(
      path,
      `${what} at ${path} is invalid (${issues}). It was left untouched: fix it or move it aside.`,
      { cause: parsed.error },
    )
  }
  return parsed.data
}
