/** The `telegram` settings of node.json (`--telegram`, `--telegram-chat` on `clawmesh start`). */
import { z } from 'zod'
import { TELEGRAM_USER_BURST_MAX, TELEGRAM_USER_PER_MINUTE_MAX } from './constants.ts'

/** How far a Telegram approval may go at this site: `off` refuses every Telegram approval (the bot
 * still reads and rejects), `L2` lets a Telegram operator be the one approver of an L2 proposal,
 * `L3` also lets them be the (remote) second approver of an L3 one. */
const TELEGRAM_APPROVAL_LIMITS = ['off', 'L2', 'L3'] as const
export type TelegramApprovalLimit = (typeof TELEGRAM_APPROVAL_LIMITS)[number]

export const telegramSettingsSchema = z
  .object({
    enabled: z.boolean().default(false),
    /** Chat IDs the bot answers and pushes to (a private chat's ID is the user's ID; groups are
     * negative). Anything from any other chat is refused and counted. */
    chats: z.array(z.number().int()).default([]),
    /** See TELEGRAM_APPROVAL_LIMITS; L2 by default: a Telegram approval proves less than one signed
     * on the operator's own device (docs/safety.md). */
    maxApprovalLevel: z.enum(TELEGRAM_APPROVAL_LIMITS).default('L2'),
    /** Bot API server (default Telegram's); a self-hosted `telegram-bot-api` or a test server. */
    apiRoot: z.url().optional(),
    /** Per-user command budget (defaults in constants.ts). */
    userBurst: z.number().int().min(1).max(TELEGRAM_USER_BURST_MAX).optional(),
    userPerMinute: z.number().int().min(1).max(TELEGRAM_USER_PER_MINUTE_MAX).optional(),
  })
  .strict()
export type TelegramSettings = z.output<typeof telegramSettingsSchema>
