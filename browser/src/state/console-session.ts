/**
 * The console's session with its command center: loads the operator key, certificate, config and
 * last snapshot from IndexedDB, pairs, keeps the link up, polls the command center's RPC methods,
 * takes live frames from gossip, and signs the operator's decisions. The views read its store and
 * call its actions; nothing else in the console talks to the mesh.
 */

import { TopicValidatorResult } from '@libp2p/gossipsub'
import { peerIdFromString } from '@libp2p/peer-id'
import { multiaddr } from '@multiformats/multiaddr'
import { type Accessor, createEffect, createRoot, createSignal } from 'solid-js'
import { createStore, reconcile, unwrap } from 'solid-js/store'
import {
  CONSOLE_CONFIG_PATH,
  type ConsoleConfig,
  consoleConfigSchema,
} from '../../../protocol/console-config.ts'
import { decodeBatch } from '../../../protocol/context/batch.ts'
import type { Frame } from '../../../protocol/context/frame.ts'
import { ClawMeshError } from '../../../protocol/errors.ts'
import { ICE_SERVERS_MAX, type IceServer, iceServerSchema } from '../../../protocol/ice-servers.ts'
import { contextTopic, rpcProtocolId } from '../../../protocol/mesh.ts'
import { requestPairing } from '../../../protocol/pairing.ts'
import { callRpc } from '../../../protocol/rpc/client.ts'
import type { ProposalRecordWire } from '../../../protocol/rpc/methods.ts'
import { type OperatorLink, signApproval } from '../../../protocol/safety/approval.ts'
import {
  type OperatorCertificate,
  operatorCertificateSchema,
} from '../../../protocol/safety/operator-certificate.ts'
import { classifyOperatorLink } from '../../../protocol/safety/operator-link.ts'
import { type ConsoleNode, createConsoleNode } from '../mesh/browser-node.ts'
import {
  type CommandCenterLink,
  createCommandCenterLink,
  createPeerLink,
  type LinkState,
} from '../mesh/command-center-link.ts'
import { loadOrCreateOperatorKey, type OperatorKey } from '../mesh/operator-key.ts'
import { askPlanner, plannerStatus } from '../mesh/planner-client.ts'
import { type ConsoleDb, openConsoleDb } from '../storage/console-db.ts'
import {
  type ChatEntry,
  emptyMeshState,
  FRAME_RATE_WINDOW_MS,
  MAX_CHAT,
  MAX_EVENTS,
  type MeshState,
  mergeObservations,
  observationOf,
  siteBindings,
} from './mesh-state.ts'

/** RPC polling: often enough that a proposal or a peer going down shows within seconds, rarely
 * enough that a tablet's radio and the command center are not kept busy. */
export const POLL_INTERVAL_MS = 2_000
/** Health and the observation backfill change slowly or arrive by gossip anyway. */
export const SLOW_POLL_INTERVAL_MS = 5_000
/** How often the last known state is written to IndexedDB while fresh. */
export const SNAPSHOT_INTERVAL_MS = 5_000
/** How far back the first observation backfill reaches (the charts' window). */
export const BACKFILL_WINDOW_MS = 10 * 60_000

export type Phase =
  | { readonly kind: 'loading' }
  | { readonly kind: 'pairing'; readonly reason?: string }
  | { readonly kind: 'ready' }
  | { readonly kind: 'failed'; readonly message: string }

/** A WebRTC link to a field node through the relay (the WAN path), and how many accepted frames
 * arrived over it: gossip names the peer that handed each message over. */
export interface FieldLink {
  readonly deviceId: string
  readonly name: string
  readonly state: LinkState
  readonly frames: number
}

export interface DecisionOutcome {
  readonly ok: boolean
  readonly message: string
}

export interface ConsoleSession {
  readonly phase: Accessor<Phase>
  readonly link: Accessor<LinkState>
  readonly state: MeshState
  readonly config: Accessor<ConsoleConfig | undefined>
  readonly certificate: Accessor<OperatorCertificate | undefined>
  readonly operatorId: Accessor<string | undefined>
  /** The command center refused this console (e.g. its certificate expired there). */
  readonly refusal: Accessor<string | undefined>
  /** Second paths, straight to the field nodes console-config lists (docs/console.md, "WAN"). */
  readonly fieldLinks: Accessor<readonly FieldLink[]>
  /** Accepted frames by the peer that forwarded them (command center, field node). */
  readonly framesFrom: Accessor<Readonly<Record<string, number>>>
  pair(code: string): Promise<void>
  decide(
    record: ProposalRecordWire,
    decision: 'approve' | 'reject',
    reason?: string,
  ): Promise<DecisionOutcome>
  ask(text: string): Promise<void>
  reconnectNow(): void
  forget(): Promise<void>
}

export function createConsoleSession(): ConsoleSession {
  const [phase, setPhase] = createSignal<Phase>({ kind: 'loading' })
  const [config, setConfig] = createSignal<ConsoleConfig>()
  const [certificate, setCertificate] = createSignal<OperatorCertificate>()
  const [operatorId, setOperatorId] = createSignal<string>()
  const [refusal, setRefusal] = createSignal<string>()
  const [linkState, setLinkState] = createSignal<LinkState>({ kind: 'stopped' })
  const [state, setState] = createStore<MeshState>(emptyMeshState())
  const [framesFrom, setFramesFrom] = createSignal<Record<string, number>>({})
  const [fieldLinks, setFieldLinks] = createSignal<readonly FieldLink[]>([])
  let fieldLinkHandles: CommandCenterLink[] = []
  let db: ConsoleDb | undefined
  let key: OperatorKey | undefined
  let node: ConsoleNode | undefined
  let link: CommandCenterLink | undefined
  let running = false
  let lastEventSeq: number | undefined
  let lastSnapshotAt = 0
  /** What WebRTC dials with: console-config's STUN servers until the command center hands this
   * paired console the full list (TURN credentials included) over the authenticated link. */
  let iceServers: readonly IceServer[] = []

  const rpcTarget = () => peerIdFromString(config()!.commandCenter.deviceId)
  const protocol = () => rpcProtocolId(config()!.generation)

  const init = async () => {
    db = await openConsoleDb()
    key = await loadOrCreateOperatorKey(db)
    setOperatorId(key.operatorId)
    const snapshot = await db.get('snapshot')
    if (snapshot !== undefined && typeof snapshot === 'object')
      setState(reconcile({ ...emptyMeshState(), ...(snapshot as MeshState) }))
    const loaded = await loadConfig(db)
    setConfig(loaded)
    const stored = operatorCertificateSchema.safeParse(await db.get('operator-certificate'))
    const given = iceServerSchema
      .array()
      .max(ICE_SERVERS_MAX)
      .safeParse(await db.get('ice-servers'))
    iceServers = stored.success && given.success ? given.data : loaded.iceServers
    node = await createConsoleNode(key.privateKey, loaded, () => iceServers)
    const link$ = createCommandCenterLink(node, loaded)
    link = link$
    // The link's signal is mirrored so the views can read it before the link exists; a fresh
    // connection is polled at once rather than at the next tick of the loop.
    createRoot(() =>
      createEffect(() => {
        const current = link$.state()
        setLinkState(current)
        if (current.kind === 'connected' && running) {
          void pollNow()
        }
      }),
    )
    const problem = stored.success ? certificateProblem(stored.data, loaded, key.operatorId) : undefined
    if (!stored.success || problem !== undefined) {
      setPhase({ kind: 'pairing', ...(problem === undefined ? {} : { reason: problem }) })
      return
    }
    setCertificate(stored.data)
    startRunning()
  }

  const startRunning = () => {
    if (running || node === undefined || link === undefined) return
    running = true
    setPhase({ kind: 'ready' })
    subscribeFrames()
    link.start()
    startFieldLinks()
    void pollLoop()
    void slowPollLoop()
  }

  /** Always a second path when console-config lists field nodes: their frames then arrive straight
   * over WebRTC, and keep arriving while the command center is unreachable. */
  const startFieldLinks = () => {
    const fieldNodes = config()?.fieldNodes ?? []
    fieldLinkHandles = fieldNodes.map((fieldNode) => createPeerLink(node!, fieldNode, fieldNode.name))
    const render = () =>
      setFieldLinks(
        fieldNodes.map((fieldNode, index) => ({
          deviceId: fieldNode.deviceId,
          name: fieldNode.name,
          state: fieldLinkHandles[index]!.state(),
          frames: framesFrom()[fieldNode.deviceId] ?? 0,
        })),
      )
    createRoot(() => createEffect(render))
    for (const handle of fieldLinkHandles) handle.start()
  }

  const subscribeFrames = () => {
    const mesh = config()!
    const topic = contextTopic(mesh)
    const pubsub = node!.services.pubsub
    pubsub.topicValidators.set(topic, async (forwarder, message) => {
      const decoded = await decodeBatch(message.data, {
        meshName: mesh.meshName,
        generation: mesh.generation,
        now: Date.now(),
        isTrustedOrigin: isTrustedOrigin,
      })
      if (decoded.verdict === 'reject') return TopicValidatorResult.Reject
      const frames = decoded.frames.flatMap((verdict) =>
        verdict.verdict === 'accept' ? [verdict.frame] : [],
      )
      if (frames.length > 0) {
        const from = forwarder.toString()
        setFramesFrom((current) => ({ ...current, [from]: (current[from] ?? 0) + frames.length }))
        ingestFrames(frames)
      }
      return frames.length > 0 ? TopicValidatorResult.Accept : TopicValidatorResult.Ignore
    })
    pubsub.subscribe(topic)
  }

  /** The console accepts frames whose origin its command center trusts (and the command center). */
  const isTrustedOrigin = (origin: string) =>
    origin === config()?.commandCenter.deviceId ||
    state.peers.some((peer) => peer.deviceId === origin && peer.trusted)

  /** A peer's name as the command center knows it (itself included), or its device ID. */
  const nameOfPeer = (deviceId: string) =>
    deviceId === state.status?.deviceId
      ? state.status.name
      : (state.peers.find((peer) => peer.deviceId === deviceId)?.name ?? deviceId)

  const ingestFrames = (frames: readonly Frame[]) => {
    const now = Date.now()
    const bindings = siteBindings(config()?.site)
    const points = frames.flatMap((frame) => {
      const point = observationOf(frame, bindings)
      return point === undefined ? [] : [point]
    })
    setState('observations', (current) => mergeObservations(current, points))
    setState('frameArrivals', (current) => [
      ...current.filter((arrival) => arrival.at >= now - FRAME_RATE_WINDOW_MS),
      ...frames.map((frame) => ({ at: now, kind: frame.kind })),
    ])
    if (frames.some((frame) => ['proposal', 'approval', 'execution'].includes(frame.kind)))
      void refreshProposals()
  }

  const connected = () => linkState().kind === 'connected'

  const noteRefusal = (error: unknown) => {
    if (error instanceof ClawMeshError && (error.code === 'UNAUTHORIZED' || error.code === 'FORBIDDEN'))
      setRefusal(`the command center refused this console: ${error.message}`)
  }

  const refreshProposals = async () => {
    const { proposals } = await callRpc(node!, rpcTarget(), protocol(), 'proposal.list', {})
    setState('proposals', reconcile(proposals, { key: 'hash' }))
  }

  const pollOnce = async () => {
    const target = rpcTarget()
    const [status, peers, proposals, events, planner] = await Promise.allSettled([
      callRpc(node!, target, protocol(), 'mesh.status', {}),
      callRpc(node!, target, protocol(), 'mesh.peers', {}),
      callRpc(node!, target, protocol(), 'proposal.list', {}),
      callRpc(
        node!,
        target,
        protocol(),
        'mesh.events',
        lastEventSeq === undefined ? { limit: 50 } : { afterSeq: lastEventSeq },
      ),
      plannerStatus(node!, target, protocol()),
    ])
    if (status.status === 'rejected') {
      noteRefusal(status.reason)
      return
    }
    setRefusal(undefined)
    setState('status', reconcile(status.value))
    if (peers.status === 'fulfilled') setState('peers', reconcile(peers.value.peers, { key: 'deviceId' }))
    if (proposals.status === 'fulfilled')
      setState('proposals', reconcile(proposals.value.proposals, { key: 'hash' }))
    if (events.status === 'fulfilled') {
      lastEventSeq = events.value.lastSeq
      if (events.value.events.length > 0)
        setState('events', (current) => [...current, ...events.value.events].slice(-MAX_EVENTS))
    }
    if (planner.status === 'fulfilled') {
      setState('planner', reconcile(planner.value))
      setState('plannerUnavailable', undefined)
    } else {
      const error = planner.reason
      setState('planner', undefined)
      setState(
        'plannerUnavailable',
        error instanceof ClawMeshError && error.code === 'UNKNOWN_METHOD'
          ? 'planner not available on this command center'
          : `planner status unavailable: ${(error as Error).message}`,
      )
    }
    setState('freshAt', Date.now())
  }

  const slowPollOnce = async () => {
    const target = rpcTarget()
    const since = state.observations.at(-1)?.at ?? Date.now() - BACKFILL_WINDOW_MS
    const [health, world] = await Promise.allSettled([
      callRpc(node!, target, protocol(), 'mesh.health', {}),
      callRpc(node!, target, protocol(), 'mesh.world.query', { kind: 'observation', since, limit: 1_000 }),
    ])
    if (health.status === 'fulfilled') setState('health', reconcile(health.value))
    if (world.status === 'fulfilled') {
      const bindings = siteBindings(config()?.site)
      const points = world.value.frames.flatMap((frame) => {
        const point = observationOf(frame as unknown as Frame, bindings)
        return point === undefined ? [] : [point]
      })
      setState('observations', (current) => mergeObservations(current, points))
    }
    await saveSnapshot()
  }

  const checkCertificate = () => {
    const current = certificate()
    if (current !== undefined && Date.now() >= current.body.expiresAt) {
      void stopForRepair('your operator certificate expired: pair this console again')
      return false
    }
    return true
  }

  /** TURN credentials go to paired operators only, over the Noise-authenticated link: fetched at
   * each (re)connection, kept for the next start (a WAN-only tablet may need them to connect). */
  const refreshIceServers = async () => {
    const given = await callRpc(node!, rpcTarget(), protocol(), 'console.iceServers', {})
    iceServers = given.iceServers
    await db?.put('ice-servers', given.iceServers)
  }

  let polling = false
  const pollNow = async () => {
    if (polling || !checkCertificate()) return
    polling = true
    try {
      await Promise.all([
        pollOnce().catch(noteRefusal),
        slowPollOnce().catch(noteRefusal),
        refreshIceServers().catch(noteRefusal),
      ])
    } finally {
      polling = false
    }
  }

  const pollLoop = async () => {
    while (running) {
      if (connected() && !polling && checkCertificate()) await pollOnce().catch(noteRefusal)
      await sleep(POLL_INTERVAL_MS)
    }
  }

  const slowPollLoop = async () => {
    while (running) {
      if (connected() && certificate() !== undefined) await slowPollOnce().catch(noteRefusal)
      await sleep(SLOW_POLL_INTERVAL_MS)
    }
  }

  const saveSnapshot = async () => {
    if (db === undefined || state.freshAt === lastSnapshotAt) return
    lastSnapshotAt = state.freshAt
    await db.put('snapshot', JSON.parse(JSON.stringify(unwrap(state))))
  }

  const stopForRepair = async (reason: string) => {
    running = false
    link?.stop()
    for (const handle of fieldLinkHandles.splice(0)) handle.stop()
    setFieldLinks([])
    setCertificate(undefined)
    iceServers = config()?.iceServers ?? []
    await db?.delete('operator-certificate')
    await db?.delete('ice-servers')
    for (const connection of node?.getConnections() ?? []) await connection.close().catch(() => {})
    setPhase({ kind: 'pairing', reason })
  }

  const operatorLink = (): OperatorLink => {
    const current = linkState()
    return current.kind === 'connected' ? linkOf(current.address) : 'wan'
  }

  const session: ConsoleSession = {
    phase,
    link: linkState,
    state,
    config,
    certificate,
    operatorId,
    refusal,
    fieldLinks,
    framesFrom,
    async pair(code) {
      const mesh = config()
      if (mesh === undefined || node === undefined || key === undefined)
        throw new Error('the console is still loading')
      const answer = await requestPairing(
        node,
        mesh.commandCenter.addrs.map((address) => multiaddr(address)),
        mesh.generation,
        { code: code.trim() },
      )
      if (!answer.ok) throw new Error(`pairing refused (${answer.reason}): ${answer.message}`)
      const parsed = operatorCertificateSchema.safeParse(answer.certificate)
      if (answer.kind !== 'operator' || !parsed.success)
        throw new Error('this code pairs a device, not an operator: run `clawmesh pair --operator NAME`')
      const problem = certificateProblem(parsed.data, mesh, key.operatorId)
      if (problem !== undefined) throw new Error(problem)
      await db!.put('operator-certificate', parsed.data)
      setCertificate(parsed.data)
      setRefusal(undefined)
      startRunning()
    },
    async decide(record, decision, reason) {
      const current = certificate()
      if (current === undefined || key === undefined || node === undefined)
        return { ok: false, message: 'this console is not paired' }
      try {
        const approval = await signApproval(key.signer, {
          proposalHash: record.hash,
          decision,
          operatorCertificate: current,
          operatorLink: operatorLink(),
          at: Date.now(),
          ...(reason === undefined || reason === '' ? {} : { reason }),
        })
        const id = String((record.proposal as { id?: unknown }).id ?? record.hash)
        const result = await callRpc(
          node,
          rpcTarget(),
          protocol(),
          decision === 'approve' ? 'proposal.approve' : 'proposal.reject',
          { id, approval: approval as unknown as Record<string, unknown> },
        )
        setState('proposals', (current) =>
          current.map((entry) => (entry.hash === result.proposal.hash ? result.proposal : entry)),
        )
        return { ok: true, message: `${result.verdict}: ${result.detail}` }
      } catch (error) {
        noteRefusal(error)
        const code = error instanceof ClawMeshError ? `${error.code}: ` : ''
        return { ok: false, message: `${code}${(error as Error).message}` }
      }
    },
    async ask(text) {
      const entry = (chat: ChatEntry) => setState('chat', (current) => [...current, chat].slice(-MAX_CHAT))
      entry({ at: Date.now(), from: 'operator', text })
      try {
        const answer = await askPlanner(node!, rpcTarget(), protocol(), text)
        entry({
          at: Date.now(),
          from: 'planner',
          text: answer.answer,
          detail: `${answer.planner}${answer.ruleBased && answer.planner !== 'rule-based' ? ' (rule-based)' : ''}, answered by ${nameOfPeer(answer.answeredBy)}${
            answer.proposals.length > 0 ? `, ${answer.proposals.length} proposal(s)` : ''
          }${answer.error === undefined ? '' : ` — ${answer.error}`}`,
        })
        if (answer.proposals.length > 0) await refreshProposals().catch(() => {})
      } catch (error) {
        const unknown = error instanceof ClawMeshError && error.code === 'UNKNOWN_METHOD'
        entry({
          at: Date.now(),
          from: 'system',
          text: unknown ? 'planner not available on this command center' : (error as Error).message,
        })
      }
    },
    reconnectNow: () => link?.reconnectNow(),
    forget: async () => {
      await stopForRepair('this console forgot its certificate')
    },
  }
  init().catch((error: Error) => setPhase({ kind: 'failed', message: error.message }))
  return session
}

/** Why a stored or fresh certificate cannot be used with this command center, if it cannot. */
export function certificateProblem(
  certificate: OperatorCertificate,
  config: ConsoleConfig,
  operatorId: string,
  now: number = Date.now(),
): string | undefined {
  if (certificate.body.operatorId !== operatorId)
    return 'the stored certificate is for another operator key: pair this console again'
  if (certificate.body.issuerId !== config.commandCenter.deviceId)
    return `the stored certificate was issued by another command center: pair with ${config.commandCenter.name}`
  if (now >= certificate.body.expiresAt) return 'your operator certificate expired: pair this console again'
  return undefined
}

/** The link an approval is signed with: the one classifier every node uses (a relayed or WebRTC
 * path is the relay, loopback local, private addresses the LAN, anything else the WAN). */
export const linkOf = classifyOperatorLink

async function loadConfig(db: ConsoleDb): Promise<ConsoleConfig> {
  try {
    const response = await fetch(CONSOLE_CONFIG_PATH.replace(/^\//, './'), { cache: 'no-store' })
    if (!response.ok) throw new Error(`HTTP ${response.status}`)
    const parsed = consoleConfigSchema.parse(await response.json())
    await db.put('console-config', parsed)
    return parsed
  } catch (error) {
    const cached = consoleConfigSchema.safeParse(await db.get('console-config'))
    if (cached.success) return cached.data
    throw new Error(
      `cannot load ${CONSOLE_CONFIG_PATH} from the command center (${(error as Error).message}) and no copy is stored: open the console from the command center's address`,
    )
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms))
}
