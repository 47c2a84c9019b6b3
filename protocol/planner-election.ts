/**
 * Planner election: the pure rules every node runs over its own view of the mesh, so nodes with the
 * same view elect the same leader. Among live planner candidates a `planner` outranks a
 * `standby-planner` and the lower device ID breaks ties. A leader claims a monotonic term
 * (highest term seen + 1) and announces it in a signed leader announcement; every node keeps the
 * highest claim it has seen, ordered by (term, rank), so claims converge whatever order they
 * arrive in. Actuators fence commands issued under an older term (see `checkCommandTerm` in
 * safety/command.ts). Who may lead a node is that node's decision from its own records
 * (`isEligibleLeader`), and a claim steps at most LEADER_TERM_MAX_STEP above the term it holds.
 */
import { z } from 'zod'
import { deviceIdSchema } from './device-id.ts'
import { generationSchema, type MeshIdentity, meshNameSchema } from './mesh.ts'
import {
  COMMAND_CENTER_ROLES,
  type CommandCenterRole,
  isCommandCenterRole,
  type NodeRole,
  nodeRoleSchema,
} from './roles.ts'
import { type Signer, signValue, verifyValue } from './signing.ts'

export interface ElectionCandidate {
  readonly deviceId: string
  readonly role: CommandCenterRole
}

/** Orders candidates best first: `planner` before `standby-planner`, then the lower device ID.
 * A total order, so every node sorts the same set the same way. */
export function compareCandidates(a: ElectionCandidate, b: ElectionCandidate): number {
  const byRole = COMMAND_CENTER_ROLES.indexOf(a.role) - COMMAND_CENTER_ROLES.indexOf(b.role)
  if (byRole !== 0) return byRole
  return a.deviceId < b.deviceId ? -1 : a.deviceId > b.deviceId ? 1 : 0
}

/** The leader among the live candidates of one node's view, or undefined when there is none.
 * Depends only on the set: order and duplicates do not matter. */
export function electLeader(candidates: readonly ElectionCandidate[]): ElectionCandidate | undefined {
  let best: ElectionCandidate | undefined
  for (const candidate of candidates) {
    if (!isCommandCenterRole(candidate.role)) continue
    if (best === undefined || compareCandidates(candidate, best) < 0) best = candidate
  }
  return best
}

/** The highest term a leader may claim; far beyond any real mesh, it keeps terms exact in JSON. */
export const LEADER_TERM_MAX = Number.MAX_SAFE_INTEGER

export const leaderTermSchema = z.number().int().min(1).max(LEADER_TERM_MAX)

export const leaderAnnouncementBodySchema = z.strictObject({
  version: z.literal(1),
  meshName: meshNameSchema,
  generation: generationSchema,
  /** The claiming leader; the announcement must be signed by this device's key. */
  leader: deviceIdSchema,
  /** The role the leader runs with; ranks equal-term claims. */
  role: nodeRoleSchema,
  term: leaderTermSchema,
  /** When this copy was signed. Heartbeats re-sign, so each copy is a distinct gossip message. */
  issuedAt: z.number().int().nonnegative(),
})
export type LeaderAnnouncementBody = z.infer<typeof leaderAnnouncementBodySchema>

export const signedLeaderAnnouncementSchema = z.strictObject({
  body: leaderAnnouncementBodySchema,
  signature: z.string().regex(/^[A-Za-z0-9_-]{86}$/, 'expected a base64url Ed25519 signature'),
})
export type SignedLeaderAnnouncement = z.infer<typeof signedLeaderAnnouncementSchema>

/** Largest encoded announcement a node accepts (a real one is about 400 bytes). */
export const LEADER_ANNOUNCEMENT_MAX_BYTES = 2_048

export async function signLeaderAnnouncement(
  signer: Signer,
  fields: Omit<LeaderAnnouncementBody, 'version' | 'leader'>,
): Promise<SignedLeaderAnnouncement> {
  const body = leaderAnnouncementBodySchema.parse({ version: 1, leader: signer.id, ...fields })
  return { body, signature: await signValue(signer, 'leader-term', body) }
}

/** A claim as every node compares it: the term, then the claimant's rank. */
export interface LeaderClaim {
  readonly term: number
  readonly leader: string
  readonly role: NodeRole
}

/** Positive when `a` supersedes `b`: a higher term wins; at equal terms the better-ranked claimant
 * wins (split brain: two leaders claimed the same term, rank decides). Zero for the same claim. */
export function compareClaims(a: LeaderClaim, b: LeaderClaim): number {
  if (a.term !== b.term) return a.term - b.term
  const rankA = isCommandCenterRole(a.role) ? a.role : 'standby-planner'
  const rankB = isCommandCenterRole(b.role) ? b.role : 'standby-planner'
  return compareCandidates({ deviceId: b.leader, role: rankB }, { deviceId: a.leader, role: rankA })
}

/** The term a node claims when it becomes leader: one above every term it has seen. */
export function nextTerm(highestSeen: number | undefined): number {
  return (highestSeen ?? 0) + 1
}

/** How far above the highest term a receiver holds a claim may be. A legitimate planner claims
 * exactly one above the highest term it has seen (`nextTerm`), and every node that followed the
 * mesh holds that term, so a bigger step is either a bug or an attempt to exhaust the term space:
 * one announcement at LEADER_TERM_MAX would leave no term any planner could ever claim again
 * (issue 14). With steps of one, exhausting 2^53 terms takes longer than any mesh will run. */
export const LEADER_TERM_MAX_STEP = 1

/** How many of the claims it held (one per term, newest last) a node keeps and serves in its
 * `mesh.status` (`leader.chain`), so a node that missed terms, or joins a mesh past term 1, climbs to
 * the current term one step at a time, each step a claim signed by a key it may follow. 32 steps
 * cover a month of daily command-center restarts; a node further behind is brought up with
 * `clawmesh planner reset-term --to N`. About 13 KiB in a status answer (RPC limit 256 KiB). */
export const LEADER_TERM_CHAIN_MAX = 32

/** Whether `term` is within LEADER_TERM_MAX_STEP of the highest term the receiver holds (none held
 * counts as 0, so a node that never saw a term accepts term 1 only). Claims at or below the held
 * term are within the bound; whether they are newer is `compareClaims`'s business. */
export function isTermWithinStep(term: number, heldTerm: number | undefined): boolean {
  return term <= (heldTerm ?? 0) + LEADER_TERM_MAX_STEP
}

/** What the RECEIVER knows that makes a key planner-eligible; never the role a peer advertises. */
export interface LeaderEligibilityRecords {
  readonly selfId: string
  readonly selfRole: NodeRole
  /** Command centers this receiver obeys (its `commandCenters` configuration, `--command-center`). */
  readonly commandCenters: readonly string[]
  /** The kind of the key's entry in the receiver's trust store; operator keys never lead. */
  trustKindOf(deviceId: string): 'device' | 'operator' | undefined
}

/** A key may lead this receiver when it is the receiver itself running as planner or
 * standby-planner, or a command center the receiver obeys that is not an operator key. */
export function isEligibleLeader(deviceId: string, records: LeaderEligibilityRecords): boolean {
  if (deviceId === records.selfId) return isCommandCenterRole(records.selfRole)
  if (records.trustKindOf(deviceId) === 'operator') return false
  return records.commandCenters.includes(deviceId)
}

export const LEADER_ANNOUNCEMENT_REFUSALS = {
  malformed: 'The announcement does not match the leader announcement schema.',
  'wrong-mesh': 'The announcement names another mesh or protocol generation.',
  'bad-signature': 'The announcement is not signed by the leader it names.',
  'untrusted-origin': 'The announcing leader is not in the trust store.',
  'ineligible-origin':
    'The announcing key is not one this node may follow: not itself as planner, not a command center it obeys, or an operator key.',
  'non-planner-origin': 'The announcing node does not run as planner or standby-planner.',
  'term-beyond-bound':
    'The claimed term is more than LEADER_TERM_MAX_STEP above the highest term this node holds.',
} as const
export type LeaderAnnouncementRefusal = keyof typeof LEADER_ANNOUNCEMENT_REFUSALS

export type LeaderAnnouncementVerdict =
  | { readonly verdict: 'accept'; readonly announcement: SignedLeaderAnnouncement }
  | { readonly verdict: 'reject'; readonly reason: LeaderAnnouncementRefusal; readonly detail: string }

export interface VerifyLeaderAnnouncementOptions extends MeshIdentity {
  isTrustedOrigin(deviceId: string): boolean
  /** From the receiver's own records (`isEligibleLeader`), never from what the origin says. */
  isEligibleOrigin(deviceId: string): boolean
  /** The role the origin advertised in its own status or capability update, when known. It can
   * only refuse a claim (a mismatch), never make a key eligible. */
  roleOf(deviceId: string): NodeRole | undefined
  /** The highest term the receiver holds (its own claims included); undefined when none. */
  heldTerm: number | undefined
}

/** Checks shape, mesh, signature, trust, eligibility, role and the term step. Whether the claim is
 * newer than what the node holds is the caller's business (`compareClaims`). */
export async function verifyLeaderAnnouncement(
  candidate: unknown,
  options: VerifyLeaderAnnouncementOptions,
): Promise<LeaderAnnouncementVerdict> {
  const parsed = signedLeaderAnnouncementSchema.safeParse(candidate)
  if (!parsed.success) {
    const issue = parsed.error.issues[0]
    return reject('malformed', issue === undefined ? 'invalid' : `${issue.path.join('.')}: ${issue.message}`)
  }
  const { body, signature } = parsed.data
  if (body.meshName !== options.meshName || body.generation !== options.generation) {
    return reject('wrong-mesh', `announcement for ${body.meshName}/${body.generation}`)
  }
  if (!(await verifyValue(body.leader, 'leader-term', body, signature))) {
    return reject('bad-signature', `signature does not verify against ${body.leader}`)
  }
  if (!options.isTrustedOrigin(body.leader)) {
    return reject('untrusted-origin', `${body.leader} is not trusted`)
  }
  if (!options.isEligibleOrigin(body.leader)) {
    return reject('ineligible-origin', `${body.leader} is not a command center or planner this node follows`)
  }
  const advertised = options.roleOf(body.leader)
  if (!isCommandCenterRole(body.role) || (advertised !== undefined && advertised !== body.role)) {
    return reject(
      'non-planner-origin',
      `${body.leader} claims role ${body.role}${advertised === undefined ? '' : ` but advertises ${advertised}`}`,
    )
  }
  if (!isTermWithinStep(body.term, options.heldTerm)) {
    return reject(
      'term-beyond-bound',
      `${body.leader} claims term ${body.term}, this node holds ${options.heldTerm ?? 'none'} (step at most ${LEADER_TERM_MAX_STEP})`,
    )
  }
  return { verdict: 'accept', announcement: parsed.data }
}

function reject(reason: LeaderAnnouncementRefusal, detail: string): LeaderAnnouncementVerdict {
  return { verdict: 'reject', reason, detail }
}

export function claimOf(announcement: SignedLeaderAnnouncement): LeaderClaim {
  return { term: announcement.body.term, leader: announcement.body.leader, role: announcement.body.role }
}
