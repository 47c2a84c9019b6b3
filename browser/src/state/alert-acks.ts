/**
 * Which alerts this operator acknowledged. Kept in the browser's IndexedDB under the operator key's
 * ID, not on the command center: the operator key is made in this browser and never leaves it, so
 * "per operator" and "per browser profile" are the same here; an acknowledgement is the operator's
 * own view of what they have seen, not a safety record (refusals stay counted and logged on the
 * nodes), so it needs no write method on the command center, works offline, and survives a reload
 * and a new pairing of the same key.
 */
import { type Accessor, createSignal } from 'solid-js'
import type { ConsoleStorage } from '../storage/console-storage.ts'

export interface AlertAcks {
  readonly acknowledged: Accessor<ReadonlySet<string>>
  /** Marks the alerts seen and stores them before resolving. */
  acknowledge(ids: readonly string[]): Promise<void>
}

export async function loadAlertAcks(
  storage: Pick<ConsoleStorage, 'alertAcks' | 'saveAlertAcks'>,
  operatorId: string,
): Promise<AlertAcks> {
  const stored = await storage.alertAcks(operatorId)
  const [acknowledged, setAcknowledged] = createSignal<ReadonlySet<string>>(new Set(stored))
  let order = [...stored]
  return {
    acknowledged,
    async acknowledge(ids) {
      const current = acknowledged()
      const added = ids.filter((id) => !current.has(id))
      if (added.length === 0) return
      order = [...order, ...added]
      setAcknowledged(new Set([...current, ...added]))
      await storage.saveAlertAcks(operatorId, order)
    },
  }
}
