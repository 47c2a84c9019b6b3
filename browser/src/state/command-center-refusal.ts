/**
 * The banner shown when the command center refuses this console (its key is not, or no longer,
 * trusted there): set by any call refused with UNAUTHORIZED or FORBIDDEN, cleared by the next
 * answered poll or a new pairing.
 */
import { type Accessor, createSignal } from 'solid-js'
import { ClawMeshError } from '../../../protocol/errors.ts'

export interface Refusal {
  readonly message: Accessor<string | undefined>
  /** Shows the error when it is a refusal; other failures (timeouts, a closed link) are not. */
  note(error: unknown): void
  clear(): void
}

export function createRefusal(): Refusal {
  const [message, setMessage] = createSignal<string>()
  return {
    message,
    note(error) {
      const refused = refusalOf(error)
      if (refused !== undefined) setMessage(refused)
    },
    clear: () => setMessage(undefined),
  }
}

export function refusalOf(error: unknown): string | undefined {
  if (error instanceof ClawMeshError && (error.code === 'UNAUTHORIZED' || error.code === 'FORBIDDEN'))
    return `the command center refused this console: ${error.message}`
  return undefined
}
