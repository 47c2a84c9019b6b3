/**
 * Records every module a Node process loads: `--import` the hook this writes and read the log
 * after. Used by the tests that pin what a command or an idle node must not load (issue #22).
 */
import { readFile, writeFile } from 'node:fs/promises'
import { join } from 'node:path'

export interface LoadRecorder {
  /** The file to pass to Node's `--import`. */
  readonly hook: string
  /** The URLs loaded so far, in load order. */
  loaded(): Promise<string[]>
}

/** Writes the hook and its log into `dir`. */
export async function writeLoadRecorder(dir: string): Promise<LoadRecorder> {
  const log = join(dir, 'loaded-modules.txt')
  const hook = join(dir, 'record-loads.mjs')
  await writeFile(
    hook,
    `import module from 'node:module'
import { appendFileSync } from 'node:fs'
module.registerHooks({ load(url, context, next) { appendFileSync(${JSON.stringify(log)}, url + '\\n'); return next(url, context) } })
`,
  )
  return {
    hook,
    loaded: async () => (await readFile(log, 'utf8')).split('\n').filter((url) => url !== ''),
  }
}
