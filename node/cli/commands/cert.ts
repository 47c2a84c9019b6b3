/**
 * `clawmesh cert`: the TLS material a command center serves the console (HTTPS) and WSS with.
 * Without flags it creates the local CA (once) and issues a fresh server certificate for this
 * machine's names; `--cert/--key` takes the user's own; `--show` prints what is in place.
 */
import type { Command } from 'commander'
import { renderUnicodeCompact } from 'uqr'
import { pinFromFingerprint256 } from '../../../protocol/tls-pin.ts'
import { CliUsageError } from '../../../runtime/cli/errors.ts'
import { printJson } from '../../../runtime/cli/output.ts'
import { resolveStateDir } from '../../../runtime/state/state-dir.ts'
import { DEFAULT_HTTPS_PORT } from '../../console/constants.ts'
import { lanAddresses } from '../../tls/lan-names.ts'
import {
  type CertificateSummary,
  ensureLocalTls,
  importUserCertificate,
  loadServerTls,
  type TlsStatus,
} from '../../tls/tls-material.ts'

const collect = (value: string, previous: string[]) => [...previous, value]

interface CertOptions {
  san: string[]
  cert?: string
  key?: string
  show?: boolean
  json?: boolean
  qr?: boolean
  httpsPort: string
}

export function registerCertCommand(program: Command): void {
  program
    .command('cert')
    .description('create the local CA and a server certificate for HTTPS/WSS, or install your own')
    .option(
      '--san <name>',
      'extra DNS name or IP address for the server certificate (repeatable)',
      collect,
      [],
    )
    .option('--cert <file>', 'use this PEM certificate (chain) instead of the local CA (needs --key)')
    .option('--key <file>', 'PEM private key of --cert')
    .option('--show', 'print the certificate in place (paths, names, expiry, CA fingerprint)')
    .option('--https-port <port>', 'console port for the CA download URL', String(DEFAULT_HTTPS_PORT))
    .option('--no-qr', 'do not print a QR code of the CA download URL')
    .option('--json', 'print JSON')
    .action(async (options: CertOptions) => {
      const stateDir = resolveStateDir(program.opts().stateDir)
      if ((options.cert === undefined) !== (options.key === undefined))
        throw new CliUsageError('--cert and --key go together: give both to use your own certificate')
      if (options.show && (options.cert !== undefined || options.san.length > 0))
        throw new CliUsageError('--show only prints: give it without --cert, --key or --san')
      if (options.show) {
        const { status } = await loadServerTls(stateDir).catch((error: Error) => {
          throw new CliUsageError(`${error.message}. Run \`clawmesh cert\` to create the TLS material.`)
        })
        if (options.json) return printJson(status)
        return printStatus(status, options)
      }
      if (options.cert !== undefined && options.key !== undefined) {
        const imported = await importUserCertificate(stateDir, options.cert, options.key)
        if (options.json) return printJson({ ...imported.status, uncoveredNames: imported.uncoveredNames })
        console.log(`installed your certificate in ${imported.status.paths.dir}`)
        if (imported.uncoveredNames.length > 0)
          console.log(
            `warning: it does not cover ${imported.uncoveredNames.join(', ')}: browsers using those names will refuse it`,
          )
        return printStatus(imported.status, options)
      }
      const ensured = await ensureLocalTls(stateDir, { reissue: 'always', extraNames: options.san })
      if (options.json) return printJson({ ...ensured.status, createdCa: ensured.createdCa })
      console.log(
        ensured.createdCa
          ? `created a local CA and a server certificate in ${ensured.status.paths.dir}`
          : `issued a new server certificate from the existing local CA in ${ensured.status.paths.dir}`,
      )
      printStatus(ensured.status, options)
      console.log('\nRestart the node (or start it) to serve HTTPS and WSS with it.')
    })
}

function printStatus(status: TlsStatus, options: CertOptions): void {
  const line = (label: string, value: string) => console.log(`  ${label.padEnd(12)} ${value}`)
  console.log(`server certificate (${status.source === 'local-ca' ? 'issued by the local CA' : 'yours'})`)
  line('file', status.paths.serverCert)
  line('key', `${status.paths.serverKey} (mode 0600)`)
  printSummary(status.server, line)
  // What another node pins this one with: --peer <deviceId>=wss://…|<pin>|wan
  line('pin', pinFromFingerprint256(status.server.fingerprint256))
  if (status.ca === undefined) return
  console.log('local CA (install it on each tablet; see docs/console-serving.md)')
  line('file', status.paths.caCert)
  line('key', `${status.paths.caKey} (mode 0600, never leaves this machine)`)
  line('expires', status.ca.validTo)
  line('SHA-256', status.ca.fingerprint256)
  const urls = lanAddresses()
    .filter((address) => !address.includes(':'))
    .map((address) => `http://${address}:${options.httpsPort}/ca.crt`)
  if (urls.length === 0) return
  console.log('download it on a tablet (while the command center runs), then compare the SHA-256 above:')
  for (const url of urls) console.log(`  ${url}`)
  if (options.qr !== false && urls[0] !== undefined) console.log(renderUnicodeCompact(urls[0], { border: 2 }))
}

function printSummary(summary: CertificateSummary, line: (label: string, value: string) => void): void {
  line('subject', summary.subject)
  line('DNS names', summary.dnsNames.join(', ') || '(none)')
  line('IP addresses', summary.ipAddresses.join(', ') || '(none)')
  line('valid', `${summary.validFrom} to ${summary.validTo}`)
  line('SHA-256', summary.fingerprint256)
}
