/**
 * Builds the Pi planner backend from the node configuration (`piModel`, `piBaseUrl`,
 * `piTimeoutMs`) and the credential store. The planner's backend selection calls
 * `piBackendFromConfig`; `undefined` means no model is configured and the built-in planner runs.
 */
import { findEnvKeys, getEnvApiKey } from '@mariozechner/pi-ai'
import { NodeConfigError } from '../../config.ts'
import { apiKeyCredentialName, type CredentialReader } from '../../credentials/credential-store.ts'
import type { PlannerBackend } from '../backend.ts'
import { type CounterSink, createPiBackend } from './pi-backend.ts'
import { LOCAL_PROVIDER, splitPiModelSpec } from './pi-config.ts'
import { PiModelConfigError, resolvePiModel } from './pi-model.ts'

/** The configuration fields this backend reads (a NodeConfig satisfies it). */
export interface PiPlannerConfig {
  piModel?: string | undefined
  piBaseUrl?: string | undefined
  piTimeoutMs?: number | undefined
}

export interface PiKeySource {
  /** `credential <name>`, `environment <VAR>` or `none`; never the value. */
  description: string
  apiKey: string | undefined
}

/** Where the key comes from: the credential store first (`<provider>/api-key`, or
 * `provider/<provider>` as the earlier ClawMesh's guide names it), then the environment variable
 * pi-ai knows for the provider. */
export function resolvePiApiKey(provider: string, credentials: CredentialReader): PiKeySource {
  for (const name of [apiKeyCredentialName(provider), `provider/${provider}`]) {
    const stored = credentials.get(name)
    if (stored !== undefined) return { description: `credential ${name}`, apiKey: stored }
  }
  if (provider !== LOCAL_PROVIDER) {
    const fromEnv = getEnvApiKey(provider)
    const variables = findEnvKeys(provider)?.join(' or ') ?? 'variable'
    if (fromEnv !== undefined) return { description: `environment ${variables}`, apiKey: fromEnv }
  }
  return { description: 'none', apiKey: undefined }
}

export function piBackendFromConfig(
  config: PiPlannerConfig,
  credentials: CredentialReader & { secretValues?(): string[] },
  counters?: CounterSink,
): PlannerBackend | undefined {
  if (config.piModel === undefined) return undefined
  const { provider } = splitPiModelSpec(config.piModel)
  const key = resolvePiApiKey(provider, credentials)
  try {
    return createPiBackend({
      model: config.piModel,
      ...(config.piBaseUrl === undefined ? {} : { baseUrl: config.piBaseUrl }),
      ...(key.apiKey === undefined ? {} : { apiKey: key.apiKey }),
      ...(config.piTimeoutMs === undefined ? {} : { timeoutMs: config.piTimeoutMs }),
      secrets: credentials.secretValues?.() ?? [],
      ...(counters === undefined ? {} : { counters }),
    })
  } catch (error) {
    if (error instanceof PiModelConfigError) throw new NodeConfigError(error.message)
    throw error
  }
}

/** One line for the start banner: which model, where, and where its key comes from (never the
 * key). Throws NodeConfigError for a model that cannot be resolved, so `start` fails early. */
export function describePiPlanner(
  config: PiPlannerConfig,
  credentials: CredentialReader,
): string | undefined {
  if (config.piModel === undefined) return undefined
  const { provider } = splitPiModelSpec(config.piModel)
  let baseUrl: string
  try {
    baseUrl = resolvePiModel(config.piModel, config.piBaseUrl).baseUrl
  } catch (error) {
    if (error instanceof PiModelConfigError) throw new NodeConfigError(error.message)
    throw error
  }
  const key = resolvePiApiKey(provider, credentials)
  const keyText =
    key.apiKey !== undefined
      ? `key from ${key.description}`
      : provider === LOCAL_PROVIDER
        ? 'no key; set local/api-key if the server needs one'
        : `no key found: run \`clawmesh credential set ${apiKeyCredentialName(provider)}\``
  return `pi:${config.piModel} at ${baseUrl} (${keyText})`
}
