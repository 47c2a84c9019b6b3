/**
 * The console's session with its command center, composed from its parts: the stored records
 * (console-storage), the operator key, console-config, the pairing (certificate, ICE servers), the
 * browser's libp2p node, and — while paired — a mesh connection (link, gossip, field links, polling;
 * mesh-connection.ts) made anew at each pairing and disposed when the pairing is dropped. The views
 * read its store and call its actions; nothing else in the console talks to the mesh.
 */
import { type Accessor, createMemo, createRoot, createSignal, onCleanup } from 'solid-js'
import { createStore, reconcile, unwrap } from 'solid-js/store'
import type { ConsoleConfig } from '../../../protocol/console-config.ts'
import type { ProposalRecordWire } from '../../../protocol/rpc/methods.ts'
import type { OperatorCertificate } from '../../../protocol/safety/operator-certificate.ts'
import { type ConsoleNode, createConsoleNode } from '../mesh/browser-node.ts'
import type { LinkState } from '../mesh/command-center-link.ts'
import { type CommandCenterRpc, createCommandCenterRpc } from '../mesh/command-center-rpc.ts'
import { loadOrCreateOperatorKey, type OperatorKey } from '../mesh/operator-key.ts'
import { type ConsoleStorage, createConsoleStorage } from '../storage/console-storage.ts'
import { type AlertAcks, loadAlertAcks } from './alert-acks.ts'
import { type Alert, deriveAlerts, unacknowledged } from './alerts.ts'
import { createRefusal } from './command-center-refusal.ts'
import { loadConsoleConfig } from './console-config.ts'
import { createDecisions, type Decision, type DecisionOutcome, type Decisions } from './decisions.ts'
import type { FieldLink } from './field-links.ts'
import { createMeshConnection, type MeshConnection } from './mesh-connection.ts'
import { ProposalEdits, refreshProposals } from './mesh-polling.ts'
import { emptyMeshState, type MeshState, nameOfPeer } from './mesh-state.ts'
import { CERTIFICATE_EXPIRED, createOperatorPairing, type OperatorPairing } from './operator-pairing.ts'
import { createPlannerChat, type PlannerChat } from './planner-chat.ts'
import { createSafeState, type SafeState, type SafeStateTarget } from './safe-state.ts'

export type Phase =
  | { readonly kind: 'loading' }
  | { readonly kind: 'pairing'; readonly reason?: string }
  | { readonly kind: 'ready' }
  | { readonly kind: 'failed'; readonly message: string }

export const CERTIFICATE_FORGOTTEN = 'this console forgot its certificate'

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
  decide(record: ProposalRecordWire, decision: Decision, reason?: string): Promise<DecisionOutcome>
  estop(reason: string): Promise<DecisionOutcome>
  cancel(record: ProposalRecordWire, reason?: string): Promise<DecisionOutcome>
  ask(text: string): Promise<void>
  reconnectNow(): void
  forget(): Promise<void>
  /** Threshold crossings and refusals this operator has not acknowledged, newest first. */
  readonly alerts: Accessor<readonly Alert[]>
  readonly acknowledgedAlerts: Accessor<number>
  acknowledgeAlerts(ids: readonly string[]): Promise<void>
  /** Proposes an actuator's safe-state operation (the Twin's "close now"), through the policy. */
  moveToSafeState(target: SafeStateTarget): Promise<DecisionOutcome>
  /** Ends the session: the mesh connection, the node. */
  dispose(): void
}

/** What the session holds once it has loaded. */
interface OpenConsole {
  readonly storage: ConsoleStorage
  readonly key: OperatorKey
  readonly config: ConsoleConfig
  readonly pairing: OperatorPairing
  readonly node: ConsoleNode
  readonly rpc: CommandCenterRpc
  readonly decisions: Decisions
  readonly chat: PlannerChat
  readonly acks: AlertAcks
  readonly safeState: SafeState
}

const STOPPED: LinkState = { kind: 'stopped' }
const NOT_PAIRED: DecisionOutcome = { ok: false, message: 'this console is not paired' }

export function createConsoleSession(): ConsoleSession {
  return createRoot((dispose) => composeSession(dispose))
}

function composeSession(disposeRoot: () => void): ConsoleSession {
  const [phase, setPhase] = createSignal<Phase>({ kind: 'loading' })
  const [opened, setOpened] = createSignal<OpenConsole>()
  const [connection, setConnection] = createSignal<MeshConnection>()
  const [state, setState] = createStore<MeshState>(emptyMeshState())
  const proposalEdits = new ProposalEdits()
  const refusal = createRefusal()
  const link = createMemo(() => connection()?.link() ?? STOPPED)
  const fieldLinks = createMemo(() => connection()?.fieldLinks() ?? [])
  const framesFrom = createMemo(() => connection()?.framesFrom() ?? {})
  const allAlerts = createMemo(() => deriveAlerts(state))
  const alerts = createMemo(() => unacknowledged(allAlerts(), opened()?.acks.acknowledged() ?? new Set()))

  const open = async () => {
    const storage = await createConsoleStorage()
    const key = await loadOrCreateOperatorKey(storage.db)
    const snapshot = await storage.snapshot()
    if (snapshot !== undefined) setState(reconcile(snapshot))
    const config = await loadConsoleConfig(storage)
    const pairing = await createOperatorPairing(storage, config, key)
    const node = await createConsoleNode(key.privateKey, config, pairing.iceServers)
    const rpc = createCommandCenterRpc(node, config)
    const decisions = createDecisions({
      rpc,
      key,
      certificate: pairing.certificate,
      link,
      setState,
      proposalEdits,
      refusal,
    })
    const chat = createPlannerChat({
      rpc,
      setState,
      nameOfPeer: (deviceId) => nameOfPeer(state, deviceId),
      refreshProposals: () => refreshProposals(rpc, setState, proposalEdits),
    })
    const acks = await loadAlertAcks(storage, key.operatorId)
    const safeState = createSafeState({ rpc, setState, proposalEdits, refusal })
    const loaded: OpenConsole = { storage, key, config, pairing, node, rpc, decisions, chat, acks, safeState }
    setOpened(loaded)
    if (pairing.certificate() === undefined) {
      const reason = pairing.storedProblem
      setPhase({ kind: 'pairing', ...(reason === undefined ? {} : { reason }) })
      return
    }
    connect(loaded)
  }

  const connect = (loaded: OpenConsole) => {
    if (connection() !== undefined) return
    setPhase({ kind: 'ready' })
    setConnection(
      createMeshConnection({
        node: loaded.node,
        config: loaded.config,
        rpc: loaded.rpc,
        state,
        setState,
        proposalEdits,
        refusal,
        pairing: loaded.pairing,
        saveSnapshot: () => loaded.storage.saveSnapshot(unwrap(state)),
        // Deferred: the expiry is noticed inside the connection's own poll, which must not dispose
        // its root under itself.
        onExpired: () => queueMicrotask(() => void dropPairing(CERTIFICATE_EXPIRED)),
      }),
    )
  }

  /** Back to the pairing screen: the connection disposed whole, the certificate and ICE servers
   * forgotten, every connection closed (the command center refuses the key from now on anyway). */
  const dropPairing = async (reason: string) => {
    const current = connection()
    setConnection(undefined)
    current?.dispose()
    const loaded = opened()
    await loaded?.pairing.forget()
    for (const open of loaded?.node.getConnections() ?? []) await open.close().catch(() => {})
    // Paired again while the connections were closing: stay on the views.
    if (connection() === undefined) setPhase({ kind: 'pairing', reason })
  }

  onCleanup(() => {
    connection()?.dispose()
    void opened()?.node.stop()
  })

  open().catch((error: Error) => setPhase({ kind: 'failed', message: error.message }))

  return {
    phase,
    link,
    state,
    config: () => opened()?.config,
    certificate: () => opened()?.pairing.certificate(),
    operatorId: () => opened()?.key.operatorId,
    refusal: refusal.message,
    fieldLinks,
    framesFrom,
    async pair(code) {
      const loaded = opened()
      if (loaded === undefined) throw new Error('the console is still loading')
      await loaded.pairing.pair(loaded.node, code)
      refusal.clear()
      connect(loaded)
    },
    decide: async (record, decision, reason) =>
      (await opened()?.decisions.decide(record, decision, reason)) ?? NOT_PAIRED,
    estop: async (reason) => (await opened()?.decisions.estop(reason)) ?? NOT_PAIRED,
    cancel: async (record, reason) => (await opened()?.decisions.cancel(record, reason)) ?? NOT_PAIRED,
    ask: async (text) => {
      await opened()?.chat.ask(text)
    },
    reconnectNow: () => connection()?.reconnectNow(),
    forget: () => dropPairing(CERTIFICATE_FORGOTTEN),
    alerts,
    acknowledgedAlerts: () => allAlerts().length - alerts().length,
    acknowledgeAlerts: async (ids) => {
      await opened()?.acks.acknowledge(ids)
    },
    moveToSafeState: async (target) =>
      (await opened()?.safeState.moveToSafeState(target)) ?? {
        ok: false,
        message: 'this console is not paired',
      },
    dispose: disposeRoot,
  }
}
