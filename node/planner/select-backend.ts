/**
 * Which backend plans on this node. The one place a model-backed planner is chosen: when the node
 * configuration names a model (`--pi-model`), the Pi backend is built here with its key from the
 * credential store (or the provider's environment variable); otherwise the built-in rule-based
 * planner answers, so a mesh without any model or network still has a planner.
 */

import type { Counters } from '../../runtime/counters.ts'
import type { NodeConfig } from '../config.ts'
import { CredentialStore } from '../credentials/credential-store.ts'
import type { SiteModel } from '../site/site-model.ts'
import type { PlannerBackend } from './backend.ts'
import { BuiltinPlanner } from './builtin-planner.ts'

export interface BackendSelectionInit {
  config: NodeConfig
  site: SiteModel | undefined
  /** Path of the node's credentials.json. */
  credentialsPath: string
  counters?: Counters
}

export async function selectPlannerBackend(init: BackendSelectionInit): Promise<PlannerBackend> {
  if (init.config.piModel !== undefined) {
    // pi-ai costs about a second of import: load it only when a model is configured.
    const { piBackendFromConfig } = await import('./pi/from-config.ts')
    const credentials = await CredentialStore.open(init.credentialsPath)
    const backend = piBackendFromConfig(init.config, credentials, init.counters)
    if (backend !== undefined) return backend
  }
  return new BuiltinPlanner(init.site === undefined ? {} : { site: init.site })
}
