/**
 * Durable append-only JSON-lines files: each record is one line written with O_APPEND and fsynced
 * before the append resolves, so a caller that waited for it may act on it (touch a device, tell an
 * operator) knowing the record survives a power cut.
 */
import { mkdir, open, readFile } from 'node:fs/promises'
import { dirname } from 'node:path'

export async function appendLineDurably(path: string, line: string): Promise<void> {
  if (line.includes('\n')) throw new Error('a JSON-lines record must not contain a newline')
  const directory = dirname(path)
  await mkdir(directory, { recursive: true, mode: 0o700 })
  const handle = await open(path, 'a', 0o600)
  let created: boolean
  try {
    created = (await handle.stat()).size === 0
    await handle.write(`${line}\n`)
    await handle.sync()
  } finally {
    await handle.close()
  }
  // A new file's directory entry is only durable once the directory itself is synced.
  if (created) {
    const directoryHandle = await open(directory, 'r')
    try {
      await directoryHandle.sync()
    } finally {
      await directoryHandle.close()
    }
  }
}

export interface JsonLines {
  /** Complete lines, without their newline. */
  readonly lines: readonly string[]
  /** Text after the last newline: an append that a crash cut short, or an edit. */
  readonly torn: string | undefined
}

/** Reads a JSON-lines file; a missing file is an empty one. */
export async function readJsonLines(path: string): Promise<JsonLines> {
  let text: string
  try {
    text = await readFile(path, 'utf8')
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return { lines: [], torn: undefined }
    throw error
  }
  const parts = text.split('\n')
  const last = parts.pop() ?? ''
  return { lines: parts, torn: last === '' ? undefined : last }
}

/** Serialises async work: each task starts after the previous one settled, in call order. */
export class SerialQueue {
  #tail: Promise<unknown> = Promise.resolve()

  run<T>(task: () => Promise<T>): Promise<T> {
    const result = this.#tail.then(task, task)
    this.#tail = result.catch(() => undefined)
    return result
  }

  /** Resolves when every task queued so far has settled. */
  async idle(): Promise<void> {
    await this.#tail
  }
}
