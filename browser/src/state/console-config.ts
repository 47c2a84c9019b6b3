/**
 * Where the console learns its mesh: `console-config.json` from the command center that served it,
 * else the copy stored at the last successful load (a console opened offline).
 */
import {
  CONSOLE_CONFIG_PATH,
  type ConsoleConfig,
  consoleConfigSchema,
} from '../../../protocol/console-config.ts'
import type { ConsoleStorage } from '../storage/console-storage.ts'

export async function loadConsoleConfig(storage: ConsoleStorage): Promise<ConsoleConfig> {
  try {
    const response = await fetch(CONSOLE_CONFIG_PATH.replace(/^\//, './'), { cache: 'no-store' })
    if (!response.ok) throw new Error(`HTTP ${response.status}`)
    const loaded = consoleConfigSchema.parse(await response.json())
    await storage.saveConfig(loaded)
    return loaded
  } catch (error) {
    const cached = await storage.config()
    if (cached !== undefined) return cached
    throw new Error(
      `cannot load ${CONSOLE_CONFIG_PATH} from the command center (${(error as Error).message}) and no copy is stored: open the console from the command center's address`,
    )
  }
}
