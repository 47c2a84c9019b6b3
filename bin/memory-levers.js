// Memory levers of a long-running node process (issue #20: idle RSS ≤ 100 MB). Both must be in place
// when the process starts — glibc reads MALLOC_ARENA_MAX once, V8 sizes its young generation from
// its flags — so a launcher that finds the young-generation flag missing replaces its own process with
// one that has both (process.execve: same PID, same open files, so a service manager and a parent see
// one process). The relaunch costs a second Node start-up (77 ms of a 476 ms `clawmesh start` to
// ready, quiet machine, bundle) and is skipped when the flag is already there: `clawmesh-node`'s `#!`
// line passes it when it runs as a command, and the systemd unit sets both (node/service/systemd-unit.ts
// takes MEMORY_LEVER_ENVIRONMENT from here). MALLOC_ARENA_MAX alone never causes a relaunch: on the
// bundle two arenas instead of glibc's default keep ~1 MiB less after 35 s idle (84.2 vs 84.9–85.6
// MiB, docs/memory.md); the young generation is the lever that matters.

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
 * Replaces this process with the same command under both levers when it runs without the
 * young-generation flag (a value set by the operator is kept), unless Node cannot (process.execve:
 * Node >= 22.15, not on Windows). Call it before loading anything else: everything loaded before is
 * loaded twice.
 */
export function relaunchWithMemoryLevers() {
  if (typeof process.execve !== 'function' || hasSemiSpaceFlag()) return
  const arenas = process.env.MALLOC_ARENA_MAX !== undefined
  process.execve(
    process.execPath,
    [process.execPath, SEMI_SPACE_FLAG, ...process.execArgv, ...process.argv.slice(1)],
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
