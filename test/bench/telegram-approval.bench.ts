/**
 * Benchmark: a Telegram button approval to the execution frame at the command center, across real
 * processes (command center running the bot, field node with mock valves) and a fake Bot API on
 * loopback speaking the HTTP wire protocol. Per run: the command center's admin creates a proposal
 * (RPC, untimed), the bot pushes it with its buttons (untimed), then
 *
 *   t0  the user's tap is queued at the Bot API (a `callback_query` update);
 *   t1  the bot answers the tap with "Executed": by then the command center has long-polled the
 *       update, signed the approval with the person's held key, run the policy, sent the certified
 *       command, and holds the field node's `execution` frame (its answer to the command).
 *
 * After each run (untimed) the execution frame is checked in the command center's world model.
 * Paired users take turns (each within the per-user command budget, as a crew would).
 *
 *   node test/bench/telegram-approval.bench.ts [--runs 50] [--warmup 5] [--users 8]
 *
 * Prints a table and writes test/bench/results/telegram-approval.json.
 */
import { mkdir, rm, writeFile } from 'node:fs/promises'
import { join, resolve } from 'node:path'
import { parseArgs } from 'node:util'
import { type CliClient, connectCliClient } from '../../node/cli/client-node.ts'
import { CredentialStore } from '../../node/credentials/credential-store.ts'
import { statePaths } from '../../runtime/state/state-dir.ts'
import { FakeBotApi, type FakeUser, type SentMessage } from '../helpers/fake-bot-api.ts'
import { startFarmSite, waitForZoneObservations } from '../helpers/farm-site.ts'
import { runCli, stopAll } from '../helpers/processes.ts'
import { percentile, summarise } from './stats.ts'

const root = resolve(import.meta.dirname, '../..')
const { values } = parseArgs({
  options: {
    runs: { type: 'string', default: '50' },
    warmup: { type: 'string', default: '5' },
    users: { type: 'string', default: '8' },
  },
})
const runs = Number(values.runs)
const warmup = Number(values.warmup)
const userCount = Number(values.users)
const TOKEN = '7309876543:AAF-bench-telegram-token-Yx8wVu7tSr6q'
const CHAT = -100_777
const VALVES = ['actuator:valve:zone-1', 'actuator:valve:zone-2', 'actuator:valve:zone-3'] as const
/** The manifest allows 1..600 s: distinct args keep proposals from merging inside the dedup window. */
const MAX_DURATION_SEC = 600

const fake = await new FakeBotApi(TOKEN).listen()
const site = await startFarmSite({
  ccArgs: ['--telegram', '--telegram-chat', String(CHAT), '--telegram-api-root', fake.url],
  beforeStart: async (dirs) => {
    await (await CredentialStore.open(statePaths(dirs.cc).credentials)).set('channel/telegram', TOKEN)
  },
})

async function setUp(): Promise<{ admin: CliClient; users: FakeUser[] }> {
  const enrolled = await runCli(
    ['operator', 'enroll', '--name', 'alice', '--roles', 'operator,admin', '--url', site.cc.url],
    site.dirs.cc,
  )
  if (enrolled.code !== 0) throw new Error(`operator enroll failed: ${enrolled.stderr}`)
  const admin = await connectCliClient(site.cc.url, site.dirs.cc)
  const users: FakeUser[] = []
  for (let index = 0; index < userCount; index++) {
    const user = { id: 9_000 + index, first_name: `crew${index}` }
    const { code } = await admin.call('telegram.pair.open', { operatorName: `crew${index}` })
    fake.userSends(CHAT, user, `/pair ${code}`)
    await fake.waitForSent(`crew${index} paired`, (message) =>
      message.text.startsWith(`Paired as crew${index}`),
    )
    users.push(user)
  }
  for (const zone of ['zone-1', 'zone-2', 'zone-3']) await waitForZoneObservations(site, zone)
  return { admin, users }
}

let sequence = 0

async function oneRun(admin: CliClient, users: FakeUser[]): Promise<number> {
  const index = sequence++
  const capability = VALVES[index % VALVES.length] as string
  const durationSec = 1 + (Math.floor(index / VALVES.length) % MAX_DURATION_SEC)
  const created = await admin.call('proposal.create', {
    capability,
    operation: 'open',
    args: { durationSec },
  })
  if (created.merged) throw new Error(`proposal ${index} was merged with a duplicate; vary its args`)
  const id = created.proposal.proposal.id
  const pushed: SentMessage = await fake.waitForSent(`the push of ${id}`, (message) =>
    (message.replyMarkup?.inline_keyboard.flat() ?? []).some(
      (button) => button.callback_data === `approve:${id}`,
    ),
  )
  const user = users[index % users.length] as FakeUser
  const t0 = performance.now()
  const tap = fake.userTaps(pushed, user, `approve:${id}`)
  const answer = await fake.waitForAnswer(tap)
  const elapsed = performance.now() - t0
  if (answer.text?.includes('Executed') !== true)
    throw new Error(`run ${index}: the tap was answered "${answer.text}"`)
  const { frames } = await admin.call('mesh.world.query', { kind: 'execution', limit: 50 })
  if (!frames.some((frame) => (frame.data as { proposalId?: string }).proposalId === id))
    throw new Error(`run ${index}: no execution frame for ${id} in the command center's world model`)
  return elapsed
}

try {
  const { admin, users } = await setUp()
  try {
    for (let run = 0; run < warmup; run++) await oneRun(admin, users)
    const samples: number[] = []
    for (let run = 0; run < runs; run++) samples.push(await oneRun(admin, users))
    const stats = summarise(samples)
    const result = {
      benchmark: 'telegram-approval',
      node: process.version,
      runs,
      warmup,
      users: userCount,
      tapToExecutedMs: stats,
    }
    console.table({
      'tap → execution frame at the command center': {
        'p50 (ms)': stats.p50.toFixed(1),
        'p90 (ms)': stats.p90.toFixed(1),
        'p99 (ms)': stats.p99.toFixed(1),
        'min (ms)': stats.min.toFixed(1),
        'max (ms)': stats.max.toFixed(1),
      },
    })
    const output = site.cc.output()
    if (output.includes(TOKEN)) throw new Error('the bot token appeared in the command center output')
    await mkdir(join(root, 'test/bench/results'), { recursive: true })
    await writeFile(
      join(root, 'test/bench/results/telegram-approval.json'),
      `${JSON.stringify(result, null, 2)}\n`,
    )
  } finally {
    await admin.close()
  }
} finally {
  await stopAll()
  await fake.close()
  await Promise.all(Object.values(site.dirs).map((dir) => rm(dir, { recursive: true, force: true })))
}
