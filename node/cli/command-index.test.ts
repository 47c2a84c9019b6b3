import { Command } from 'commander'
import { describe, expect, it } from 'vitest'
import { COMMAND_MODULES } from './command-index.ts'
import { buildProgram, commandWord } from './program.ts'

describe('the command index', () => {
  it('lists exactly the commands each module registers, with their descriptions', async () => {
    for (const module of COMMAND_MODULES) {
      const program = new Command('clawmesh')
      ;(await module.load())(program)
      const registered = program.commands.map((command) => [command.name(), command.description()])
      expect(registered).toEqual(module.commands.map(([name, summary]) => [name, summary]))
    }
  })

  it('names every command once', () => {
    const names = COMMAND_MODULES.flatMap((module) => module.commands.map(([name]) => name))
    expect(new Set(names).size).toBe(names.length)
  })
})

describe('buildProgram', () => {
  it('finds the command word after global options and for help <command>', () => {
    expect(commandWord(['node', 'clawmesh', '--state-dir', 'status', 'peers'])).toBe('peers')
    expect(commandWord(['node', 'clawmesh', '--ca', 'ca.pem', 'status', '--json'])).toBe('status')
    expect(commandWord(['node', 'clawmesh', 'help', 'start'])).toBe('start')
    expect(commandWord(['node', 'clawmesh', '--help'])).toBeUndefined()
  })

  it('loads only the module of the command being run', async () => {
    const program = await buildProgram(['node', 'clawmesh', 'world', '--json'])
    expect(program.commands.map((command) => command.name())).toEqual(['world', 'frames'])
    // The real command, with its options, not the help-listing placeholder.
    expect(program.commands[0]?.options.length).toBeGreaterThan(0)
  })

  it('lists every command for help without loading any', async () => {
    const program = await buildProgram(['node', 'clawmesh', '--help'])
    const listed = program.commands.map((command) => command.name())
    expect(listed).toEqual(COMMAND_MODULES.flatMap((module) => module.commands.map(([name]) => name)))
    expect(program.commands.every((command) => command.options.length === 0)).toBe(true)
  })
})
