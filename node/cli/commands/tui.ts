/**
 * `clawmesh tui [--url URL]`: the terminal operator surface (node/tui/). It connects as this CLI,
 * reads the node every second and signs approvals and the emergency stop with this CLI's operator
 * key, like `clawmesh approve` and `clawmesh estop`. Ink and React load only for this command.
 */
import type { Command } from 'commander'
import type { OperatorLink } from '../../../protocol/safety/index.ts'
import { OPERATOR_LINKS } from '../../../protocol/safety/index.ts'
import { signerFromPrivateKey } from '../../../protocol/signing.ts'
import { CliUsageError } from '../../../runtime/cli/errors.ts'
import { loadOrCreateIdentity } from '../../../runtime/identity/device-identity.ts'
import { resolveStateDir, statePaths } from '../../../runtime/state/state-dir.ts'
import { resolveTargetUrl, withClient } from '../target-node.ts'
import { defaultLink, loadCertificate } from './proposals.ts'

export function registerTuiCommand(program: Command): void {
  program
    .command('tui')
    .description(
      'terminal UI: peers, links, frames, world, proposals (approve/reject), planner chat, alerts, emergency stop',
    )
    .option('--url <url>', 'node URL (default: the saved gateway, else ws://127.0.0.1:18789)')
    .option(
      '--link <link>',
      `link you decide over (${OPERATOR_LINKS.join(', ')}); default from the node URL (loopback local, private lan, else wan), under SSH from the SSH client's address`,
    )
    .action(async (options: { url?: string; link?: string }) => {
      if (options.link !== undefined && !(OPERATOR_LINKS as readonly string[]).includes(options.link))
        throw new CliUsageError(`unknown link "${options.link}": use ${OPERATOR_LINKS.join(', ')}`)
      if (!process.stdin.isTTY || !process.stdout.isTTY)
        throw new CliUsageError(
          'clawmesh tui needs a terminal (stdin and stdout a TTY); for scripts use status, proposals, approve',
        )
      const url = await resolveTargetUrl(program, options.url)
      const { defaultTuiLink } = await import('../../tui/tui-model.ts')
      const link =
        (options.link as OperatorLink | undefined) ??
        defaultTuiLink(defaultLink(url), process.env['SSH_CONNECTION'])
      await runTui(program, url, link)
    })
}

/** Runs the UI against the node at `url` until the operator quits (also `clawmesh start --tui`). */
export async function runTui(program: Command, url: string, link: OperatorLink): Promise<void> {
  const [{ render }, { createElement }, { TuiApp }, { nodeTuiSource }] = await Promise.all([
    import('ink'),
    import('react'),
    import('../../tui/tui-app.ts'),
    import('../../tui/tui-source.ts'),
  ])
  await withClient(program, url, async (client) => {
    const source = nodeTuiSource({
      client,
      operator: async () => {
        const certificate = await loadCertificate(program)
        const key = await loadOrCreateIdentity(
          statePaths(resolveStateDir(program.opts().stateDir)).cliIdentity,
        )
        return { certificate, signer: signerFromPrivateKey(key.privateKey), link }
      },
    })
    // Ctrl-C reaches the UI as a key (raw mode) and quits through the same path as q. What the
    // process logs meanwhile (a node under `start --tui`) Ink prints above the UI.
    const app = render(createElement(TuiApp, { source, url }), { exitOnCtrlC: false, patchConsole: true })
    await app.waitUntilExit()
  })
}
