/**
 * The `clawmesh` command line: one commander program, one file per command group. Unknown flags
 * and excess arguments are errors, never ignored.
 */
import { Command } from 'commander'
import { CLAWMESH_VERSION } from '../../runtime/version.ts'
import { COMMAND_MODULES, type CommandModule } from './command-index.ts'

/** Global options that take a value: the word after them is not the command. */
const GLOBAL_OPTIONS_WITH_VALUE = new Set(['--state-dir', '--ca'])

/** The command word of argv (`clawmesh [global options] <command> …`); for `help <command>`, the
 * command asked about. Undefined when there is none (`clawmesh`, `clawmesh --help`). */
export function commandWord(argv: readonly string[]): string | undefined {
  const words = argv.slice(2)
  for (let index = 0; index < words.length; index++) {
    const word = words[index] as string
    if (GLOBAL_OPTIONS_WITH_VALUE.has(word)) {
      index++
      continue
    }
    if (word.startsWith('-')) continue
    if (word !== 'help') return word
    const asked = words.slice(index + 1).find((next) => !next.startsWith('-'))
    return asked ?? word
  }
  return undefined
}

/**
 * The `clawmesh` program for this argv. Only the module of the command being run is loaded; for
 * help and unknown words every command is listed from COMMAND_MODULES (name and summary) without
 * loading any (node/cli/command-index.ts).
 */
export async function buildProgram(argv: readonly string[]): Promise<Command> {
  const program = createRootProgram()
  const word = commandWord(argv)
  const wanted = COMMAND_MODULES.find((module) => module.commands.some(([name]) => name === word))
  if (wanted !== undefined) (await wanted.load())(program)
  else for (const module of COMMAND_MODULES) listWithoutLoading(program, module)
  return program
}

/** Every command, loaded (tests that check the whole command tree). */
export async function buildFullProgram(): Promise<Command> {
  const program = createRootProgram()
  for (const module of COMMAND_MODULES) (await module.load())(program)
  return program
}

function createRootProgram(): Command {
  const program = new Command('clawmesh')
    .description('ClawMesh: a trust-gated, capability-routed mesh for AI-assisted field operations')
    .version(CLAWMESH_VERSION)
    .option('--state-dir <dir>', 'state directory (default $CLAWMESH_STATE_DIR or ~/.clawmesh)')
    .option('--ca <file>', 'also trust this CA certificate (PEM) when dialing wss:// nodes')
    .showHelpAfterError()
    // Global options come before the command (`clawmesh --state-dir D status`), so a command's own
    // options (e.g. `pair --url` vs `pair join --url`) are never confused with them.
    .enablePositionalOptions()
    .hook('preAction', async () => {
      const ca = program.opts().ca
      if (typeof ca === 'string') await (await import('../tls/trust-ca.ts')).trustCaFile(ca)
    })
  return program
}

/** A command shown in the help listing; never run (a known word loads its real module instead). */
function listWithoutLoading(program: Command, module: CommandModule): void {
  for (const [name, summary] of module.commands) program.command(name).description(summary)
}
