/**
 * Second paths, straight to the field nodes console-config lists (docs/console.md, "WAN"): one
 * WebRTC link per field node through the relay, so their frames keep arriving while the command
 * center is unreachable. What the operator sees is derived from the links' states and the frame
 * counts; the links stop on cleanup.
 */
import { type Accessor, createMemo, onCleanup } from 'solid-js'
import type { ConsoleConfig } from '../../../protocol/console-config.ts'
import type { ConsoleNode } from '../mesh/browser-node.ts'
import { createPeerLink, type LinkState } from '../mesh/command-center-link.ts'

/** A WebRTC link to a field node through the relay (the WAN path), and how many accepted frames
 * arrived over it: gossip names the peer that handed each message over. */
export interface FieldLink {
  readonly deviceId: string
  readonly name: string
  readonly state: LinkState
  readonly frames: number
}

type FieldNode = ConsoleConfig['fieldNodes'][number]

export interface FieldLinks {
  readonly links: Accessor<readonly FieldLink[]>
  start(): void
}

export function createFieldLinks(
  node: ConsoleNode,
  fieldNodes: readonly FieldNode[],
  framesFrom: Accessor<Readonly<Record<string, number>>>,
): FieldLinks {
  const handles = fieldNodes.map((fieldNode) => createPeerLink(node, fieldNode, fieldNode.name))
  onCleanup(() => {
    for (const handle of handles) handle.stop()
  })
  const links = createMemo(() =>
    fieldLinkViews(
      fieldNodes,
      handles.map((handle) => handle.state()),
      framesFrom(),
    ),
  )
  return {
    links,
    start() {
      for (const handle of handles) handle.start()
    },
  }
}

export function fieldLinkViews(
  fieldNodes: readonly Pick<FieldNode, 'deviceId' | 'name'>[],
  states: readonly LinkState[],
  framesFrom: Readonly<Record<string, number>>,
): FieldLink[] {
  return fieldNodes.map((fieldNode, index) => ({
    deviceId: fieldNode.deviceId,
    name: fieldNode.name,
    state: states[index] ?? { kind: 'stopped' },
    frames: framesFrom[fieldNode.deviceId] ?? 0,
  }))
}
