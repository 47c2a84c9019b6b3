/**
 * `clawmesh credential set|get|list|delete`: the provider keys the planner uses. `set` reads the
 * value from stdin when it is not given (so it stays out of shell history); `list` and a plain
 * `get` never print values; only `get --reveal` does.
 */
import type { Command } from 'commander'
import { CliUsageError } from '../../../runtime/cli/errors.ts'
import { printJson, table } from '../../../runtime/cli/output.ts'
import { resolveStateDir, statePaths } from '../../../runtime/state/state-dir.ts'
import {
  CREDENTIAL_VALUE_MAX_CHARS,
  CredentialError,
  CredentialStore,
  checkCredentialName,
} from '../../credentials/credential-store.ts'

async function openStore(program: Command): Promise<CredentialStore> {
  const store = await CredentialStore.open(statePaths(resolveStateDir(program.opts().stateDir)).credentials)
  if (store.looseMode) {
    console.error(`warning: ${store.path} was readable by other users; its mode is now 0600`)
  }
  return store
}

function requireName(name: string): string {
  try {
    return checkCredentialName(name)
  } catch (error) {
    throw new CliUsageError((error as Error).message)
  }
}

export function registerCredentialCommands(program: Command): void {
  const credential = program
    .command('credential')
    .description('manage the model provider keys of this device (never shared with the mesh)')
  credential
    .command('set <name> [value]')
    .description('store a credential, e.g. anthropic/api-key; without [value] it is read from stdin')
    .action(async (name: string, value: string | undefined) => {
      requireName(name)
      const secret = value ?? (await readSecretFromStdin(`value for ${name}: `))
      const store = await openStore(program)
      try {
        await store.set(name, secret)
      } catch (error) {
        if (error instanceof CredentialError) throw new CliUsageError(error.message)
        throw error
      }
      console.log(`stored ${name} (${secret.length} characters) in ${store.path}`)
    })
  credential
    .command('get <name>')
    .description('show whether a credential is set; --reveal prints its value')
    .option('--reveal', 'print the value itself (only this prints a secret)')
    .option('--json', 'print JSON (with the value only under --reveal)')
    .action(async (name: string, options: { reveal?: boolean; json?: boolean }) => {
      requireName(name)
      const store = await openStore(program)
      const entry = store.describe(name)
      if (entry === undefined) {
        throw new CliUsageError(`${name} is not set: store it with \`clawmesh credential set ${name}\``)
      }
      if (options.json) {
        return printJson(options.reveal ? { ...entry, value: store.get(name) } : entry)
      }
      if (options.reveal) return console.log(store.get(name))
      console.log(
        `${name} is set (${entry.length} characters, set ${entry.setAt}); add --reveal to print the value`,
      )
    })
  credential
    .command('list')
    .description('list stored credentials (names only, never values)')
    .option('--json', 'print JSON')
    .action(async (options: { json?: boolean }) => {
      const store = await openStore(program)
      const entries = store.list()
      if (options.json) return printJson({ credentials: entries })
      if (entries.length === 0) {
        return console.log('no credentials stored: add one with `clawmesh credential set <provider>/api-key`')
      }
      console.log(
        table([
          ['NAME', 'SET AT', 'LENGTH'],
          ...entries.map((entry) => [entry.name, entry.setAt, `${entry.length} chars`]),
        ]),
      )
    })
  credential
    .command('delete <name>')
    .description('remove a stored credential')
    .action(async (name: string) => {
      requireName(name)
      const store = await openStore(program)
      console.log((await store.delete(name)) ? `deleted ${name}` : `${name} was not set`)
    })
}

/** Reads one secret line. From a pipe: the piped text without its final newline. From a terminal: a
 * prompt on stderr and input without echo. */
async function readSecretFromStdin(prompt: string): Promise<string> {
  const stdin = process.stdin
  if (!stdin.isTTY) {
    let text = ''
    for await (const chunk of stdin) {
      text += chunk.toString()
      if (text.length > CREDENTIAL_VALUE_MAX_CHARS + 2) break
    }
    const line = text.replace(/\r?\n$/, '')
    if (line.length === 0)
      throw new CliUsageError('no value on stdin: pipe the value in or give it as an argument')
    return line
  }
  process.stderr.write(prompt)
  stdin.setRawMode(true)
  stdin.resume()
  try {
    return await new Promise<string>((resolve, reject) => {
      let value = ''
      const onData = (chunk: Buffer) => {
        for (const char of chunk.toString('utf8')) {
          if (char === '\r' || char === '\n') {
            stdin.off('data', onData)
            process.stderr.write('\n')
            return value.length > 0 ? resolve(value) : reject(new CliUsageError('no value entered'))
          }
          if (char === '\u0003') {
            stdin.off('data', onData)
            return reject(new CliUsageError('cancelled'))
          }
          if (char === '\u007f' || char === '\b') value = value.slice(0, -1)
          else if (value.length < CREDENTIAL_VALUE_MAX_CHARS + 1) value += char
        }
      }
      stdin.on('data', onData)
    })
  } finally {
    stdin.setRawMode(false)
    stdin.pause()
  }
}
