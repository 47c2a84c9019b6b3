/**
 * Recovery from a bad persisted leader term (`clawmesh planner reset-term`). A node keeps the
 * highest claim it has seen in planner/leader-term.json so terms never go backwards, also across
 * restarts; a bogus claim there (a term some key could seize before issue 14, or a term far ahead
 * of the mesh) therefore outlives restarts. This rewrites the file of a STOPPED node: it forgets the
 * held claim and holds `to` instead (or nothing), and records the reset in the node's evidence log,
 * signed with its device key, so the audit trail shows who moved the fence and from what.
 */
import { rm } from 'node:fs/promises'
import { signerFromPrivateKey } from '../../protocol/signing.ts'
import { loadIdentity } from '../../runtime/identity/device-identity.ts'
import { readJsonFile, writeJsonAtomic } from '../../runtime/state/atomic-file.ts'
import { statePaths } from '../../runtime/state/state-dir.ts'
import { EvidenceLogError, EvidenceLogWriter } from '../safety/evidence-log-writer.ts'
import {
  type LeaderTermFile,
  leaderTermFileSchema,
  leaderTermOwnerPath,
  leaderTermOwnerSchema,
  leaderTermPath,
} from './election.ts'

export const LEADER_TERM_RESET_REFUSALS = {
  'node-running': 'A node is running on this state dir; it would write its held term back. Stop it first.',
  'no-identity': 'This state dir has no device identity: no node ever ran here.',
  'evidence-broken': "The node's evidence log does not verify, so the reset could not be recorded.",
} as const
export type LeaderTermResetRefusal = keyof typeof LEADER_TERM_RESET_REFUSALS

export class LeaderTermResetError extends Error {
  static readonly NAME = 'LeaderTermResetError'
  override readonly name = LeaderTermResetError.NAME
  readonly code: LeaderTermResetRefusal

  constructor(code: LeaderTermResetRefusal, detail: string, options?: { cause?: unknown }) {
    super(`${LEADER_TERM_RESET_REFUSALS[code]} ${detail}`, options)
    this.code = code
  }
}

export interface LeaderTermResetResult {
  readonly path: string
  /** What the node held before: a claim, nothing, or a file it could not read. */
  readonly previous: { readonly term: number; readonly leader: string } | 'none' | 'unreadable'
  /** The term the node now holds; null when it holds none (it accepts term 1 only, or claims 1). */
  readonly heldTerm: number | null
  /** Sequence number of the evidence entry that records the reset. */
  readonly evidenceSeq: number
}

export interface ResetLeaderTermOptions {
  readonly stateDir: string
  /** Term to hold afterwards (the mesh's real term); undefined forgets every term. */
  readonly to?: number
  readonly now?: () => number
}

/** Whether the process named in the owner file still runs (EPERM: it runs as another user). */
function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM'
  }
}

export async function resetLeaderTerm(options: ResetLeaderTermOptions): Promise<LeaderTermResetResult> {
  const { stateDir } = options
  const now = options.now ?? Date.now
  const owner = await readJsonFile(
    leaderTermOwnerPath(stateDir),
    leaderTermOwnerSchema,
    'leader-term owner',
  ).catch(() => undefined)
  if (owner !== undefined && owner.pid !== process.pid && isRunning(owner.pid)) {
    throw new LeaderTermResetError(
      'node-running',
      `(pid ${owner.pid} per ${leaderTermOwnerPath(stateDir)}; if no node runs there, delete that file)`,
    )
  }
  const identity = await loadIdentity(statePaths(stateDir).deviceIdentity)
  if (identity === undefined) throw new LeaderTermResetError('no-identity', `(${stateDir})`)
  let evidence: EvidenceLogWriter
  try {
    evidence = await EvidenceLogWriter.open({
      stateDir,
      signer: signerFromPrivateKey(identity.privateKey),
      now,
    })
  } catch (error) {
    if (error instanceof EvidenceLogError)
      throw new LeaderTermResetError('evidence-broken', 'Run `clawmesh evidence verify` for details.', {
        cause: error,
      })
    throw error
  }

  const path = leaderTermPath(stateDir)
  let previous: LeaderTermResetResult['previous']
  try {
    const file = await readJsonFile(path, leaderTermFileSchema, 'leader term')
    const highest = file?.highest?.body
    previous =
      highest !== undefined
        ? { term: highest.term, leader: highest.leader }
        : file?.resetTo !== undefined
          ? { term: file.resetTo.term, leader: identity.deviceId }
          : 'none'
  } catch {
    previous = 'unreadable'
  }

  const at = now()
  if (options.to === undefined) await rm(path, { force: true })
  else await writeJsonAtomic(path, { version: 1, resetTo: { term: options.to, at } } satisfies LeaderTermFile)
  const entry = await evidence.append(
    'maintenance',
    {
      action: 'leader-term-reset',
      previous: typeof previous === 'string' ? previous : { term: previous.term, leader: previous.leader },
      heldTerm: options.to ?? null,
      by: 'clawmesh planner reset-term',
    },
    at,
  )
  await evidence.flush()
  return { path, previous, heldTerm: options.to ?? null, evidenceSeq: entry.seq }
}
