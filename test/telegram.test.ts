/**
 * The Telegram surface across real processes: a command center running the bot against a fake Bot
 * API on loopback (the real HTTP wire protocol), a field node with mock valves, and Telegram users
 * played by the test. A user paired with `clawmesh pair --operator NAME --telegram` + `/pair CODE`
 * approves with the inline button and the valve opens (once, however often they tap); an unpaired
 * user, another chat, a forwarded and an edited command are refused and counted; commands are rate
 * limited per user; a Bot API outage is retried with backoff while the node stays healthy; the bot
 * token appears in no output.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type CliClient, connectCliClient } from '../node/cli/client-node.ts'
import { CredentialStore } from '../node/credentials/credential-store.ts'
import { statePaths } from '../runtime/state/state-dir.ts'
import { FakeBotApi, type FakeUser } from './helpers/fake-bot-api.ts'
import { type FarmSite, startFarmSite, waitForZoneObservations } from './helpers/farm-site.ts'
import { cliJson, runCli, startNode, stopAll, waitFor } from './helpers/processes.ts'

const TOKEN = '7301234567:AAH-fake-telegram-token-Zq9xWv8uTs7rQp6o'
const CHAT = -100_123
const OTHER_CHAT = -100_999
const CAROL: FakeUser = { id: 5001, first_name: 'Carol' }
const DAVE: FakeUser = { id: 5002, first_name: 'Dave' }
const MALLORY: FakeUser = { id: 666, first_name: 'Mallory' }
const VALVE = 'actuator:valve:zone-2'

let fake: FakeBotApi
let site: FarmSite<'bob'>
let client: CliClient

interface ProposalJson {
  hash: string
  state: string
  proposal: { id: string; level: string }
}

/** Each proposal of this file asks for its own duration: the command center merges the same action
 * proposed within a minute into the first (regression: a random 100–499 s duration drew an earlier
 * test's, and the "still waits" check read that executed proposal's state). */
let nextDurationSec = 100
const propose = async () =>
  (
    await cliJson<{ proposal: ProposalJson }>(
      ['propose', VALVE, 'open', '--url', site.cc.url, '--arg', `durationSec=${nextDurationSec++}`],
      site.dirs.cc,
    )
  ).proposal

const proposalState = async (id: string) => (await client.call('proposal.get', { id })).proposal.state

const counters = async () => (await client.call('mesh.health', {})).counters

const sentTo = (chatId: number) => fake.sent.filter((message) => message.chatId === chatId)

beforeAll(async () => {
  fake = await new FakeBotApi(TOKEN).listen()
  site = await startFarmSite({
    // L3: Telegram operators may be the remote second approver, so the on-site rule is what stops them.
    ccArgs: [
      '--telegram',
      '--telegram-chat',
      String(CHAT),
      '--telegram-api-root',
      fake.url,
      '--telegram-max-level',
      'L3',
    ],
    operators: [{ name: 'bob', roles: 'operator' }],
    beforeStart: async (dirs) => {
      const credentials = await CredentialStore.open(statePaths(dirs.cc).credentials)
      await credentials.set('channel/telegram', TOKEN)
    },
  })
  const enrolled = await runCli(
    ['operator', 'enroll', '--name', 'alice', '--roles', 'operator,admin', '--url', site.cc.url],
    site.dirs.cc,
  )
  expect(enrolled.code).toBe(0)
  client = await connectCliClient(site.cc.url, site.dirs.cc)
  await waitForZoneObservations(site, 'zone-2')
  // Carol is paired once for the whole file: the admin opens a code, she sends it to the bot.
  const opened = await cliJson<{ code: string }>(
    ['pair', '--operator', 'carol', '--telegram', '--url', site.cc.url],
    site.dirs.cc,
  )
  fake.userSends(CHAT, CAROL, `/pair ${opened.code}`)
  await fake.waitForSent('the pairing answer', (message) => message.text.startsWith('Paired as carol'))
}, 120_000)

afterAll(async () => {
  await client?.close()
  await stopAll()
  await fake?.close()
})

describe('Telegram operator channel', () => {
  it('a paired user approves with the inline button: the valve opens once, however often they tap', async () => {
    const valveState = async () =>
      (
        (await client.call('capability.invoke', { capability: VALVE, operation: 'state' })).result as {
          open: boolean
        }
      ).open
    expect(await valveState()).toBe(false)
    const proposal = await propose()
    expect(proposal.state).toBe('awaiting_approval')
    const pushed = await fake.waitForSent('the pushed proposal', (message) =>
      (message.replyMarkup?.inline_keyboard.flat() ?? []).some(
        (button) => button.callback_data === `approve:${proposal.proposal.id}`,
      ),
    )
    expect(pushed.chatId).toBe(CHAT)
    const first = fake.userTaps(pushed, CAROL, `approve:${proposal.proposal.id}`)
    const second = fake.userTaps(pushed, CAROL, `approve:${proposal.proposal.id}`)
    expect((await fake.waitForAnswer(first)).text).toMatch(/Executed/)
    expect((await fake.waitForAnswer(second)).text).toMatch(/already (approved|executing|completed)/)

    // The execution frame reached the command center, exactly one for this proposal.
    const executions = await waitFor('the execution frame at the command center', async () => {
      const world = await cliJson<{ frames: Array<{ data: { proposalId?: string } }> }>(
        ['world', '--url', site.cc.url, '--kind', 'execution'],
        site.dirs.cc,
      )
      const mine = world.frames.filter((frame) => frame.data.proposalId === proposal.proposal.id)
      return mine.length > 0 ? mine : undefined
    })
    expect(executions).toHaveLength(1)
    expect(await valveState()).toBe(true)
    // The pushed message is edited with the outcome.
    await waitFor('the pushed message edited', () => pushed.text.startsWith('Executed') || undefined)

    // The evidence log records the channel, the Telegram user and the key the approval was signed with.
    const log = await cliJson<{ entries: Array<{ type: string; data: Record<string, unknown> }> }>(
      ['evidence', 'list'],
      site.dirs.cc,
    )
    const decision = log.entries.find(
      (entry) => entry.data['kind'] === 'telegram-decision' && entry.data['hash'] === proposal.hash,
    )
    expect(decision?.data).toMatchObject({
      channel: 'telegram',
      telegramUserId: CAROL.id,
      decision: 'approve',
    })
    const approval = log.entries.find(
      (entry) => entry.type === 'approval' && (entry.data['hash'] as string) === proposal.hash,
    )
    const recorded = approval?.data['approval'] as
      | { body: { operatorLink: string; operatorCertificate: { body: Record<string, unknown> } } }
      | undefined
    expect(recorded?.body.operatorLink).toBe('wan')
    expect(recorded?.body.operatorCertificate.body).toMatchObject({
      channel: 'telegram',
      displayName: 'carol',
    })
    expect(recorded?.body.operatorCertificate.body['operatorId']).toBe(decision?.data['operatorId'])
  }, 60_000)

  it('Telegram approvals alone never satisfy an L3: two of them wait for an approver on site', async () => {
    const opened = await client.call('telegram.pair.open', { operatorName: 'dave' })
    fake.userSends(CHAT, DAVE, `/pair ${opened.code}`)
    await fake.waitForSent('Dave paired', (message) => message.text.startsWith('Paired as dave'))
    const created = await client.call('proposal.create', {
      capability: VALVE,
      operation: 'open',
      args: { durationSec: 599 },
      level: 'L3',
    })
    const { id } = created.proposal.proposal
    const pushed = await fake.waitForSent('the pushed L3 proposal', (message) =>
      (message.replyMarkup?.inline_keyboard.flat() ?? []).some(
        (button) => button.callback_data === `approve:${id}`,
      ),
    )
    expect((await fake.waitForAnswer(fake.userTaps(pushed, CAROL, `approve:${id}`))).text).toMatch(
      /awaiting_approval/,
    )
    const second = await fake.waitForAnswer(fake.userTaps(pushed, DAVE, `approve:${id}`))
    // Two distinct operators, both certified for Telegram: the count is met, the on-site rule is not.
    expect(second.text).toMatch(/local or LAN link; approvals observed over wan/)
    expect(await proposalState(id)).toBe('awaiting_approval')
    const executed = async () =>
      (await client.call('mesh.world.query', { kind: 'execution', limit: 50 })).frames.filter(
        (frame) => (frame.data as { proposalId?: string }).proposalId === id,
      )
    expect(await executed()).toHaveLength(0)
    // Bob approves from his own CLI over loopback (observed local): now it runs.
    const bob = await runCli(['approve', id, '--url', site.cc.url], site.dirs.bob)
    expect(bob.code, bob.stderr).toBe(0)
    expect(await proposalState(id)).toBe('completed')
    await waitFor('the L3 execution frame', async () => ((await executed()).length === 1 ? true : undefined))
    await waitFor('the pushed L3 message edited', () => pushed.text.startsWith('Executed') || undefined)
  }, 60_000)

  it("an unpaired user's /approve is refused, counted and logged; the proposal still waits", async () => {
    const proposal = await propose()
    const before = (await counters())['telegram.refused.unpaired'] ?? 0
    fake.userSends(CHAT, MALLORY, `/approve ${proposal.proposal.id}`)
    await fake.waitForSent('the refusal', (message) => message.text.startsWith('You are not paired'))
    expect((await counters())['telegram.refused.unpaired']).toBe(before + 1)
    expect(await proposalState(proposal.proposal.id)).toBe('awaiting_approval')
    const refusals = await cliJson<{ entries: Array<{ data: Record<string, unknown> }> }>(
      ['evidence', 'list', '--type', 'refusal'],
      site.dirs.cc,
    )
    expect(refusals.entries.map((entry) => entry.data)).toContainEqual(
      expect.objectContaining({ kind: 'telegram-refusal', reason: 'unpaired', telegramUserId: MALLORY.id }),
    )
  }, 30_000)

  it('forwarded and edited commands and other chats are refused and counted, even from a paired user', async () => {
    const proposal = await propose()
    const before = await counters()
    fake.userSends(CHAT, CAROL, `/approve ${proposal.proposal.id}`, { forwardedFrom: CAROL })
    await fake.waitForSent('the forwarded refusal', (message) =>
      message.text.startsWith('Forwarded commands'),
    )
    fake.userEdits(CHAT, CAROL, `/approve ${proposal.proposal.id}`)
    fake.userSends(OTHER_CHAT, CAROL, `/approve ${proposal.proposal.id}`)
    await waitFor('the edited and other-chat refusals counted', async () => {
      const now = await counters()
      return (now['telegram.refused.edited'] ?? 0) > (before['telegram.refused.edited'] ?? 0) &&
        (now['telegram.refused.chat-not-allowed'] ?? 0) > (before['telegram.refused.chat-not-allowed'] ?? 0)
        ? now
        : undefined
    })
    expect((await counters())['telegram.refused.forwarded']).toBe(
      (before['telegram.refused.forwarded'] ?? 0) + 1,
    )
    // The bot never answers a chat it was not given.
    expect(sentTo(OTHER_CHAT)).toHaveLength(0)
    expect(await proposalState(proposal.proposal.id)).toBe('awaiting_approval')
  }, 30_000)

  it('commands are rate limited per user', async () => {
    const answeredBefore = sentTo(CHAT).length
    const before = (await counters())['telegram.refused.rate-limited'] ?? 0
    for (let i = 0; i < 14; i++) fake.userSends(CHAT, CAROL, '/help')
    await fake.waitForSent('a rate-limit answer', (message) => message.text.startsWith('Too many commands'))
    await waitFor('every command answered', () => sentTo(CHAT).length >= answeredBefore + 14 || undefined)
    const limited = ((await counters())['telegram.refused.rate-limited'] ?? 0) - before
    expect(limited).toBeGreaterThanOrEqual(14 - 8)
    expect(limited).toBeLessThan(14)
  }, 30_000)

  it("/estop from a paired user closes the open valve and latches it; an unpaired user's is refused; a clear is only an L2 proposal", async () => {
    const valveState = async () =>
      (
        (await client.call('capability.invoke', { capability: VALVE, operation: 'state' })).result as {
          open: boolean
        }
      ).open
    const latches = async () =>
      (
        await cliJson<{ latches: Array<{ capability: string; operatorId: string }> }>(
          ['estop', 'status', '--url', site.field.url],
          site.dirs.field,
        )
      ).latches
    // Opened by the earlier approvals (the L3 one for 599 s).
    expect(await valveState()).toBe(true)

    // Mallory is not paired: refused, counted and on the evidence trail; nothing is offered to tap.
    const refusedBefore = (await counters())['telegram.refused.unpaired'] ?? 0
    const sentBefore = fake.sent.length
    fake.userSends(CHAT, MALLORY, '/estop')
    await fake.waitForSent(
      'the unpaired refusal',
      (message) => fake.sent.indexOf(message) >= sentBefore && message.text.startsWith('You are not paired'),
    )
    expect((await counters())['telegram.refused.unpaired']).toBe(refusedBefore + 1)
    expect(fake.sent.slice(sentBefore).some((message) => message.text.startsWith('EMERGENCY STOP'))).toBe(
      false,
    )
    const refusals = await cliJson<{ entries: Array<{ data: Record<string, unknown> }> }>(
      ['evidence', 'list', '--type', 'refusal'],
      site.dirs.cc,
    )
    expect(refusals.entries.map((entry) => entry.data)).toContainEqual(
      expect.objectContaining({ kind: 'telegram-refusal', reason: 'unpaired', attempted: 'estop' }),
    )
    expect(await valveState()).toBe(true)
    expect(await latches()).toEqual([])

    // Dave (paired; Carol spent her rate budget above) asks, confirms with the button, and it stops.
    fake.userSends(CHAT, DAVE, '/estop zone-2')
    const confirm = await fake.waitForSent(
      'the confirmation',
      (message) =>
        message.text.startsWith('EMERGENCY STOP of zone zone-2') &&
        (message.replyMarkup?.inline_keyboard.flat() ?? []).some((b) => b.callback_data === 'estop:go'),
    )
    expect(await valveState()).toBe(true)
    const first = fake.userTaps(confirm, DAVE, 'estop:go')
    const second = fake.userTaps(confirm, DAVE, 'estop:go')
    expect((await fake.waitForAnswer(first)).text).toBe('Stopping…')
    expect((await fake.waitForAnswer(second)).text).toBe('Already answered.')
    await waitFor('the outcome edited in', () => confirm.text.startsWith('STOPPED') || undefined)
    expect(confirm.text).toMatch(/^STOPPED zone zone-2 \(by dave\): (\d+)\/\1 actuator\(s\) safe and latched/)
    expect(await valveState()).toBe(false)
    const latched = await latches()
    expect(latched.map((latch) => latch.capability)).toContain(VALVE)
    // Signed with Dave's held key: the latch names his operator key, and the evidence says Telegram.
    const log = await cliJson<{ entries: Array<{ type: string; data: Record<string, unknown> }> }>(
      ['evidence', 'list'],
      site.dirs.cc,
    )
    const stop = log.entries.find(
      (entry) => entry.data['kind'] === 'telegram-estop' && entry.data['telegramUserId'] === DAVE.id,
    )
    expect(stop?.data['operatorId']).toBe(latched.find((latch) => latch.capability === VALVE)?.operatorId)
    expect(log.entries.filter((entry) => entry.type === 'estop').length).toBeGreaterThanOrEqual(1)

    // A proposal to open it now stays refused at the actuator; the clear is an L2 proposal that waits.
    fake.userSends(CHAT, DAVE, '/estop clear zone-2')
    const clear = await fake.waitForSent('the clear answer', (message) =>
      message.text.startsWith('Clear proposals for zone zone-2'),
    )
    const clearId = /\/approve (\S+)/.exec(clear.text)?.[1]
    expect(clearId).toBeDefined()
    const clearRecord = (await client.call('proposal.get', { id: clearId as string })).proposal
    expect(clearRecord.proposal).toMatchObject({ operation: 'estop.clear', level: 'L2', capability: VALVE })
    expect(clearRecord.state).toBe('awaiting_approval')
    expect((await latches()).map((latch) => latch.capability)).toContain(VALVE)
  }, 60_000)

  it('a Bot API outage is retried with backoff while the node stays healthy, and the token is in no output', async () => {
    const failedBefore = (await counters())['telegram.poll.failed'] ?? 0
    fake.outage(true)
    const outageStart = Date.now()
    await new Promise((resolve) => setTimeout(resolve, 4_000))
    const polls = fake.requests.filter(
      (request) => request.method === 'getUpdates' && request.at >= outageStart,
    )
    // Backoff 0.5, 1, 2 s …: a handful of polls in four seconds, not a spin.
    expect(polls.length).toBeGreaterThanOrEqual(2)
    expect(polls.length).toBeLessThanOrEqual(6)
    expect((await counters())['telegram.poll.failed']).toBeGreaterThan(failedBefore)
    // The node answers RPC as usual meanwhile.
    expect((await client.call('mesh.status', {})).name).toBe('command-center')
    fake.outage(false)
    fake.userSends(CHAT, CAROL, '/status')
    await fake.waitForSent(
      'the status after the outage',
      (message) => message.text.startsWith('command-center (planner)'),
      90_000,
    )
    expect(site.cc.output()).toContain('Telegram bot on')
    for (const output of [site.cc.output(), site.field.output()]) {
      expect(output).not.toContain(TOKEN)
      expect(output).not.toContain(TOKEN.split(':')[1])
    }
    expect(site.cc.output()).toMatch(/Telegram Bot API unreachable/)
  }, 120_000)

  it('stops promptly on SIGTERM in the middle of a long poll', async () => {
    await waitFor(
      'a long poll in flight',
      () =>
        fake.requests.some((request) => request.method === 'getUpdates' && Date.now() - request.at > 1_000) ||
        undefined,
    )
    const sentBefore = fake.sent.length - 1
    const started = Date.now()
    expect(await site.cc.stop('SIGTERM')).toBe(0)
    // The poll waits up to 25 s for updates; stopping aborts it instead of waiting it out.
    expect(Date.now() - started).toBeLessThan(10_000)
    expect(site.cc.output()).toContain('stopped')
    // Carol's binding and the key held for her survive the restart.
    const restarted = await startNode(site.dirs.cc, site.ccArgs)
    expect(restarted.output()).toContain('2 paired operator(s)')
    fake.userSends(CHAT, CAROL, '/proposals')
    await fake.waitForSent(
      'an answer after the restart',
      (message) => fake.sent.indexOf(message) > sentBefore && /awaiting.approval/.test(message.text),
    )
  }, 60_000)
})
