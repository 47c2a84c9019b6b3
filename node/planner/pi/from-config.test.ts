import { afterEach, describe, expect, it } from 'vitest'
import { NodeConfigError } from '../../config.ts'
import { describePiPlanner, piBackendFromConfig, resolvePiApiKey } from './from-config.ts'
import { resolvePiModel, withV1Path } from './pi-model.ts'

const credentials = (entries: Record<string, string>) => ({
  get: (name: string) => entries[name],
  secretValues: () => Object.values(entries),
})
const savedOpenAiKey = process.env['OPENAI_API_KEY']

afterEach(() => {
  if (savedOpenAiKey === undefined) delete process.env['OPENAI_API_KEY']
  else process.env['OPENAI_API_KEY'] = savedOpenAiKey
})

describe('piBackendFromConfig', () => {
  it('returns undefined without a model, so the built-in planner answers', () => {
    expect(piBackendFromConfig({}, credentials({}))).toBeUndefined()
  })

  it('labels the backend with the configured model', () => {
    const backend = piBackendFromConfig(
      { piModel: 'local/qwen2.5-7b', piBaseUrl: 'http://127.0.0.1:8080' },
      credentials({}),
    )
    expect(backend?.label).toBe('pi:local/qwen2.5-7b')
    expect(backend?.ruleBased).toBe(false)
  })

  it('refuses a local model without a base URL and an unknown provider as configuration errors', () => {
    expect(() => piBackendFromConfig({ piModel: 'local/x' }, credentials({}))).toThrow(NodeConfigError)
    expect(() => piBackendFromConfig({ piModel: 'nope/x' }, credentials({}))).toThrow(NodeConfigError)
    expect(() => piBackendFromConfig({ piModel: 'anthropic/no-such-model' }, credentials({}))).toThrow(
      NodeConfigError,
    )
  })
})

describe('resolvePiApiKey', () => {
  it('prefers the stored credential over the environment', () => {
    process.env['OPENAI_API_KEY'] = 'sk-from-environment-000000'
    expect(resolvePiApiKey('openai', credentials({ 'openai/api-key': 'sk-stored' }))).toEqual({
      description: 'credential openai/api-key',
      apiKey: 'sk-stored',
    })
    expect(resolvePiApiKey('openai', credentials({}))).toEqual({
      description: 'environment OPENAI_API_KEY',
      apiKey: 'sk-from-environment-000000',
    })
  })

  it('reads a key stored as provider/<name>, the earlier guide spelling', () => {
    process.env['ANTHROPIC_API_KEY'] = 'sk-from-environment-000000'
    expect(resolvePiApiKey('anthropic', credentials({ 'provider/anthropic': 'sk-guide' }))).toEqual({
      description: 'credential provider/anthropic',
      apiKey: 'sk-guide',
    })
    delete process.env['ANTHROPIC_API_KEY']
  })

  it('never takes a hosted provider key from the environment for a local server', () => {
    process.env['OPENAI_API_KEY'] = 'sk-from-environment-000000'
    expect(resolvePiApiKey('local', credentials({})).apiKey).toBeUndefined()
  })

  it('describes the key source without its value', () => {
    const line = describePiPlanner(
      { piModel: 'openai/gpt-4.1' },
      credentials({ 'openai/api-key': 'sk-stored-value-123456' }),
    )
    expect(line).toBe('pi:openai/gpt-4.1 at https://api.openai.com/v1 (key from credential openai/api-key)')
  })
})

describe('resolvePiModel', () => {
  it('builds an OpenAI-compatible model for local/NAME at the base URL', () => {
    const model = resolvePiModel('local/qwen2.5:7b', 'http://127.0.0.1:11434')
    expect(model).toMatchObject({ id: 'qwen2.5:7b', api: 'openai-completions', provider: 'local' })
    expect(model.baseUrl).toBe('http://127.0.0.1:11434/v1')
  })

  it('keeps an explicit API path and splits provider/model at the first slash', () => {
    expect(withV1Path('http://10.0.0.9:8000/openai/v1/')).toBe('http://10.0.0.9:8000/openai/v1')
    expect(resolvePiModel('openrouter/z-ai/glm-4.5v').id).toBe('z-ai/glm-4.5v')
  })
})
