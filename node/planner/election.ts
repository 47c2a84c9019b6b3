/**
 * The planner election of one node: the real `LeaderView`. Every node runs it. Planner nodes
 * (`planner`, `standby-planner`) are candidates and claim leadership when the pure rules
 * (protocol/planner-election.ts) elect them over their live view; every node, actuators included,
 * follows the highest signed claim it has seen, persists it (terms never go backwards, also across
 * restarts) and hands that term to the safety runtime as the fence.
 *
 * Claims travel as signed leader announcements on their own gossipsub topic (`leaderTopic`), are
 * re-gossiped by the leader every LEADER_HEARTBEAT_MS, and are also read from every peer's
 * `mesh.status` when it joins, so a node that starts late learns the current term at once.
 *
 * Who may lead is this node's own decision (issue 14): only keys its records make eligible
 * (`isEligibleLeader`: itself as planner, the command centers it obeys, never an operator key) are
 * candidates or followed, and a claim may step at most LEADER_TERM_MAX_STEP above the held term.
 */
import { rm } from 'node:fs/promises'
import { join } from 'node:path'
import { TopicValidatorResult } from '@libp2p/gossipsub'
import type { PeerId } from '@libp2p/interface'
import { z } from 'zod'
import { leaderTopic, type MeshIdentity } from '../../protocol/mesh.ts'
import {
  claimOf,
  compareClaims,
  type ElectionCandidate,
  electLeader,
  isEligibleLeader,
  LEADER_ANNOUNCEMENT_MAX_BYTES,
  LEADER_TERM_CHAIN_MAX,
  LEADER_TERM_MAX,
  type LeaderAnnouncementRefusal,
  leaderTermSchema,
  nextTerm,
  type SignedLeaderAnnouncement,
  signedLeaderAnnouncementSchema,
  signLeaderAnnouncement,
  verifyLeaderAnnouncement,
} from '../../protocol/planner-election.ts'
import { isCommandCenterRole, type NodeRole } from '../../protocol/roles.ts'
import type { Signer } from '../../protocol/signing.ts'
import type { Counters } from '../../runtime/counters.ts'
import { readJsonFile, writeJsonAtomic } from '../../runtime/state/atomic-file.ts'
import type { NodeLibp2p } from '../libp2p/create-node-libp2p.ts'
import type { EventRing } from '../mesh/event-ring.ts'
import type { PeerRecordView } from '../mesh/membership.ts'
import {
  ELECTION_STARTUP_GRACE_MS,
  ELECTION_TICK_MS,
  LEADER_CATCH_UP_INTERVAL_MS,
  LEADER_HEARD_STALE_MS,
  LEADER_HEARTBEAT_MS,
} from './constants.ts'
import type { LeaderInfo, LeaderView } from './leader-view.ts'

export function leaderTermPath(stateDir: string): string {
  return join(stateDir, 'planner', 'leader-term.json')
}

/** Names the process that owns the term file while it runs (pid), so `clawmesh planner reset-term`
 * refuses to rewrite the file under a running node that would overwrite it again. */
export function leaderTermOwnerPath(stateDir: string): string {
  return join(stateDir, 'planner', 'leader-term.owner.json')
}

export const leaderTermOwnerSchema = z.strictObject({ pid: z.number().int().positive() })

export const leaderTermFileSchema = z.strictObject({
  version: z.literal(1),
  /** The highest claim this node has seen (its own included); absent right after a reset. */
  highest: signedLeaderAnnouncementSchema.optional(),
  /** Written by `clawmesh planner reset-term --to N`: the node holds term N with no claim to show
   * for it, so it accepts N+1 and, as a planner, claims above N. */
  resetTo: z.strictObject({ term: leaderTermSchema, at: z.number().int().nonnegative() }).optional(),
  /** Claims held before, one per term, oldest first (served as `leader.chain`). */
  chain: z.array(signedLeaderAnnouncementSchema).max(LEADER_TERM_CHAIN_MAX).optional(),
})
export type LeaderTermFile = z.infer<typeof leaderTermFileSchema>

/** What `mesh.status` shows of the election (protocol/rpc/methods.ts `leader`). */
export interface LeaderStatus {
  term: number
  deviceId: string
  live: boolean
  isSelf: boolean
  announcement: SignedLeaderAnnouncement
  chain?: SignedLeaderAnnouncement[]
}

/** How this node may stamp the commands it issues (see SafetyRuntime). */
export type IssuingTerm = { readonly leading: true; readonly term: number } | { readonly leading: false }

export interface PlannerElectionInit {
  deviceId: string
  role: NodeRole
  signer: Signer
  mesh: MeshIdentity
  libp2p: NodeLibp2p
  stateDir: string
  /** Membership's records: state, kind and advertised role of every peer. */
  peers(): readonly PeerRecordView[]
  isTrusted(deviceId: string): boolean
  /** Command centers this node obeys (config.commandCenters): with itself as planner, the only keys
   * it follows as leader. */
  commandCenters: readonly string[]
  /** The kind of a key's trust-store entry; operator keys are never followed as leader. */
  trustKindOf(deviceId: string): 'device' | 'operator' | undefined
  /** Asks a connected peer for its `mesh.status` leader (announcement and chain), to catch up after
   * refusing a claim above the term step bound. Without it a node catches up only when peers join. */
  fetchLeaderStatus?(deviceId: string): Promise<{ announcement: unknown; chain?: unknown[] } | undefined>
  /** Subscribes to the node's event ring (peer.down / peer.left / peer.connected trigger a re-run). */
  events: EventRing
  counters: Counters
  log: (line: string) => void
  startupGraceMs?: number
  heartbeatMs?: number
  tickMs?: number
}

const LIVE_STATES = new Set<string>(['connected', 'suspect'])
const LOST_STATES = new Set<string>(['down', 'left', 'refused'])
/** Refusals that prove the forwarder sent junk (lowers its gossip score) versus merely unwanted. */
const REJECTED: ReadonlySet<LeaderAnnouncementRefusal> = new Set(['malformed', 'wrong-mesh', 'bad-signature'])

export class PlannerElection implements LeaderView {
  readonly #init: PlannerElectionInit
  readonly #topic: string
  readonly #path: string
  readonly #listeners = new Set<(leader: LeaderInfo | undefined) => void>()
  /** Highest claim seen (ours included). */
  #known: SignedLeaderAnnouncement | undefined
  /** This process claimed `#known` and still holds it. */
  #leading = false
  #lastClaimedTerm: number | undefined
  /** The term a reset left this node holding (`resetTo`), until a claim above it arrives. */
  readonly #reset: LeaderTermFile['resetTo']
  /** Claims held, one per term, oldest first, the newest possibly `#known` itself. */
  #chain: SignedLeaderAnnouncement[]
  #lastCatchUp = 0
  /** The persisted highest claim is our own: we led until we stopped, so we claim again without the
   * startup grace (if the mesh moved on meanwhile, the higher claim we then hear supersedes ours). */
  readonly #ledBeforeRestart: boolean
  #claiming = false
  readonly #heardAt = new Map<string, { at: number; role: NodeRole }>()
  readonly #lostAt = new Map<string, number>()
  #lastNotified: LeaderInfo | undefined
  #startedAt = 0
  #tick: ReturnType<typeof setInterval> | undefined
  #lastHeartbeat = 0
  #stopped = false
  #writes: Promise<boolean> = Promise.resolve(true)
  #unsubscribeEvents: () => void = () => {}

  private constructor(init: PlannerElectionInit, file: LeaderTermFile | undefined) {
    this.#init = init
    this.#topic = leaderTopic(init.mesh)
    this.#path = leaderTermPath(init.stateDir)
    this.#known = file?.highest
    this.#reset = file?.resetTo
    this.#chain = file?.chain ?? (file?.highest === undefined ? [] : [file.highest])
    this.#ledBeforeRestart = file?.highest?.body.leader === init.deviceId
  }

  /** Loads the persisted highest term; an unreadable file stops the node (never silently reset). */
  static async open(init: PlannerElectionInit): Promise<PlannerElection> {
    const file = await readJsonFile(leaderTermPath(init.stateDir), leaderTermFileSchema, 'leader term')
    const election = new PlannerElection(init, file)
    const held = file?.highest?.body
    // A claim persisted before this node checked eligibility (issue 14) may be an attacker's: say so,
    // and how to recover, rather than silently dropping the fence it sets.
    if (held !== undefined && (!election.isEligible(held.leader) || held.term >= LEADER_TERM_MAX)) {
      init.log(
        `the persisted leader term ${held.term} was claimed by ${held.leader}, which this node would not follow; ` +
          `if it is bogus, stop the node and run: clawmesh planner reset-term --to <the mesh's real term>`,
      )
    }
    return election
  }

  get isCandidate(): boolean {
    return isCommandCenterRole(this.#init.role)
  }

  start(): void {
    void writeJsonAtomic(leaderTermOwnerPath(this.#init.stateDir), { pid: process.pid }).catch(
      (error: Error) => this.#init.log(`could not record the leader-term owner: ${error.message}`),
    )
    const pubsub = this.#init.libp2p.services.pubsub
    pubsub.topicValidators.set(this.#topic, (peer, message) => this.#validate(peer, message.data))
    pubsub.subscribe(this.#topic)
    this.#startedAt = Date.now()
    this.#unsubscribeEvents = this.#init.events.subscribe((event) => {
      if (event.peer === undefined || !event.type.startsWith('peer.')) return
      if (event.type === 'peer.down' || event.type === 'peer.left') this.#lostAt.set(event.peer, Date.now())
      this.#evaluate()
    })
    this.#tick = setInterval(() => this.#evaluate(), this.#init.tickMs ?? ELECTION_TICK_MS)
    this.#tick.unref()
    this.#evaluate()
  }

  stop(): void {
    this.#stopped = true
    clearInterval(this.#tick)
    this.#unsubscribeEvents()
    this.#init.libp2p.services.pubsub.topicValidators.delete(this.#topic)
    void rm(leaderTermOwnerPath(this.#init.stateDir), { force: true }).catch(() => {})
  }

  /** Resolves once the persisted term file is up to date (tests, shutdown). */
  async flushed(): Promise<void> {
    await this.#writes
  }

  leader(): LeaderInfo | undefined {
    const known = this.#known
    if (known === undefined) return undefined
    const { leader, term } = known.body
    if (leader === this.#init.deviceId) return this.#leading ? { deviceId: leader, term } : undefined
    return this.#isLive(leader) ? { deviceId: leader, term } : undefined
  }

  isLeader(): boolean {
    return this.#leading
  }

  onChange(listener: (leader: LeaderInfo | undefined) => void): () => void {
    this.#listeners.add(listener)
    return () => this.#listeners.delete(listener)
  }

  /** Highest leader term seen: the fence the safety runtime applies. Undefined until any is seen. */
  currentTerm(): number | undefined {
    return this.#heldTerm()
  }

  /** Planner nodes stamp commands with the term they lead under; undefined for non-candidates. */
  issuing(): IssuingTerm | undefined {
    if (!this.isCandidate) return undefined
    const term = this.#known?.body.term
    return this.#leading && term !== undefined ? { leading: true, term } : { leading: false }
  }

  status(): LeaderStatus | undefined {
    const known = this.#known
    if (known === undefined) return undefined
    const isSelf = known.body.leader === this.#init.deviceId
    return {
      term: known.body.term,
      deviceId: known.body.leader,
      live: this.leader() !== undefined,
      isSelf,
      announcement: known,
      chain: this.#chain.filter((entry) => entry.body.term < known.body.term),
    }
  }

  /** An announcement read from a peer's `mesh.status` (the same checks as one from gossip), after
   * the earlier claims that peer held (`chain`), climbed oldest first: each is checked on its own,
   * so each step must be signed by a key this node follows and within the term step bound. */
  async consider(candidate: unknown, chain?: readonly unknown[]): Promise<void> {
    if (chain !== undefined && chain.length <= LEADER_TERM_CHAIN_MAX) {
      const steps = chain
        .map((entry) => signedLeaderAnnouncementSchema.safeParse(entry))
        .flatMap((parsed) => (parsed.success ? [parsed.data] : []))
        .sort((a, b) => a.body.term - b.body.term)
      for (const step of steps) {
        if (step.body.term <= (this.#heldTerm() ?? 0)) continue
        if ((await this.#receive(step, 'status')) !== 'accepted') break
      }
    }
    await this.#receive(candidate, 'status')
  }

  /** After refusing a claim above the bound: ask the peer that relayed it for the steps between. */
  async #catchUp(deviceId: string): Promise<void> {
    const fetch = this.#init.fetchLeaderStatus
    const now = Date.now()
    if (fetch === undefined || now - this.#lastCatchUp < LEADER_CATCH_UP_INTERVAL_MS) return
    this.#lastCatchUp = now
    this.#init.counters.increment('election.catch-up')
    try {
      const leader = await fetch(deviceId)
      if (leader !== undefined) await this.consider(leader.announcement, leader.chain)
    } catch (error) {
      this.#init.log(`could not catch up on the leader term from ${deviceId}: ${(error as Error).message}`)
    }
  }

  /** Keeps `announcement` as the held claim of its term, newest last, at most LEADER_TERM_CHAIN_MAX. */
  #remember(announcement: SignedLeaderAnnouncement): void {
    const last = this.#chain.at(-1)
    if (last !== undefined && last.body.term === announcement.body.term)
      this.#chain[this.#chain.length - 1] = announcement
    else if (last === undefined || last.body.term < announcement.body.term) this.#chain.push(announcement)
    if (this.#chain.length > LEADER_TERM_CHAIN_MAX) this.#chain = this.#chain.slice(-LEADER_TERM_CHAIN_MAX)
  }

  /** From this node's records only: never the role a peer advertises about itself. */
  isEligible(deviceId: string): boolean {
    return isEligibleLeader(deviceId, {
      selfId: this.#init.deviceId,
      selfRole: this.#init.role,
      commandCenters: this.#init.commandCenters,
      trustKindOf: (id) => this.#init.trustKindOf(id),
    })
  }

  /** The highest term this node holds, its own claims included: the base of the term step bound. */
  #heldTerm(): number | undefined {
    const terms = [this.#known?.body.term, this.#lastClaimedTerm, this.#reset?.term].filter(
      (term): term is number => term !== undefined,
    )
    return terms.length === 0 ? undefined : Math.max(...terms)
  }

  #isLive(deviceId: string): boolean {
    const record = this.#init.peers().find((entry) => entry.deviceId === deviceId)
    if (record !== undefined && LIVE_STATES.has(record.state) && record.agent?.kind === 'node') return true
    // Not directly connected (or lost): a heartbeat heard recently, and after we saw it go, means
    // it is alive behind another peer.
    const heard = this.#heardAt.get(deviceId)
    if (heard === undefined || Date.now() - heard.at >= LEADER_HEARD_STALE_MS) return false
    const lost = this.#lostAt.get(deviceId)
    if (record !== undefined && LOST_STATES.has(record.state) && (lost === undefined || heard.at <= lost))
      return false
    return true
  }

  #candidates(): ElectionCandidate[] {
    const candidates: ElectionCandidate[] = []
    if (isCommandCenterRole(this.#init.role))
      candidates.push({ deviceId: this.#init.deviceId, role: this.#init.role })
    const seen = new Set<string>([this.#init.deviceId])
    for (const record of this.#init.peers()) {
      const role = record.info?.role
      if (!isCommandCenterRole(role) || !this.#init.isTrusted(record.deviceId)) continue
      if (!this.isEligible(record.deviceId)) continue
      if (!this.#isLive(record.deviceId)) continue
      seen.add(record.deviceId)
      candidates.push({ deviceId: record.deviceId, role })
    }
    // Planners we only hear through others (no direct connection).
    for (const [deviceId, heard] of this.#heardAt) {
      if (seen.has(deviceId) || !isCommandCenterRole(heard.role) || !this.#init.isTrusted(deviceId)) continue
      if (!this.isEligible(deviceId)) continue
      if (this.#isLive(deviceId)) candidates.push({ deviceId, role: heard.role })
    }
    return candidates
  }

  #evaluate(): void {
    if (this.#stopped || this.#startedAt === 0) return
    const now = Date.now()
    const grace = this.#ledBeforeRestart ? 0 : (this.#init.startupGraceMs ?? ELECTION_STARTUP_GRACE_MS)
    if (this.isCandidate && now >= this.#startedAt + grace) {
      const expected = electLeader(this.#candidates())
      const holds = this.#leading && this.#known?.body.leader === this.#init.deviceId
      if (expected?.deviceId === this.#init.deviceId && !holds) void this.#claim('elected')
    }
    if (this.#leading && now - this.#lastHeartbeat >= (this.#init.heartbeatMs ?? LEADER_HEARTBEAT_MS)) {
      void this.#heartbeat()
    }
    this.#notifyIfChanged()
  }

  async #claim(why: string): Promise<void> {
    if (this.#claiming || this.#stopped || !isCommandCenterRole(this.#init.role)) return
    this.#claiming = true
    try {
      const term = nextTerm(this.#heldTerm())
      const announcement = await signLeaderAnnouncement(this.#init.signer, {
        meshName: this.#init.mesh.meshName,
        generation: this.#init.mesh.generation,
        role: this.#init.role,
        term,
        issuedAt: Date.now(),
      })
      // Someone may have claimed higher while we signed: then theirs stands.
      if (this.#known !== undefined && this.#known.body.term >= term) return
      this.#known = announcement
      this.#lastClaimedTerm = term
      this.#remember(announcement)
      this.#init.counters.increment('election.claims')
      // On disk before anyone hears of it or a command carries it: a crash right after announcing
      // never reuses the term.
      if (!(await this.#persist())) {
        this.#init.log(`not leading at term ${term}: the term could not be written to ${this.#path}`)
        return
      }
      if (this.#known !== announcement) return
      this.#leading = true
      this.#init.log(`claimed planner leadership at term ${term} (${why})`)
      this.#lastHeartbeat = Date.now()
      await this.#publish(announcement)
      this.#notifyIfChanged()
    } catch (error) {
      this.#init.log(`could not claim planner leadership: ${(error as Error).message}`)
    } finally {
      this.#claiming = false
    }
  }

  async #heartbeat(): Promise<void> {
    const known = this.#known
    if (!this.#leading || known === undefined) return
    this.#lastHeartbeat = Date.now()
    const fresh = await signLeaderAnnouncement(this.#init.signer, {
      meshName: known.body.meshName,
      generation: known.body.generation,
      role: known.body.role,
      term: known.body.term,
      issuedAt: Date.now(),
    })
    if (this.#known !== known || !this.#leading) return
    this.#known = fresh
    await this.#publish(fresh)
  }

  async #publish(announcement: SignedLeaderAnnouncement): Promise<void> {
    try {
      // Every copy is signed afresh with its own issuedAt, so no two are duplicates to gossipsub.
      await this.#init.libp2p.services.pubsub.publish(
        this.#topic,
        new TextEncoder().encode(JSON.stringify(announcement)),
      )
    } catch (error) {
      this.#init.counters.increment('election.publish.failed')
      this.#init.log(`could not gossip the leader announcement: ${(error as Error).message}`)
    }
  }

  async #validate(peer: PeerId, data: Uint8Array): Promise<TopicValidatorResult> {
    if (data.byteLength > LEADER_ANNOUNCEMENT_MAX_BYTES) {
      this.#refused('malformed', `announcement of ${data.byteLength} bytes relayed by ${peer.toString()}`)
      return TopicValidatorResult.Reject
    }
    let candidate: unknown
    try {
      candidate = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(data))
    } catch {
      this.#refused('malformed', `undecodable announcement relayed by ${peer.toString()}`)
      return TopicValidatorResult.Reject
    }
    const outcome = await this.#receive(candidate, 'gossip', peer.toString())
    if (outcome === 'accepted') return TopicValidatorResult.Accept
    return outcome === 'rejected' ? TopicValidatorResult.Reject : TopicValidatorResult.Ignore
  }

  async #receive(
    candidate: unknown,
    source: 'gossip' | 'status',
    relayedBy?: string,
  ): Promise<'accepted' | 'ignored' | 'rejected'> {
    if (this.#stopped) return 'ignored'
    const verdict = await verifyLeaderAnnouncement(candidate, {
      ...this.#init.mesh,
      isTrustedOrigin: (id) => id === this.#init.deviceId || this.#init.isTrusted(id),
      isEligibleOrigin: (id) => this.isEligible(id),
      heldTerm: this.#heldTerm(),
      roleOf: (id) =>
        id === this.#init.deviceId
          ? this.#init.role
          : this.#init.peers().find((entry) => entry.deviceId === id)?.info?.role,
    })
    if (verdict.verdict === 'reject') {
      this.#refused(verdict.reason, `${verdict.detail} (via ${source})`)
      // The relayer accepted this claim, so it holds the terms between ours and it.
      if (verdict.reason === 'term-beyond-bound' && relayedBy !== undefined) void this.#catchUp(relayedBy)
      return REJECTED.has(verdict.reason) ? 'rejected' : 'ignored'
    }
    const announcement = verdict.announcement
    const claim = claimOf(announcement)
    const self = this.#init.deviceId
    // Only gossip proves the claimant is alive now: a status answer may carry a dead leader's claim.
    if (claim.leader !== self && source === 'gossip')
      this.#heardAt.set(claim.leader, { at: Date.now(), role: claim.role })
    const known = this.#known
    // Below the term a reset left us holding: as stale as any claim below the one we hold.
    const belowReset = this.#reset !== undefined && claim.term < this.#reset.term
    const order = belowReset ? -1 : known === undefined ? 1 : compareClaims(claim, claimOf(known))
    if (order > 0) {
      const wasLeading = this.#leading
      this.#known = announcement
      this.#remember(announcement)
      // A claim of ours we no longer hold (from before a restart) is not leadership.
      this.#leading = false
      if (claim.leader !== self) {
        this.#init.counters.increment('election.terms.adopted')
        if (wasLeading) {
          this.#init.log(`stepping down: ${claim.leader} claimed term ${claim.term}`)
          this.#init.events.push({
            level: 'warn',
            type: 'planner.leader.stepped-down',
            message: `stepped down: ${claim.leader} claimed leader term ${claim.term}`,
            peer: claim.leader,
          })
        }
      }
      void this.#persist()
      this.#evaluate()
      return 'accepted'
    }
    if (order === 0) {
      if (claim.leader !== self) this.#known = announcement
      this.#notifyIfChanged()
      return 'accepted'
    }
    if (known !== undefined && claim.term === known.body.term && this.#leading) {
      // Split brain: another planner claimed our term and we outrank it. It steps down when it hears
      // us; we move to a fresh term so commands it issued under the shared term are fenced.
      this.#init.counters.increment('election.split-brain')
      this.#init.events.push({
        level: 'warn',
        type: 'planner.leader.conflict',
        message: `${claim.leader} also claimed term ${claim.term}; this node outranks it and claims a new term`,
        peer: claim.leader,
      })
      this.#leading = false
      void this.#claim('split brain')
      return 'accepted'
    }
    this.#init.counters.increment('election.ignored.stale-term')
    return 'ignored'
  }

  #refused(reason: LeaderAnnouncementRefusal, detail: string): void {
    this.#init.counters.increment(`election.refused.${reason}`)
    this.#init.log(`refused a leader announcement (${reason}): ${detail}`)
    this.#init.events.push({
      level: 'warn',
      type: `planner.leader.refused.${reason}`,
      message: `leader announcement refused: ${detail}`,
    })
  }

  #notifyIfChanged(): void {
    const current = this.leader()
    const previous = this.#lastNotified
    if (current?.deviceId === previous?.deviceId && current?.term === previous?.term) return
    this.#lastNotified = current
    this.#init.events.push(
      current === undefined
        ? {
            level: 'warn',
            type: 'planner.leader',
            message: `no live planner leader (last: ${previous?.deviceId ?? 'none'} at term ${previous?.term ?? this.currentTerm() ?? 0})`,
          }
        : {
            level: 'info',
            type: 'planner.leader',
            message: `planner leader ${current.deviceId === this.#init.deviceId ? 'is this node' : current.deviceId} at term ${current.term}`,
            peer: current.deviceId,
          },
    )
    for (const listener of this.#listeners) listener(current)
  }

  /** Resolves true once the highest claim is on disk; false (counted, logged) if it could not be. */
  #persist(): Promise<boolean> {
    const highest = this.#known
    if (highest === undefined) return this.#writes
    this.#writes = this.#writes
      .then(() =>
        writeJsonAtomic(this.#path, {
          version: 1,
          highest,
          chain: this.#chain,
          ...(this.#reset === undefined || this.#reset.term < highest.body.term
            ? {}
            : { resetTo: this.#reset }),
        } satisfies LeaderTermFile),
      )
      .then(
        () => true,
        (error: Error) => {
          this.#init.counters.increment('election.persist.failed')
          this.#init.log(`could not persist the leader term: ${error.message}`)
          return false
        },
      )
    return this.#writes
  }
}

export async function createPlannerElection(init: PlannerElectionInit): Promise<PlannerElection> {
  return PlannerElection.open(init)
}
