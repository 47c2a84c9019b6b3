/**
 * Every top-level `clawmesh` command, with its one-line summary and the module that registers it.
 * `buildProgram` loads only the module of the command being run, so `clawmesh --help` and a simple
 * command no longer pay for loading libp2p, the planner and the console server (issue #22: `--help`
 * took 0.8 s). The summaries here must equal the registered descriptions: command-index.test.ts
 * loads every module and compares, so a new command that is not listed here fails a test.
 */
import type { Command } from 'commander'

export type RegisterCommands = (program: Command) => void

export interface CommandModule {
  /** Top-level commands the module registers, in help order: [name, summary]. */
  readonly commands: readonly (readonly [name: string, summary: string])[]
  readonly load: () => Promise<RegisterCommands>
}

export const COMMAND_MODULES: readonly CommandModule[] = [
  {
    commands: [
      ['init', 'set up this device: identity, node.json for a command center or a field node, pairing'],
    ],
    load: async () => (await import('./commands/init.ts')).registerInitCommand,
  },
  {
    commands: [['identity', 'show this device identity (created on first use)']],
    load: async () => (await import('./commands/identity.ts')).registerIdentityCommand,
  },
  {
    commands: [['trust', 'manage the trusted peers of this device']],
    load: async () => (await import('./commands/trust.ts')).registerTrustCommands,
  },
  {
    commands: [['start', 'start a ClawMesh node in the foreground']],
    load: async () => (await import('./commands/start.ts')).registerStartCommand,
  },
  {
    commands: [['status', 'status of a running node']],
    load: async () => (await import('./commands/status.ts')).registerStatusCommand,
  },
  {
    commands: [
      ['peers', 'peers a node knows: trust, state, role, capabilities, latency, last seen'],
      [
        'inspect',
        'libp2p-level view: connections, streams, protocols, gossipsub mesh and scores, relay reservations',
      ],
    ],
    load: async () => (await import('./commands/peers.ts')).registerPeersCommands,
  },
  {
    commands: [
      ['gateway-connect', 'check that a node answers at URL and save it as the default target of this CLI'],
      ['gateways', 'list saved gateways'],
    ],
    load: async () => (await import('./commands/gateways.ts')).registerGatewayCommands,
  },
  {
    commands: [
      ['world', 'query the world model of a node'],
      ['frames', 'live tail of frames arriving at a node (Ctrl-C to stop)'],
    ],
    load: async () => (await import('./commands/world.ts')).registerWorldCommands,
  },
  {
    commands: [['evidence', "inspect and verify this node's evidence log"]],
    load: async () => (await import('./commands/evidence.ts')).registerEvidenceCommands,
  },
  {
    commands: [
      ['proposals', 'list proposals on a command center'],
      [
        'propose',
        'propose an operation (authored by this CLI operator); e.g. propose actuator:valve:zone-2 open --arg durationSec=300',
      ],
      ['approve', "approve a proposal, signed with this CLI's operator key"],
      ['reject', "reject a proposal, signed with this CLI's operator key"],
      ['operator', 'operator certificates for people acting through this CLI'],
    ],
    load: async () => (await import('./commands/proposals.ts')).registerProposalCommands,
  },
  {
    commands: [
      [
        'estop',
        'emergency stop: drive every actuator in scope to its safe state and latch it (default --all); any certified operator may stop',
      ],
      ['proposal', 'act on one proposal'],
    ],
    load: async () => (await import('./commands/estop.ts')).registerEstopCommands,
  },
  {
    commands: [['pair', 'open a pairing window on this command center and print a one-time code']],
    load: async () => (await import('./commands/pair.ts')).registerPairCommands,
  },
  {
    commands: [
      ['demo', 'start a local demo site (relay, command center with the console, field node) until Ctrl-C'],
    ],
    load: async () => (await import('./commands/demo.ts')).registerDemoCommand,
  },
  {
    commands: [['cert', 'create the local CA and a server certificate for HTTPS/WSS, or install your own']],
    load: async () => (await import('./commands/cert.ts')).registerCertCommand,
  },
  {
    commands: [
      [
        'demo-actuate',
        'scripted safety run on a throwaway local mesh (add --llm-only to see the hard block)',
      ],
    ],
    load: async () => (await import('./commands/demo-actuate.ts')).registerDemoActuateCommand,
  },
  {
    commands: [['credential', 'manage the model provider keys of this device (never shared with the mesh)']],
    load: async () => (await import('./commands/credential.ts')).registerCredentialCommands,
  },
  {
    commands: [['ask', 'ask the planner a question or for an action (proposals it creates await approval)']],
    load: async () => (await import('./commands/ask.ts')).registerAskCommand,
  },
  {
    commands: [
      [
        'tui',
        'terminal UI: peers, links, frames, world, proposals (approve/reject), planner chat, alerts, emergency stop',
      ],
    ],
    load: async () => (await import('./commands/tui.ts')).registerTuiCommand,
  },
  {
    commands: [['planner', 'planner election maintenance']],
    load: async () => (await import('./commands/planner.ts')).registerPlannerCommands,
  },
  {
    commands: [['service', 'run clawmesh-node (or clawmesh-relay with --relay) as a systemd service']],
    load: async () => (await import('./commands/service.ts')).registerServiceCommands,
  },
  {
    commands: [
      ['doctor', "health of a node's machine and of ClawMesh on it (read-only)"],
      ['disk-investigate', 'largest directories and files under a configured path (read-only)'],
      ['security-check', 'SSH, accounts, open ports, firewall, pending updates, exposed secrets (read-only)'],
      ['analyze-logs', 'error/warning patterns of a journal unit or configured log file'],
      ['service-check', 'state, restarts and last log lines of a systemd unit'],
      [
        'list',
        'the fleet: each node with host operations, its OS, CPU, memory, disk, GPU, health, last seen',
      ],
    ],
    load: async () => (await import('./commands/host-ops.ts')).registerHostOpsCommands,
  },
  {
    commands: [
      [
        'data-clean-plan',
        'cleanup candidates (raw, intermediate, checkpoints, caches) under a configured path, final outputs kept; writes a manifest on the node (read-only)',
      ],
      [
        'hygiene-plan',
        'permission hardening, logs leaking secrets, exposed secrets: each action with its level (read-only)',
      ],
      [
        'autoheal-plan',
        'current alerts and their actions: read-only, auto-safe (L1, bounded) or needs approval (read-only)',
      ],
      [
        'data-clean-apply',
        'propose deleting the files of a data-clean manifest (L2): after approval the node deletes only files still matching it',
      ],
      [
        'run',
        'propose running a command on a node (L2): after approval it runs as the unprivileged run user, time-limited, output capped and redacted',
      ],
      ['service-quarantine', 'propose disabling a flapping unit whose ExecStart program is missing (L2)'],
      [
        'service-remove',
        'propose removing a unit, its unit file and optionally its working directory (L3: two operators, one on site)',
      ],
      [
        'hygiene-apply',
        "propose a hygiene plan's L2 repair of one file: log-redact-copy (a redacted copy beside the log) or secret-quarantine (move into the node's quarantine)",
      ],
      [
        'autoheal-apply-safe',
        "run the auto-safe (L1, bounded) actions of a fresh autoheal plan, each checked by the node's own policy",
      ],
    ],
    load: async () => (await import('./commands/host-repairs.ts')).registerHostRepairCommands,
  },
  {
    commands: [
      [
        'mcp',
        'serve the mesh to AI operators (Claude, Codex, a local model) over MCP: read and propose, never approve',
      ],
    ],
    load: async () => (await import('./commands/mcp.ts')).registerMcpCommands,
  },
  {
    commands: [
      [
        'policy-check',
        "the policy's answer for a subject (a role, an operator's name, planner, device), an action (read_state, propose, approve, execute) and a capability[/operation]",
      ],
      ['monitor-check', 'doctor on every node with host operations, at once: one table, stored as evidence'],
      [
        'monitor-agent',
        'the leader runs monitor-check every interval (30s, 5m, …; "off" stops, "status" shows) and raises an event per failing crossing',
      ],
      ['capabilities', 'every capability in the mesh and the nodes that provide it'],
      [
        'capacity-plan',
        "fleet headroom from each node's last doctor and a budget file (plan only: nothing is rented or created)",
      ],
      [
        'provision-plan',
        'where count instances of a workload would go, and what would have to be added (plan only)',
      ],
    ],
    load: async () => (await import('./commands/fleet.ts')).registerFleetCommands,
  },
]
