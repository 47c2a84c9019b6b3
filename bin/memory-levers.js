// Memory levers of a long-running node process (issue #20: idle RSS ≤ 100 MB). Both must be in place
// when the process starts — glibc reads MALLOC_ARENA_MAX once, V8 sizes its young generation from
// its flags — so a launcher that finds them missing replaces its own process with one that has them
// (process.execve: same PID, same open files, so a service manager and a parent see one process).
// The relaunch costs one Node start-up (~35 ms) and is skipped when both are already set, as the
// systemd unit does (node/service/systemd-unit.ts takes MEMORY_LEVER_ENVIRONMENT from here).

/**
 * V8's young generation at most 1 MiB per semi-space instead of 16 MiB. The node grows it to
 * 2 × 16 MiB during start-up and keeps it (30 MiB of an idle node's RSS, docs/memory.md); at 1 MiB
 * scavenges are more frequent under frame load, each shorter.
 */
export const SEMI_SPACE_FLAG = '--max-semi-space-size=1'
/**
 * glibc malloc arenas: by default up to 8 per core, one per thread that allocates (libuv's pool,
 * V8's GC helpers), each keeping freed memory. Two arenas bound that; the node's threads allocate
 * little outside V8's own heap.
 */
export const MALLOC_ARENA_MAX = '2'

/** The environment that starts a node with both levers (a service unit's Environment= lines). */
export const MEMORY_LEVER_ENVIRONMENT = Object.freeze({ NODE_OPTIONS: SEMI_SPACE_FLAG, MALLOC_ARENA_MAX })

function hasSemiSpaceFlag() {
  const flags = [...process.execArgv, ...(process.env.NODE_OPTIONS ?? '').split(/\s+/)]
  return flags.some((flag) => flag.startsWith('--max-semi-space-size'))
}

/**
 * Replaces this process with the same command under both levers, unless both are set (a value set by
 * the operator is kept) or Node cannot (process.execve: Node >= 22.15, not on Windows). Call it
 * before loading anything else: everything loaded before is loaded twice.
 */
export function relaunchWithMemoryLevers() {
  if (typeof process.execve !== 'function') return
  const semiSpace = hasSemiSpaceFlag()
  const arenas = process.env.MALLOC_ARENA_MAX !== undefined
  if (semiSpace && arenas) return
  process.execve(
    process.execPath,
    [
      process.execPath,
      ...(semiSpace ? [] : [SEMI_SPACE_FLAG]),
      ...process.execArgv,
      ...process.argv.slice(1),
    ],
    arenas ? process.env : { ...process.env, MALLOC_ARENA_MAX },
  )
}

/** Global options of `clawmesh` that take a value (node/cli/program.ts): the word after one is not the command. */
const GLOBAL_OPTIONS_WITH_VALUE = new Set(['--state-dir', '--ca'])

/**
 * Whether `clawmesh` argv runs a node (`clawmesh [global options] start …`), not asking for help:
 * the one `clawmesh` command that stays up, and so the one worth a relaunch.
 */
export function startsNode(argv) {
  const words = argv.slice(2)
  if (words.includes('--help') || words.includes('-h')) return false
  for (let index = 0; index < words.length; index++) {
    if (GLOBAL_OPTIONS_WITH_VALUE.has(words[index])) index++
    else if (!words[index].startsWith('-')) return words[index] === 'start'
  }
  return false
}
