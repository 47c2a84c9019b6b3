/**
 * The planner line of the start banner: which model the planner uses and where its key comes from
 * (a credential name or an environment variable, never the value). Resolving the model here makes
 * a misspelt `--pi-model` fail at start with a clear message rather than at the first question.
 */

import { resolveStateDir, statePaths } from '../../../runtime/state/state-dir.ts'
import type { NodeConfig } from '../../config.ts'
import { CredentialStore } from '../../credentials/credential-store.ts'

export async function printPiPlannerLine(config: NodeConfig): Promise<void> {
  if (config.piModel === undefined) return
  // pi-ai takes about a second to load; every other CLI command (which all share start.ts's
  // module graph) should not pay for it.
  const { describePiPlanner } = await import('./from-config.ts')
  const credentials = await CredentialStore.open(statePaths(resolveStateDir(config.stateDir)).credentials)
  console.log(`planner model  ${describePiPlanner(config, credentials)}`)
}
