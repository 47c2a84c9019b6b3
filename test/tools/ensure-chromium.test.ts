/**
 * The pre-test Chromium check of `npm test` with the environment, the file system and apt-get
 * injected: which path the tests get, when it installs (root or passwordless sudo with apt-get, not
 * refused), and that it otherwise stops with the command to run — never installing over a
 * CHROMIUM_PATH someone set.
 */
import { describe, expect, it } from 'vitest'
import { CHROMIUM_CANDIDATE_PATHS, findChromium } from '../helpers/find-chromium.ts'
import { type EnsureChromiumDeps, ensureChromium, NO_INSTALL_ENV } from './ensure-chromium.ts'

const executables = (...paths: string[]) => {
  const present = new Set(paths)
  return (path: string) => present.has(path)
}

describe('findChromium', () => {
  it('takes CHROMIUM_PATH when it names an executable, before any usual path', () => {
    expect(
      findChromium({
        env: { CHROMIUM_PATH: '/opt/chrome/chrome' },
        isExecutable: executables('/opt/chrome/chrome', '/usr/bin/chromium'),
      }),
    ).toEqual({ outcome: 'found', path: '/opt/chrome/chrome', source: 'CHROMIUM_PATH' })
  })

  it('does not fall back to a usual path when CHROMIUM_PATH names nothing', () => {
    expect(
      findChromium({ env: { CHROMIUM_PATH: '/nowhere' }, isExecutable: executables('/usr/bin/chromium') }),
    ).toEqual({ outcome: 'configured-path-missing', path: '/nowhere' })
  })

  it('treats an empty CHROMIUM_PATH as unset', () => {
    expect(
      findChromium({ env: { CHROMIUM_PATH: '' }, isExecutable: executables('/usr/bin/chromium') }),
    ).toMatchObject({ outcome: 'found', path: '/usr/bin/chromium', source: 'usual-path' })
  })

  it('takes the first usual path that is there, in order', () => {
    expect(
      findChromium({
        env: {},
        isExecutable: executables('/usr/bin/google-chrome', '/usr/bin/chromium-browser'),
      }),
    ).toMatchObject({ outcome: 'found', path: '/usr/bin/chromium-browser' })
    expect(findChromium({ env: {}, isExecutable: executables('/usr/bin/chromium') })).toMatchObject({
      path: '/usr/bin/chromium',
    })
  })

  it('reports every path it looked at when none is there', () => {
    expect(findChromium({ env: {}, isExecutable: () => false })).toEqual({
      outcome: 'missing',
      looked: CHROMIUM_CANDIDATE_PATHS,
    })
  })
})

interface Machine {
  deps: EnsureChromiumDeps
  commands: string[]
  out: string[]
  err: string[]
}

/** A machine with no Chromium until `apt-get install chromium` runs (when `aptWorks`). */
function machine(
  options: {
    env?: Record<string, string>
    argv?: string[]
    isRoot?: boolean
    hasAptGet?: boolean
    passwordlessSudo?: boolean
    aptWorks?: boolean
    chromium?: string[]
  } = {},
): Machine {
  const present = new Set(options.chromium ?? [])
  const commands: string[] = []
  const out: string[] = []
  const err: string[] = []
  const deps: EnsureChromiumDeps = {
    env: options.env ?? {},
    argv: options.argv ?? [],
    isExecutable: (path) => present.has(path),
    isRoot: options.isRoot ?? false,
    succeeds: (command, args) => {
      if (command === 'sh') return options.hasAptGet ?? true
      if (command === 'sudo') return options.passwordlessSudo ?? false
      throw new Error(`unexpected probe ${command} ${args.join(' ')}`)
    },
    run: (command, args) => {
      commands.push([command, ...args].join(' '))
      const works = options.aptWorks ?? true
      if (works && args.includes('install') && args.includes('chromium')) present.add('/usr/bin/chromium')
      return works
    },
    log: (line) => out.push(line),
    error: (line) => err.push(line),
  }
  return { deps, commands, out, err }
}

describe('ensureChromium (the first step of npm test)', () => {
  it('passes silently when a Chromium is there', () => {
    const m = machine({ isRoot: true, chromium: ['/usr/bin/chromium'] })
    expect(ensureChromium(m.deps)).toBe(0)
    expect([m.commands, m.out, m.err]).toEqual([[], [], []])
  })

  it('as root with apt-get, installs chromium and says so first', () => {
    const m = machine({ isRoot: true })
    expect(ensureChromium(m.deps)).toBe(0)
    expect(m.commands).toEqual(['apt-get update -qq', 'apt-get install -y -qq chromium'])
    expect(m.out[0]).toContain('installing')
    expect(m.out.at(-1)).toContain('/usr/bin/chromium')
    expect(m.err).toEqual([])
  })

  it('without root, installs through passwordless sudo', () => {
    const m = machine({ passwordlessSudo: true })
    expect(ensureChromium(m.deps)).toBe(0)
    expect(m.commands).toEqual(['sudo -n apt-get update -qq', 'sudo -n apt-get install -y -qq chromium'])
  })

  it('without root or sudo, stops with the command to run and installs nothing', () => {
    const m = machine()
    expect(ensureChromium(m.deps)).toBe(1)
    expect(m.commands).toEqual([])
    expect(m.err.join('\n')).toContain('apt-get install -y chromium')
  })

  it('without apt-get, stops with the command to run', () => {
    const m = machine({ isRoot: true, hasAptGet: false })
    expect(ensureChromium(m.deps)).toBe(1)
    expect(m.commands).toEqual([])
  })

  it(`never installs with --no-install or ${NO_INSTALL_ENV}=1`, () => {
    for (const m of [
      machine({ isRoot: true, argv: ['--no-install'] }),
      machine({ isRoot: true, env: { [NO_INSTALL_ENV]: '1' } }),
    ]) {
      expect(ensureChromium(m.deps)).toBe(1)
      expect(m.commands).toEqual([])
      expect(m.err.join('\n')).toContain('apt-get install -y chromium')
    }
  })

  it('never installs over a CHROMIUM_PATH that names nothing: that setting is what to fix', () => {
    const m = machine({ isRoot: true, env: { CHROMIUM_PATH: '/nowhere/chrome' } })
    expect(ensureChromium(m.deps)).toBe(1)
    expect(m.commands).toEqual([])
    expect(m.err.join('\n')).toContain('/nowhere/chrome')
  })

  it('stops when apt-get fails', () => {
    const m = machine({ isRoot: true, aptWorks: false })
    expect(ensureChromium(m.deps)).toBe(1)
    expect(m.commands).toEqual(['apt-get update -qq'])
    expect(m.err.join('\n')).toContain('apt-get install -y chromium')
  })
})
