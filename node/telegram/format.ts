/** What the Telegram bot writes: plain text (no parse mode, so nothing in a proposal can inject
 * markup), short enough for a phone. */
import type { Frame } from '../../protocol/context/index.ts'
import type { Proposal } from '../../protocol/safety/index.ts'

export const HELP_TEXT = [
  'ClawMesh commands',
  '/status - the command center and the mesh',
  '/world [zone] - latest readings, of one zone if given',
  '/proposals - proposals awaiting approval',
  '/approve <id> [reason] - approve, signed with your own operator key',
  '/reject <id> [reason] - reject',
  '/alerts - recent warnings and alerts',
  '/ask <text> - ask the planner (it may propose; it never approves)',
  '/estop [zone] - emergency stop (whole site, or one zone), after a confirmation tap',
  '/estop clear [zone] - ask for the L2 clear proposals (an operator approves them)',
  '/pair <code> - pair this Telegram account with a code from the admin',
].join('\n')

interface ProposalView {
  readonly proposal: Pick<
    Proposal,
    'id' | 'capability' | 'operation' | 'args' | 'level' | 'author' | 'expiresAt'
  >
  readonly state: string
  readonly reason?: string | undefined
  readonly outcome?: string | undefined
}

export function describeProposal(record: ProposalView): string {
  const { proposal } = record
  const args = Object.entries(proposal.args)
    .map(([name, value]) => `${name}=${JSON.stringify(value)}`)
    .join(' ')
  return [
    `${proposal.id} (${proposal.level}, ${record.state})`,
    `${proposal.operation} ${proposal.capability}${args === '' ? '' : ` ${args}`}`,
    `by ${proposal.author.kind} ${proposal.author.id.slice(-8)}, expires ${new Date(proposal.expiresAt).toISOString().slice(11, 19)} UTC`,
  ].join('\n')
}

/** The outcome an edited push shows: executed, refused with its code, rejected, expired. */
export function outcomeLine(record: ProposalView): string {
  switch (record.state) {
    case 'completed':
      return `Executed${record.outcome === undefined ? '' : `: ${record.outcome}`}`
    case 'failed':
      return `Failed${record.reason === undefined ? '' : `: ${record.reason}`}`
    case 'rejected':
      return `Rejected${record.reason === undefined ? '' : `: ${record.reason}`}`
    case 'expired':
      return 'Expired without a decision'
    case 'approved':
    case 'executing':
      return 'Approved, executing'
    default:
      return `Recorded; still ${record.state}`
  }
}

export function describeReading(frame: Frame, now: number): string | undefined {
  if (frame.kind !== 'observation') return undefined
  const data = frame.data
  const ageSec = Math.max(0, Math.round((now - frame.timestamp) / 1000))
  const alarm = data.alarm === true ? ' ALARM' : ''
  return `${data.zone ?? '-'} ${data.metric} ${data.value} ${data.unit}${alarm} (${frame.originName ?? frame.origin.slice(-8)}, ${ageSec} s ago)`
}
