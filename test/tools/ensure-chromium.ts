/**
 * The first step of `npm test`: make sure the browser tests will find a Chromium before anything
 * runs, so a fresh machine does not get through typecheck, lint and most of the suite only to see
 * three browser test files fail on a missing executable.
 *
 * Found (CHROMIUM_PATH or a usual install path): silent, exit 0. Missing, and this process may
 * install system packages (root, or passwordless sudo) with apt-get: installs Debian's `chromium`,
 * saying so first. Otherwise, or with `--no-install` / CLAWMESH_NO_CHROMIUM_INSTALL=1: exit 1 with
 * the one command to run. A CHROMIUM_PATH that names no executable is never "fixed" by installing.
 *
 *   node test/tools/ensure-chromium.ts [--no-install]
 */
import { spawnSync } from 'node:child_process'
import { pathToFileURL } from 'node:url'
import { chromiumMissingMessage, findChromium, isExecutableFile } from '../helpers/find-chromium.ts'

/** Set to 1 to never install, only report (machines where the test run must not change packages). */
export const NO_INSTALL_ENV = 'CLAWMESH_NO_CHROMIUM_INSTALL'

export interface EnsureChromiumDeps {
  readonly env: Readonly<Record<string, string | undefined>>
  readonly argv: readonly string[]
  readonly isExecutable: (path: string) => boolean
  readonly isRoot: boolean
  /** Runs a command, its output shown to the person; true when it exits 0. */
  readonly run: (command: string, args: readonly string[]) => boolean
  /** Runs a probe quietly; true when it exits 0. */
  readonly succeeds: (command: string, args: readonly string[]) => boolean
  readonly log: (line: string) => void
  readonly error: (line: string) => void
}

const PREFIX = 'ensure-chromium:'

/** How this process can run apt-get as root, if it can: directly, or through passwordless sudo. */
function aptRunner(deps: EnsureChromiumDeps): ((args: readonly string[]) => boolean) | undefined {
  if (!deps.succeeds('sh', ['-c', 'command -v apt-get'])) return undefined
  if (deps.isRoot) return (args) => deps.run('apt-get', args)
  if (deps.succeeds('sudo', ['-n', 'true'])) return (args) => deps.run('sudo', ['-n', 'apt-get', ...args])
  return undefined
}

/** Returns the exit code: 0 when the browser tests will find a Chromium. */
export function ensureChromium(deps: EnsureChromiumDeps): number {
  const lookup = findChromium(deps)
  if (lookup.outcome === 'found') return 0
  if (lookup.outcome === 'configured-path-missing') {
    deps.error(`${PREFIX} ${chromiumMissingMessage(lookup)}`)
    return 1
  }
  const installAllowed = !deps.argv.includes('--no-install') && deps.env[NO_INSTALL_ENV] !== '1'
  const apt = installAllowed ? aptRunner(deps) : undefined
  if (apt === undefined) {
    deps.error(`${PREFIX} ${chromiumMissingMessage(lookup)}`)
    return 1
  }
  deps.log(
    `${PREFIX} no Chromium found for the browser tests; installing Debian's chromium with apt-get ` +
      `(set ${NO_INSTALL_ENV}=1 to never do this)`,
  )
  const installed = apt(['update', '-qq']) && apt(['install', '-y', '-qq', 'chromium'])
  const after = findChromium(deps)
  if (!installed || after.outcome !== 'found') {
    deps.error(
      installed
        ? `${PREFIX} apt-get installed chromium, yet none is at the paths the tests look at.`
        : `${PREFIX} installing chromium with apt-get failed (its output is above).`,
    )
    deps.error(`${PREFIX} ${chromiumMissingMessage(lookup)}`)
    return 1
  }
  deps.log(`${PREFIX} installed ${after.path}`)
  return 0
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  process.exitCode = ensureChromium({
    env: process.env,
    argv: process.argv.slice(2),
    isExecutable: isExecutableFile,
    isRoot: process.getuid?.() === 0,
    run: (command, args) =>
      spawnSync(command, args, {
        stdio: 'inherit',
        env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' },
      }).status === 0,
    succeeds: (command, args) => spawnSync(command, args, { stdio: 'ignore' }).status === 0,
    log: (line) => console.log(line),
    error: (line) => console.error(line),
  })
}
