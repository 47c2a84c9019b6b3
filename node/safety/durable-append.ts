/**
 * Durable append-only JSON-lines files: each record is one line written with O_APPEND and fsynced
 * before the append resolves, so a caller that waited for it may act on it (touch a device, tell an
 * operator) knowing the record survives a power cut.
 */
import { mkdir, open, readFile } from 'node:fs/promises'
import { dirname } from 'node:path'

export async function appendLineDurably(path: string, line: string): Promise<void> {
  await appendLinesDurably(path, [line])
}

/**
 * An append that did not reach the disk whole (a full disk: ENOSPC, or EIO). `rolledBack` says the
 * file was cut back to its length before the append, so no part of the failed lines stays in it: a
 * later append starts on a line boundary, and a reader never meets a torn line in the middle.
 */
export class DurableAppendError extends Error {
  static readonly NAME = 'DurableAppendError'
  override readonly name = DurableAppendError.NAME
  readonly path: string
  /** The errno code when the system gave one (ENOSPC for a full disk). */
  readonly code: string | undefined
  readonly rolledBack: boolean
  constructor(path: string, cause: unknown, rolledBack: boolean) {
    const code = (cause as NodeJS.ErrnoException).code
    super(`appending to ${path} failed (${(cause as Error).message})`, { cause })
    this.path = path
    this.code = code
    this.rolledBack = rolledBack
  }
}

/** Appends several JSON lines with one write and one fsync. A write the system cut short (a full
 * disk writes what fits, then refuses) is cut back out of the file and thrown as a DurableAppendError. */
export async function appendLinesDurably(path: string, lines: readonly string[]): Promise<void> {
  if (lines.some((line) => line.includes('\n')))
    throw new Error('a JSON-lines record must not contain a newline')
  const directory = dirname(path)
  await mkdir(directory, { recursive: true, mode: 0o700 })
  const handle = await open(path, 'a', 0o600)
  let created: boolean
  try {
    const before = (await handle.stat()).size
    created = before === 0
    const bytes = Buffer.from(`${lines.join('\n')}\n`)
    try {
      // FileHandle.write writes once: on a nearly full disk it returns a short count, not an error.
      const { bytesWritten } = await handle.write(bytes)
      if (bytesWritten !== bytes.byteLength) {
        throw Object.assign(
          new Error(`short write: ${bytesWritten} of ${bytes.byteLength} bytes (disk full)`),
          {
            code: 'ENOSPC',
          },
        )
      }
      await handle.sync()
    } catch (error) {
      const rolledBack = await handle.truncate(before).then(
        () => true,
        () => false,
      )
      throw new DurableAppendError(path, error, rolledBack)
    }
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

interface PendingLine {
  readonly line: string
  readonly resolve: () => void
  readonly reject: (error: unknown) => void
}

/**
 * A JSON-lines file with group commit: lines appended while a write is on its way are written
 * together by the next write, with one fsync for all of them. Each `append` still resolves only
 * once its own line is on disk, so the durability promise of `appendLineDurably` is unchanged;
 * concurrent writers (an approval and the decision it triggers) just share the fsync.
 */
export class GroupCommitFile {
  readonly path: string
  readonly #queue = new SerialQueue()
  #pending: PendingLine[] = []
  #flushQueued = false
  /** Set by a failed write: every later append is refused (fail-stop). A line written after a lost
   * one would leave a hole: a broken hash chain in the evidence log, a skipped state in a journal. */
  #failure: Error | undefined

  readonly #write: (path: string, lines: readonly string[]) => Promise<void>

  /** `write` is appendLinesDurably; tests pass a wrapper to watch the batches. */
  constructor(path: string, write = appendLinesDurably) {
    this.path = path
    this.#write = write
  }

  append(line: string): Promise<void> {
    if (line.includes('\n'))
      return Promise.reject(new Error('a JSON-lines record must not contain a newline'))
    if (this.#failure !== undefined) return Promise.reject(this.#failure)
    return new Promise((resolve, reject) => {
      this.#pending.push({ line, resolve, reject })
      if (this.#flushQueued) return
      this.#flushQueued = true
      void this.#queue.run(() => this.#flush())
    })
  }

  /** Whether a failed write stopped this file (every append refused until `resume`). */
  get failed(): boolean {
    return this.#failure !== undefined
  }

  /**
   * Accepts appends again after a failed write, for an owner that rolled its own state back to what
   * is on disk (the evidence log re-reads its last entry). Only when the failed write was cut back
   * out of the file (DurableAppendError.rolledBack): otherwise the file may end in a torn line and
   * stays stopped. Call with no append in flight (after `idle`). Returns whether it resumed.
   */
  resume(): boolean {
    const cause = this.#failure?.cause
    if (!(cause instanceof DurableAppendError) || !cause.rolledBack) return this.#failure === undefined
    this.#failure = undefined
    return true
  }

  /** Runs `task` with no write in flight and holds new writes until it settles (compaction). */
  exclusive<T>(task: () => Promise<T>): Promise<T> {
    return this.#queue.run(task)
  }

  /** Resolves when every line appended so far is on disk (or failed). */
  async idle(): Promise<void> {
    await this.#queue.idle()
    if (this.#pending.length > 0 || this.#flushQueued) await this.idle()
  }

  async #flush(): Promise<void> {
    this.#flushQueued = false
    const batch = this.#pending
    this.#pending = []
    if (batch.length === 0) return
    if (this.#failure !== undefined) {
      for (const pending of batch) pending.reject(this.#failure)
      return
    }
    try {
      await this.#write(
        this.path,
        batch.map((pending) => pending.line),
      )
      for (const pending of batch) pending.resolve()
    } catch (error) {
      this.#failure = new Error(
        `writing ${this.path} failed (${(error as Error).message}); no further records are accepted until the node restarts`,
        { cause: error },
      )
      for (const pending of batch) pending.reject(error)
    }
  }
}
