/**
 * The configuration keys of the Pi planner backend (`--pi-model`, `--pi-base-url`,
 * `--pi-timeout-ms` and their `node.json` keys). Kept apart from the backend so the node
 * configuration schema can use them without loading the model libraries.
 */
import { z } from 'zod'
import { PI_MAX_TIMEOUT_MS, PI_MIN_TIMEOUT_MS } from './constants.ts'

/** The provider name for a local OpenAI-compatible server (llama.cpp, Ollama, vLLM). */
export const LOCAL_PROVIDER = 'local'

/** `provider/model`; the model part may itself contain `/` (OpenRouter and Groq model IDs do). */
export const piModelSpecSchema = z
  .string()
  .max(256)
  .regex(
    /^[a-z0-9][a-z0-9-]*\/\S+$/,
    'a planner model looks like "anthropic/claude-sonnet-4-5" or "local/qwen2.5-7b" (provider/model)',
  )

export const piBaseUrlSchema = z
  .string()
  .max(2_048)
  .refine((text) => URL.canParse(text) && /^https?:$/.test(new URL(text).protocol), {
    message: 'the planner base URL is an http:// or https:// URL, e.g. http://127.0.0.1:8080/v1',
  })

export const piTimeoutMsSchema = z.number().int().min(PI_MIN_TIMEOUT_MS).max(PI_MAX_TIMEOUT_MS)

export interface PiModelSpec {
  provider: string
  modelId: string
}

export function splitPiModelSpec(spec: string): PiModelSpec {
  const slash = spec.indexOf('/')
  return { provider: spec.slice(0, slash), modelId: spec.slice(slash + 1) }
}
