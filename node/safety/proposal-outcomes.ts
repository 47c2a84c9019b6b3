/**
 * The `outcome` evidence entries of a node that tracks proposals: one for each proposal that ends,
 * written alongside the proposal store's journal line (the store keeps only the newest ended
 * proposals; the evidence log keeps every ending, for auditors and the chaos loop's invariant
 * checker). The two writes run in parallel, so a crash can land between them: at start, every ended
 * proposal the store holds whose ending the log does not show yet is logged then, marked
 * `loggedAtRestart`. (The other order — the entry on disk, the journal line not — leaves a proposal
 * that resumes and ends again: a second entry, the later one the ending.)
 */
import {
  type EvidenceEntry,
  type ProposalState,
  proposalOutcomeEntry,
  proposalOutcomeEntrySchema,
  TERMINAL_PROPOSAL_STATES,
} from '../../protocol/safety/index.ts'
import type { EvidenceLogWriter } from './evidence-log-writer.ts'
import type { StoredProposal } from './proposal-store.ts'

export interface ProposalOutcomesInit {
  readonly evidence: Pick<EvidenceLogWriter, 'append'>
  /** An ending that could not be logged (a full disk): counted and shown by the caller; the entry
   * is logged at the next start. */
  readonly onUnlogged: (record: StoredProposal, error: Error) => void
}

export class ProposalOutcomes {
  readonly #init: ProposalOutcomesInit
  /** Endings logged since the node opened its records, until `logMissing` has run. */
  #loggedSinceOpen: Map<string, ProposalState> | undefined = new Map()

  constructor(init: ProposalOutcomesInit) {
    this.#init = init
  }

  /** The proposal store's `recordOutcome`: appends the entry; never throws. */
  readonly record = async (record: StoredProposal): Promise<void> => {
    try {
      await this.#init.evidence.append('outcome', proposalOutcomeEntry(record))
      this.#loggedSinceOpen?.set(record.hash, record.state)
    } catch (error) {
      this.#init.onUnlogged(record, error as Error)
    }
  }

  /**
   * At start, once the store is open: logs the ending of every ended proposal in `records` whose
   * latest `outcome` entry (in `entriesAtOpen`, the log as it was opened, or logged since) is missing
   * or names another state. Resolves with the records it logged.
   */
  async logMissing(
    records: readonly StoredProposal[],
    entriesAtOpen: readonly EvidenceEntry[],
  ): Promise<StoredProposal[]> {
    const logged = latestOutcomes(entriesAtOpen)
    for (const [hash, state] of this.#loggedSinceOpen ?? []) logged.set(hash, state)
    this.#loggedSinceOpen = undefined
    const missing = records.filter(
      (record) => TERMINAL_PROPOSAL_STATES.has(record.state) && logged.get(record.hash) !== record.state,
    )
    for (const record of missing) {
      try {
        await this.#init.evidence.append('outcome', proposalOutcomeEntry(record, { loggedAtRestart: true }))
      } catch (error) {
        this.#init.onUnlogged(record, error as Error)
      }
    }
    return missing
  }
}

/** The state each proposal hash's latest `outcome` entry names. */
export function latestOutcomes(entries: readonly EvidenceEntry[]): Map<string, ProposalState> {
  const latest = new Map<string, ProposalState>()
  for (const entry of entries) {
    if (entry.type !== 'outcome') continue
    const parsed = proposalOutcomeEntrySchema.safeParse(entry.data)
    if (parsed.success) latest.set(parsed.data.hash, parsed.data.state)
  }
  return latest
}
