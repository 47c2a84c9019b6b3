/**
 * `clawmesh planner reset-term [--to N]`: recovery from a bad persisted leader term on a STOPPED
 * node (docs/planner-election.md, "Recovering a bad term"). Exit code 1 with a stable `code` when
 * the node still runs, the state dir has no identity, or the evidence log does not verify.
 */
import type { Command } from 'commander'
import { leaderTermSchema } from '../../../protocol/planner-election.ts'
import { CliUsageError } from '../../../runtime/cli/errors.ts'
import { printJson } from '../../../runtime/cli/output.ts'
import { resolveStateDir } from '../../../runtime/state/state-dir.ts'
import { LeaderTermResetError, resetLeaderTerm } from '../../planner/leader-term-reset.ts'

function parseTerm(value: string | undefined): number | undefined {
  if (value === undefined) return undefined
  const parsed = leaderTermSchema.safeParse(Number(value))
  if (!/^\d+$/.test(value) || !parsed.success)
    throw new CliUsageError(`--to must be a leader term (a positive integer), not "${value}"`)
  return parsed.data
}

export function registerPlannerCommands(program: Command): void {
  const planner = program.command('planner').description('planner election maintenance')
  planner
    .command('reset-term')
    .description(
      "forget the leader term a STOPPED node holds (e.g. a bogus one) and hold --to N instead; recorded in the node's evidence log",
    )
    .option(
      '--to <term>',
      "the term to hold afterwards: the mesh's real term (see `clawmesh status` of a healthy node)",
    )
    .option('--json', 'print JSON')
    .action(async (options: { to?: string; json?: boolean }) => {
      const to = parseTerm(options.to)
      const stateDir = resolveStateDir(program.opts().stateDir)
      try {
        const result = await resetLeaderTerm({ stateDir, ...(to === undefined ? {} : { to }) })
        if (options.json) return printJson({ ok: true, ...result })
        const before =
          typeof result.previous === 'string'
            ? result.previous === 'none'
              ? 'no term'
              : 'an unreadable term file'
            : `term ${result.previous.term} (claimed by ${result.previous.leader})`
        console.log(
          `leader term reset: held ${before}, now ${result.heldTerm === null ? 'none' : `term ${result.heldTerm}`} (${result.path})`,
        )
        console.log(`recorded as evidence entry ${result.evidenceSeq}`)
      } catch (error) {
        if (!(error instanceof LeaderTermResetError)) throw error
        process.exitCode = 1
        if (options.json) return printJson({ ok: false, code: error.code, message: error.message })
        console.error(`error: ${error.code}: ${error.message}`)
      }
    })
}
