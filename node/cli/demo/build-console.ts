/**
 * First run of `clawmesh demo`: builds the operator console when browser/dist is missing, if this
 * checkout can (a `build:console` script and vite installed). Anything else only prints a notice:
 * the command center then serves a page saying how to build it.
 */
import { spawn } from 'node:child_process'
import { createWriteStream, existsSync } from 'node:fs'
import { readFile } from 'node:fs/promises'
import { delimiter, dirname, join } from 'node:path'
import { CONSOLE_BUILD_TIMEOUT_MS } from './constants.ts'

export async function buildConsoleIfMissing(init: {
  repoRoot: string
  consoleDir: string
  logFile: string
}): Promise<void> {
  if (existsSync(join(init.consoleDir, 'index.html'))) return
  const manifest = JSON.parse(await readFile(join(init.repoRoot, 'package.json'), 'utf8')) as {
    scripts?: Record<string, string>
  }
  const vite = join(init.repoRoot, 'node_modules', '.bin', 'vite')
  if (manifest.scripts?.['build:console'] === undefined || !existsSync(vite)) {
    console.log(
      'the console is not built and this checkout cannot build it yet (no build:console script or vite):',
    )
    console.log('  the command center will serve a page that says how to build it')
    return
  }
  console.log(`building the console (first run; log in ${init.logFile}) …`)
  const log = createWriteStream(init.logFile, { flags: 'a' })
  // npm runs the script with the `node` first on PATH: put this Node (22) first.
  const child = spawn('npm', ['run', 'build:console'], {
    cwd: init.repoRoot,
    env: { ...process.env, PATH: `${dirname(process.execPath)}${delimiter}${process.env['PATH'] ?? ''}` },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  child.stdout.pipe(log)
  child.stderr.pipe(log)
  const timer = setTimeout(() => child.kill('SIGTERM'), CONSOLE_BUILD_TIMEOUT_MS)
  const code = await new Promise<number | null>((resolveExit) => {
    child.once('exit', resolveExit)
    child.once('error', () => resolveExit(null))
  })
  clearTimeout(timer)
  if (code === 0 && existsSync(join(init.consoleDir, 'index.html'))) console.log('console built')
  else console.log(`the console build failed (see ${init.logFile}); the demo runs without it`)
}
