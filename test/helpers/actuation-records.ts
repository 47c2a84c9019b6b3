/**
 * "Nothing moved" read from the records that would show a move, instead of sleeping and looking at
 * the valve: the command center's evidence log (its `decision` / `approval` entries for the
 * proposal's hash come before any command leaves), the actuator's evidence log (an `execution`
 * entry) and the actuator's execution ledger (`started` is fsynced before the device is touched).
 */
import { readFile } from 'node:fs/promises'
import { executionLedgerPath } from '../../node/safety/execution-ledger.ts'
import { cliJson } from './processes.ts'

export interface ProposalRef {
  readonly hash: string
  readonly id: string
}

/** What each record holds about one proposal, oldest first. */
export interface ActuationRecords {
  /** Types of the command center's evidence entries for the proposal (`proposal`, `approval`, …). */
  readonly commandCenter: string[]
  /** Types of the actuator's evidence entries for the proposal (`execution`, `refusal`). */
  readonly actuator: string[]
  /** The actuator's ledger events for the proposal's hash (`started`, `finished`). */
  readonly ledger: string[]
}

interface EvidenceJson {
  verified: boolean
  entries: Array<{ type: string; data: { hash?: string; proposalId?: string } }>
}

/** Runs a CLI command with `--json` and parses its output; tests that capture every output pass their own. */
export type CliJsonRunner = <T>(args: string[], stateDir: string) => Promise<T>

async function evidenceFor(
  proposal: ProposalRef,
  stateDir: string,
  readJson: CliJsonRunner,
): Promise<string[]> {
  // `evidence list` reads the state dir's log itself and checks its chain: a log that does not
  // verify is no proof of anything.
  const log = await readJson<EvidenceJson>(['evidence', 'list'], stateDir)
  if (!log.verified) throw new Error(`the evidence log in ${stateDir} does not verify`)
  return log.entries
    .filter((entry) => entry.data.hash === proposal.hash || entry.data.proposalId === proposal.id)
    .map((entry) => entry.type)
}

async function ledgerFor(proposal: ProposalRef, stateDir: string): Promise<string[]> {
  let text: string
  try {
    text = await readFile(executionLedgerPath(stateDir), 'utf8')
  } catch (error) {
    // No ledger yet: this actuator has never begun an execution.
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return []
    throw error
  }
  return text
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map((line) => JSON.parse(line) as { event: string; hash: string })
    .filter((record) => record.hash === proposal.hash)
    .map((record) => record.event)
}

export async function actuationRecords(
  proposal: ProposalRef,
  dirs: { readonly commandCenter: string; readonly actuator: string },
  readJson: CliJsonRunner = cliJson,
): Promise<ActuationRecords> {
  const [commandCenter, actuator, ledger] = await Promise.all([
    evidenceFor(proposal, dirs.commandCenter, readJson),
    evidenceFor(proposal, dirs.actuator, readJson),
    ledgerFor(proposal, dirs.actuator),
  ])
  return { commandCenter, actuator, ledger }
}

/** The records of a proposal that was created and is waiting: logged at the command center, no
 * decision, nothing begun or executed at the actuator. */
export const AWAITING_RECORDS: ActuationRecords = { commandCenter: ['proposal'], actuator: [], ledger: [] }

/** The records of a proposal approved and executed once: approval, decision and how it ended at the
 * command center, one execution at the actuator, begun and finished in its ledger. */
export const EXECUTED_RECORDS: ActuationRecords = {
  commandCenter: ['proposal', 'approval', 'decision', 'outcome'],
  actuator: ['execution'],
  ledger: ['started', 'finished'],
}

/** The proposal's state as the command center's proposal store holds it (`clawmesh proposals`). */
export async function proposalState(
  url: string,
  stateDir: string,
  id: string,
  readJson: CliJsonRunner = cliJson,
): Promise<string | undefined> {
  const { proposals } = await readJson<{ proposals: Array<{ state: string; proposal: { id: string } }> }>(
    ['proposals', '--url', url],
    stateDir,
  )
  return proposals.find((candidate) => candidate.proposal.id === id)?.state
}
