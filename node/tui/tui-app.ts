/**
 * The terminal UI drawn with Ink: a header (node, mesh, planner mode), peers and links, alerts,
 * proposals awaiting a decision, live frames, the world summary, a chat line to the planner and
 * the key line. Written with `React.createElement` (the `h` alias), not JSX: Node runs this file by
 * type stripping, which does not transform JSX, and the repository's JSX setting belongs to the
 * Solid console. Keys and state live in tui-model.ts; this file only draws and runs actions.
 */
import { Box, Text, useApp, useInput, useStdout } from 'ink'
import { createElement as h, type ReactElement, useCallback, useEffect, useRef, useState } from 'react'
import type { ProposalRecordWire } from '../../protocol/rpc/methods.ts'
import { TUI_POLL_INTERVAL_MS, TUI_TWO_COLUMN_MIN_WIDTH } from './constants.ts'
import {
  bodyRows,
  confirmationPrompt,
  describeAlert,
  describeFrame,
  describePeer,
  describePlanner,
  describeProposal,
  HELP_LINES,
  INITIAL_UI_STATE,
  type Part,
  paneContentRows,
  pendingProposals,
  reduceKey,
  type TuiAction,
  type TuiSnapshot,
  type TuiUiState,
} from './tui-model.ts'
import type { TuiSource } from './tui-source.ts'

export interface TuiAppProps {
  readonly source: TuiSource
  readonly url: string
  readonly pollIntervalMs?: number
}

/** The terminal's size, following resizes (SIGWINCH reaches Ink's stdout as `resize`). */
function useTerminalSize(): { columns: number; rows: number } {
  const { stdout } = useStdout()
  const read = useCallback(
    () => ({ columns: stdout.columns > 0 ? stdout.columns : 80, rows: stdout.rows > 0 ? stdout.rows : 24 }),
    [stdout],
  )
  const [size, setSize] = useState(read)
  useEffect(() => {
    const onResize = () => setSize(read())
    stdout.on('resize', onResize)
    return () => {
      stdout.off('resize', onResize)
    }
  }, [stdout, read])
  return size
}

function lines<T>(value: Part<readonly T[]> | undefined, describe: (item: T) => string, empty: string) {
  if (value === undefined) return ['…']
  if (!value.ok) return [`unavailable: ${value.error}`]
  return value.value.length === 0 ? [empty] : value.value.map(describe)
}

function Pane(props: {
  title: string
  rows: number
  width?: number | string
  lines: readonly string[]
  selected?: number
}): ReactElement {
  const shown = props.lines.slice(0, props.rows)
  return h(
    Box,
    {
      flexDirection: 'column',
      borderStyle: 'single',
      height: props.rows + 3,
      overflow: 'hidden',
      ...(props.width === undefined ? { flexGrow: 1 } : { width: props.width }),
    },
    h(Text, { bold: true, wrap: 'truncate-end' }, props.title),
    ...shown.map((line, index) =>
      h(
        Text,
        { key: index, wrap: 'truncate-end', inverse: props.selected === index },
        props.selected === undefined ? line : `${props.selected === index ? '>' : ' '} ${line}`,
      ),
    ),
  )
}

/** Reads the node now and every interval; a read still running skips the next tick. */
function usePolledSnapshot(source: TuiSource, intervalMs: number) {
  const [snapshot, setSnapshot] = useState<TuiSnapshot | undefined>(undefined)
  const polling = useRef(false)
  const poll = useCallback(async () => {
    if (polling.current) return
    polling.current = true
    try {
      setSnapshot(await source.snapshot())
    } finally {
      polling.current = false
    }
  }, [source])
  useEffect(() => {
    void poll()
    const timer = setInterval(() => void poll(), intervalMs)
    return () => clearInterval(timer)
  }, [poll, intervalMs])
  return { snapshot, poll }
}

function startedLine(action: Exclude<TuiAction, { kind: 'quit' }>): string {
  if (action.kind === 'decide')
    return `${action.decision === 'approve' ? 'approving' : 'rejecting'} ${action.id}…`
  return action.kind === 'ask' ? `asking the planner: ${action.text}` : 'EMERGENCY STOP sent…'
}

function perform(source: TuiSource, action: Exclude<TuiAction, { kind: 'quit' }>): Promise<string> {
  if (action.kind === 'decide') return source.decide(action.id, action.decision)
  return action.kind === 'ask' ? source.ask(action.text) : source.estop()
}

/** Runs an action; the message line says it started, then how it ended. */
function useActions(source: TuiSource, poll: () => Promise<void>) {
  const { exit } = useApp()
  const [message, setMessage] = useState('connected; ? for help')
  const run = useCallback(
    (action: TuiAction) => {
      if (action.kind === 'quit') return exit()
      setMessage(startedLine(action))
      void perform(source, action).then((line) => {
        setMessage(line)
        void poll()
      })
    },
    [source, exit, poll],
  )
  return { message, run }
}

function headerLine(snapshot: TuiSnapshot | undefined, url: string): string {
  const status = snapshot?.status
  const node =
    status?.ok === true ? `${status.value.name} (${status.value.role}) · mesh ${status.value.meshName}` : url
  const planner =
    snapshot === undefined ? '…' : snapshot.planner.ok ? describePlanner(snapshot.planner.value) : 'none'
  return `${node} · planner ${planner}`
}

function proposalLines(
  snapshot: TuiSnapshot | undefined,
  pending: readonly ProposalRecordWire[],
  now: number,
): string[] {
  if (snapshot === undefined) return ['…']
  if (!snapshot.proposals.ok) return [`unavailable: ${snapshot.proposals.error}`]
  return pending.length === 0
    ? ['none awaiting a decision']
    : pending.map((record) => describeProposal(record, now))
}

/** The four panes, in two columns from TUI_TWO_COLUMN_MIN_WIDTH, else stacked (proposals first). */
function Body(props: {
  snapshot: TuiSnapshot | undefined
  pending: readonly ProposalRecordWire[]
  selected: number
  columns: number
  height: number
}): ReactElement {
  const { snapshot, pending, height } = props
  const now = snapshot?.at ?? Date.now()
  const twoColumns = props.columns >= TUI_TWO_COLUMN_MIN_WIDTH
  // Stacked: four panes share the body, each with its border and title (3 rows).
  const stacked = Math.max(Math.floor(height / 4) - 3, 1)
  const sizes = twoColumns ? paneContentRows(height) : { top: stacked, bottom: stacked }
  const connections = snapshot?.status.ok === true ? snapshot.status.value.connections : []
  const peers = h(Pane, {
    key: 'peers',
    title: 'Peers & links',
    rows: sizes.top,
    lines: lines(snapshot?.peers, (peer) => describePeer(peer, connections), 'no peers'),
  })
  const alerts = h(Pane, {
    key: 'alerts',
    title: 'Alerts',
    rows: sizes.bottom,
    lines: lines(snapshot?.alerts, describeAlert, 'no alerts'),
  })
  const proposals = h(Pane, {
    key: 'proposals',
    title: `Proposals awaiting decision (${pending.length}) · a approve · r reject`,
    rows: sizes.top,
    lines: proposalLines(snapshot, pending, now),
    ...(pending.length > 0 ? { selected: Math.min(props.selected, pending.length - 1) } : {}),
  })
  const frames = h(Pane, {
    key: 'frames',
    title: 'Live frames',
    rows: sizes.bottom,
    lines: lines(snapshot?.frames, (frame) => describeFrame(frame, now), 'no frames yet'),
  })
  if (!twoColumns) return h(Box, { flexDirection: 'column', height }, proposals, peers, alerts, frames)
  return h(
    Box,
    { flexDirection: 'row', height },
    h(Box, { flexDirection: 'column', width: '45%' }, peers, alerts),
    h(Box, { flexDirection: 'column', flexGrow: 1 }, proposals, frames),
  )
}

function KeyLine(props: { prompt: string | undefined }): ReactElement {
  if (props.prompt !== undefined)
    return h(Text, { wrap: 'truncate-end', color: 'yellow', bold: true }, props.prompt)
  return h(
    Text,
    { wrap: 'truncate-end', dimColor: true },
    '↑↓ select  a approve  r reject  / ask  ! STOP  ? help  q quit',
  )
}

export function TuiApp(props: TuiAppProps): ReactElement {
  const { columns, rows } = useTerminalSize()
  const { snapshot, poll } = usePolledSnapshot(props.source, props.pollIntervalMs ?? TUI_POLL_INTERVAL_MS)
  const { message, run } = useActions(props.source, poll)
  const [ui, setUi] = useState<TuiUiState>(INITIAL_UI_STATE)
  const pending = snapshot?.proposals.ok === true ? pendingProposals(snapshot.proposals.value) : []
  // Keys may arrive faster than React re-renders: each one reads the state the previous one left.
  const latest = useRef({ ui, pending })
  latest.current.pending = pending
  useInput((input, key) => {
    const outcome = reduceKey(latest.current.ui, input, key, latest.current.pending)
    latest.current.ui = outcome.state
    setUi(outcome.state)
    if (outcome.action !== undefined) run(outcome.action)
  })

  const height = bodyRows(rows)
  const summary =
    snapshot === undefined ? '…' : snapshot.summary.ok ? snapshot.summary.value : snapshot.summary.error
  return h(
    Box,
    { flexDirection: 'column', width: columns, height: rows },
    h(Text, { bold: true, wrap: 'truncate-end' }, headerLine(snapshot, props.url)),
    ui.mode.kind === 'help'
      ? h(Pane, { title: 'Keys (any key closes)', rows: height - 3, lines: HELP_LINES })
      : h(Body, { snapshot, pending, selected: ui.selected, columns, height }),
    h(Text, { wrap: 'truncate-end' }, `World: ${summary.replace(/\s+/g, ' ')}`),
    ui.mode.kind === 'chat'
      ? h(Text, { wrap: 'truncate-start' }, `ask the planner> ${ui.mode.draft}█`)
      : h(Text, { wrap: 'truncate-end' }, message),
    h(KeyLine, { prompt: confirmationPrompt(ui.mode, pending) }),
  )
}
