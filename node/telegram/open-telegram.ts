/**
 * Builds the Telegram surface from a node's components (the composition root lists it once). With
 * Telegram off it is a stub whose only method, `telegram.pair.open`, says how to turn it on.
 */
import { ClawMeshError } from '../../protocol/errors.ts'
import { isCommandCenterRole } from '../../protocol/roles.ts'
import type { MeshStatus } from '../../protocol/rpc/methods.ts'
import type { NodeComponents } from '../components.ts'
import { CredentialStore } from '../credentials/credential-store.ts'
import type { PlannerRuntime } from '../planner/planner-runtime.ts'
import { PairingWindow } from '../safety/pairing.ts'
import type { NodeSurface } from '../surface.ts'
import { TELEGRAM_WORLD_MAX } from './constants.ts'
import { describeReading } from './format.ts'
import { TelegramOperators } from './telegram-operators.ts'

/** The credential-store name of the bot token (`clawmesh credential set channel/telegram`). */
const TELEGRAM_TOKEN_CREDENTIAL = 'channel/telegram'
/** The environment variable read when the credential store has no token. */
const TELEGRAM_TOKEN_ENV = 'TELEGRAM_BOT_TOKEN'

export class TelegramConfigError extends Error {
  static readonly NAME = 'TelegramConfigError'
  override readonly name = TelegramConfigError.NAME
}

export interface TelegramSurfaceOptions {
  readonly planner: PlannerRuntime
  /** This node's status (built after the surfaces; read only once the node runs). */
  readonly status: () => MeshStatus
  readonly env?: NodeJS.ProcessEnv
}

export async function openTelegramSurface(
  components: NodeComponents,
  options: TelegramSurfaceOptions,
): Promise<NodeSurface> {
  const { config, counters, safety, world } = components
  const settings = config.telegram
  if (!settings.enabled) return telegramOff()
  if (!isCommandCenterRole(config.role)) {
    throw new TelegramConfigError(
      `--telegram runs on a command center (role planner or standby-planner), not on a ${config.role} node`,
    )
  }
  const credentials = await CredentialStore.open(components.paths.credentials)
  const token = credentials.get(TELEGRAM_TOKEN_CREDENTIAL) ?? (options.env ?? process.env)[TELEGRAM_TOKEN_ENV]
  if (token === undefined || token === '') {
    throw new TelegramConfigError(
      `--telegram needs the bot token: \`clawmesh credential set ${TELEGRAM_TOKEN_CREDENTIAL}\` (read from stdin) or ${TELEGRAM_TOKEN_ENV}`,
    )
  }
  if (settings.chats.length === 0)
    components.log('Telegram: no --telegram-chat given: every chat is refused until one is listed')
  const operators = await TelegramOperators.open({
    stateDir: components.paths.stateDir,
    credentialsPath: components.paths.credentials,
    log: components.log,
  })
  const { planner } = options
  // Loaded only when Telegram is on: grammy and its fetch stack are ~1 MiB of code (docs/memory.md).
  const { TelegramSurface } = await import('./telegram-surface.ts')
  return new TelegramSurface({
    settings,
    token,
    deviceId: components.identity.deviceId,
    operators,
    pairing: new PairingWindow({ counters }),
    safety,
    statusText: () => statusText(options.status(), safety.list()),
    worldText: (zone) => {
      const now = Date.now()
      const lines = world
        .latest()
        .filter((frame) => zone === undefined || (frame.kind === 'observation' && frame.data.zone === zone))
        .map((frame) => describeReading(frame, now))
        .filter((line): line is string => line !== undefined)
        .sort()
        .slice(0, TELEGRAM_WORLD_MAX)
      return lines.length === 0 ? `No readings${zone === undefined ? '' : ` for ${zone}`}.` : lines.join('\n')
    },
    ask: (text, operator) => {
      if (planner.session === undefined || !planner.leaderView.isLeader())
        return Promise.reject(
          new ClawMeshError('NO_PLANNER', 'this command center does not lead planning now'),
        )
      return planner.session.ask(text, { operator })
    },
    events: components.events,
    counters,
    refusals: components.refusals,
    log: components.log,
  })
}

function statusText(status: MeshStatus, proposals: ReturnType<NodeComponents['safety']['list']>): string {
  const connected = status.connections.length
  const waiting = proposals.filter(
    (record) => record.state === 'awaiting_approval' || record.state === 'proposed',
  ).length
  const planner = status.planner
  return [
    `${status.name} (${status.role}) in mesh ${status.meshName}`,
    `up ${Math.round(status.uptimeMs / 60_000)} min, ${connected} connection(s), ${status.trustedPeerCount} trusted peer(s)`,
    planner === undefined
      ? 'no planner here'
      : `planner ${planner.mode}${planner.isLeader ? ', leading' : ''} (${planner.backend})`,
    `${waiting} proposal(s) awaiting approval`,
  ].join('\n')
}

/** Telegram is off on this node: the admin's `clawmesh pair --telegram` learns why. */
function telegramOff(): NodeSurface {
  return {
    name: 'telegram',
    handlers: () => ({
      'telegram.pair.open': () => {
        throw new ClawMeshError(
          'UNAVAILABLE',
          'Telegram is not enabled on this node: start the command center with --telegram (and --telegram-chat <chatId>)',
        )
      },
    }),
    start: () => {},
    stop: () => {},
  }
}
