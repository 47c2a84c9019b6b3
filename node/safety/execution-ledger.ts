/**
 * The actuator's execution ledger, `<stateDir>/safety/execution-ledger.jsonl`: which command or
 * proposal hashes this node has executed, so none runs twice, across restarts included.
 *
 * Crash safety: `started` is fsynced before the device is touched and `finished` after it answers.
 * A hash started but never finished (the node stopped in between) counts as executed with an
 * unknown result: it is never retried, and its outcome tells a person to check the device.
 */
import { open, readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { z } from 'zod'
import { sha256HexSchema, timestampSchema } from '../../protocol/safety/schemas.ts'
import { StateFileError } from '../../runtime/state/atomic-file.ts'
import { INTERRUPTED_EXECUTION_DETAIL } from './constants.ts'
import { appendLineDurably, DurableAppendError, SerialQueue } from './durable-append.ts'

export function executionLedgerPath(stateDir: string): string {
  return join(stateDir, 'safety', 'execution-ledger.jsonl')
}

const EXECUTION_DETAIL_MAX_LENGTH = 1_000

const ledgerRecordSchema = z.discriminatedUnion('event', [
  z.strictObject({ event: z.literal('started'), hash: sha256HexSchema, at: timestampSchema }),
  z.strictObject({
    event: z.literal('finished'),
    hash: sha256HexSchema,
    at: timestampSchema,
    status: z.enum(['completed', 'failed']),
    detail: z.string().max(EXECUTION_DETAIL_MAX_LENGTH).optional(),
  }),
])

export interface ExecutionResult {
  readonly status: 'completed' | 'failed'
  readonly detail?: string
}

export type ExecutionRecord =
  | { readonly state: 'executing'; readonly startedAt: number }
  | {
      readonly state: 'finished'
      readonly startedAt: number
      readonly finishedAt: number
      readonly status: 'completed' | 'failed'
      readonly detail?: string
    }
  /** Started before the last restart and never finished: reported as failed, never retried. */
  | {
      readonly state: 'interrupted'
      readonly startedAt: number
      readonly status: 'failed'
      readonly detail: typeof INTERRUPTED_EXECUTION_DETAIL
    }

export type BeginResult =
  | { readonly outcome: 'begun' }
  | { readonly outcome: 'refused'; readonly reason: 'already-executed'; readonly previous: ExecutionRecord }

export class ExecutionLedgerError extends Error {
  static readonly NAME = 'ExecutionLedgerError'
  override readonly name = ExecutionLedgerError.NAME
}

export interface ExecutionLedgerInit {
  readonly stateDir: string
  readonly now?: () => number
}

export class ExecutionLedger {
  readonly path: string
  readonly #now: () => number
  readonly #records = new Map<string, ExecutionRecord>()
  readonly #queue = new SerialQueue()

  private constructor(path: string, now: () => number) {
    this.path = path
    this.#now = now
  }

  /** Loads the ledger; a record that cannot be read is a StateFileError (never skipped, since a
   * skipped `started` could let a command run twice). */
  static async open(init: ExecutionLedgerInit): Promise<ExecutionLedger> {
    const ledger = new ExecutionLedger(executionLedgerPath(init.stateDir), init.now ?? Date.now)
    await ledger.#load()
    return ledger
  }

  hasExecuted(hash: string): boolean {
    return this.#records.has(hash)
  }

  outcome(hash: string): ExecutionRecord | undefined {
    return this.#records.get(hash)
  }

  /**
   * Claims a hash for execution and resolves once the claim is on disk; only then may the caller
   * touch the device. The claim is taken before the write, so a concurrent second call is refused
   * too, and it stays taken if the write fails: failing closed means at most once.
   */
  async begin(hash: string, at: number = this.#now()): Promise<BeginResult> {
    sha256HexSchema.parse(hash)
    const previous = this.#records.get(hash)
    if (previous !== undefined) return { outcome: 'refused', reason: 'already-executed', previous }
    this.#records.set(hash, { state: 'executing', startedAt: at })
    try {
      await this.#append({ event: 'started', hash, at })
    } catch (error) {
      // The device was not touched. A `started` line cut back out of the file (a full disk) leaves
      // no trace, so the claim is released and a retry may run once space returns; any other
      // failure keeps the claim (the line may be on disk): at most once wins over liveness.
      if (error instanceof DurableAppendError && error.rolledBack) this.#records.delete(hash)
      throw error
    }
    return { outcome: 'begun' }
  }

  /** Records how an execution ended; the hash stays executed for good. */
  async finish(hash: string, result: ExecutionResult, at: number = this.#now()): Promise<void> {
    const record = this.#records.get(hash)
    if (record?.state !== 'executing') {
      throw new ExecutionLedgerError(
        record === undefined
          ? `execution ${hash} was never begun; call begin() before touching the device`
          : `execution ${hash} already ended (${record.state}); its outcome cannot change`,
      )
    }
    const detail = result.detail?.slice(0, EXECUTION_DETAIL_MAX_LENGTH)
    this.#records.set(hash, {
      state: 'finished',
      startedAt: record.startedAt,
      finishedAt: at,
      status: result.status,
      ...(detail === undefined ? {} : { detail }),
    })
    await this.#append({
      event: 'finished',
      hash,
      at,
      status: result.status,
      ...(detail === undefined ? {} : { detail }),
    })
  }

  get size(): number {
    return this.#records.size
  }

  #append(record: z.input<typeof ledgerRecordSchema>): Promise<void> {
    return this.#queue.run(() => appendLineDurably(this.path, JSON.stringify(record)))
  }

  async #load(): Promise<void> {
    let text: string
    try {
      text = await readFile(this.path, 'utf8')
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return
      throw new StateFileError(
        this.path,
        `cannot read the execution ledger at ${this.path}: ${(error as Error).message}`,
        {
          cause: error,
        },
      )
    }
    const lines = text.split('\n')
    const torn = lines.pop() ?? ''
    if (torn !== '') await this.#dropTornTail(text.length - torn.length)
    for (const [index, line] of lines.entries()) this.#apply(line, index)
    for (const [hash, record] of this.#records) {
      if (record.state === 'executing') {
        this.#records.set(hash, {
          state: 'interrupted',
          startedAt: record.startedAt,
          status: 'failed',
          detail: INTERRUPTED_EXECUTION_DETAIL,
        })
      }
    }
  }

  #apply(line: string, index: number): void {
    let json: unknown
    try {
      json = JSON.parse(line)
    } catch {
      throw this.#corrupt(index, 'is not JSON')
    }
    const parsed = ledgerRecordSchema.safeParse(json)
    if (!parsed.success) throw this.#corrupt(index, 'is not a ledger record')
    const record = parsed.data
    const existing = this.#records.get(record.hash)
    if (record.event === 'started') {
      if (existing !== undefined) throw this.#corrupt(index, `starts ${record.hash} a second time`)
      this.#records.set(record.hash, { state: 'executing', startedAt: record.at })
      return
    }
    if (existing?.state !== 'executing')
      throw this.#corrupt(index, `finishes ${record.hash}, which is not executing`)
    this.#records.set(record.hash, {
      state: 'finished',
      startedAt: existing.startedAt,
      finishedAt: record.at,
      status: record.status,
      ...(record.detail === undefined ? {} : { detail: record.detail }),
    })
  }

  /**
   * A last line without its newline is an append a crash cut short. Its fsync never returned, so
   * the caller never acted on it (a cut `started` means the device was not touched); it is dropped
   * so the next append starts on a line of its own.
   */
  async #dropTornTail(length: number): Promise<void> {
    const handle = await open(this.path, 'r+')
    try {
      await handle.truncate(length)
      await handle.sync()
    } finally {
      await handle.close()
    }
  }

  #corrupt(index: number, problem: string): StateFileError {
    return new StateFileError(
      this.path,
      `execution ledger at ${this.path}: line ${index + 1} ${problem}. It was left untouched; ` +
        'this node will not actuate until the ledger is repaired or restored, because a lost record ' +
        'could let a command run twice.',
    )
  }
}
