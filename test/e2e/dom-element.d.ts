/**
 * The DOM members the browser tests read inside Playwright page callbacks (`$$eval`). This
 * program has no DOM lib (it is Node code); without React's types `Element` there was unresolved
 * and so unchecked, but @types/react (for the terminal UI, node/tui/) declares an empty global
 * `Element` when the DOM lib is absent. Adding the DOM lib instead would retype Node's webcrypto.
 */
interface Element {
  getAttribute(name: string): string | null
  readonly textContent: string | null
}
