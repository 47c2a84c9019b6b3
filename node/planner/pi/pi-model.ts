/**
 * Turns `--pi-model provider/model` (and `--pi-base-url`) into a pi-ai model: a model from pi's
 * registry for built-in providers, or an OpenAI-compatible model at the given base URL for
 * `local/NAME` (llama.cpp `llama-server`, Ollama, vLLM).
 */
import { type Api, getModels, getProviders, type KnownProvider, type Model } from '@mariozechner/pi-ai'
import { PI_LOCAL_CONTEXT_WINDOW, PI_MAX_OUTPUT_TOKENS } from './constants.ts'
import { LOCAL_PROVIDER, piBaseUrlSchema, piModelSpecSchema, splitPiModelSpec } from './pi-config.ts'

export class PiModelConfigError extends Error {
  static readonly NAME = 'PiModelConfigError'
  override readonly name = PiModelConfigError.NAME
}

/** How many known model IDs an "unknown model" error suggests. */
const SUGGESTIONS_MAX = 8

export function resolvePiModel(spec: string, baseUrl?: string): Model<Api> {
  const parsedSpec = piModelSpecSchema.safeParse(spec)
  if (!parsedSpec.success) {
    throw new PiModelConfigError(`--pi-model "${spec}": ${parsedSpec.error.issues[0]?.message}`)
  }
  if (baseUrl !== undefined && !piBaseUrlSchema.safeParse(baseUrl).success) {
    throw new PiModelConfigError(
      `--pi-base-url "${baseUrl}" is not an http:// or https:// URL (e.g. http://127.0.0.1:8080/v1)`,
    )
  }
  const { provider, modelId } = splitPiModelSpec(spec)
  if (provider === LOCAL_PROVIDER) {
    if (baseUrl === undefined) {
      throw new PiModelConfigError(
        `--pi-model ${spec} names a local model: give its server with --pi-base-url (e.g. http://127.0.0.1:8080/v1 for llama-server, http://127.0.0.1:11434/v1 for Ollama)`,
      )
    }
    return localModel(modelId, baseUrl)
  }
  const providers = getProviders() as string[]
  if (!providers.includes(provider)) {
    throw new PiModelConfigError(
      `unknown model provider "${provider}" in --pi-model ${spec}. Known providers: ${providers.join(', ')}, or "${LOCAL_PROVIDER}" with --pi-base-url for an OpenAI-compatible server`,
    )
  }
  const models = getModels(provider as KnownProvider) as Model<Api>[]
  const model = models.find((candidate) => candidate.id === modelId)
  if (model === undefined) {
    // Suggest the provider's models of the same family ("claude-…", "gpt-…") when there are any.
    const family = modelId.split(/[-.:/]/)[0] ?? ''
    const ids = models.map((candidate) => candidate.id)
    const related = ids.filter((id) => family.length > 0 && id.startsWith(family))
    const known = (related.length > 0 ? related : ids).slice(-SUGGESTIONS_MAX).join(', ')
    throw new PiModelConfigError(
      `provider "${provider}" has no model "${modelId}" in this release of pi-ai. Some of its models: ${known}`,
    )
  }
  // A base URL on a built-in provider points it at a proxy that speaks the same API.
  return baseUrl === undefined ? model : { ...model, baseUrl: withV1Path(baseUrl) }
}

/** llama-server, Ollama and vLLM serve the OpenAI API under /v1; a bare host:port means that. */
export function withV1Path(baseUrl: string): string {
  const url = new URL(baseUrl)
  if (url.pathname === '/' || url.pathname === '') url.pathname = '/v1'
  return url.toString().replace(/\/$/, '')
}

function localModel(modelId: string, baseUrl: string): Model<'openai-completions'> {
  return {
    id: modelId,
    name: `${modelId} (local)`,
    api: 'openai-completions',
    provider: LOCAL_PROVIDER,
    baseUrl: withV1Path(baseUrl),
    reasoning: false,
    input: ['text'],
    cost: { input: 0, output: 0, cacheRead: 0, cacheWrite: 0 },
    contextWindow: PI_LOCAL_CONTEXT_WINDOW,
    maxTokens: PI_MAX_OUTPUT_TOKENS,
    // The common denominator of llama.cpp, Ollama and vLLM: a plain `system` role, `max_tokens`,
    // no `store`, no reasoning effort, no `strict` flag on tools.
    compat: {
      supportsStore: false,
      supportsDeveloperRole: false,
      supportsReasoningEffort: false,
      supportsStrictMode: false,
      maxTokensField: 'max_tokens',
    },
  }
}
