/**
 * The command center serving consoles, with real processes on loopback: `clawmesh cert` makes a
 * local CA and a server certificate with the machine's names; a node started with it speaks WSS on
 * its WebSocket port and HTTPS on its console port, trusted through the CA only; the CLI reaches it
 * over wss:// with --ca; /console-config.json validates and its address is dialable; traversal is
 * refused and counted; a missing build gets the page that says how to build it.
 */
import { X509Certificate } from 'node:crypto'
import { copyFile, mkdir, readFile, stat, writeFile } from 'node:fs/promises'
import { request as plainRequest } from 'node:http'
import { request } from 'node:https'
import { hostname } from 'node:os'
import { join } from 'node:path'
import { connect, getCACertificates, setDefaultCACertificates } from 'node:tls'
import { brotliDecompressSync } from 'node:zlib'
import { multiaddr } from '@multiformats/multiaddr'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { lanAddresses } from '../node/tls/lan-names.ts'
import { consoleConfigSchema } from '../protocol/console-config.ts'
import { DEFAULT_MESH_NAME, PROTOCOL_GENERATION } from '../protocol/mesh.ts'
import { loadOrCreateIdentity } from '../runtime/identity/device-identity.ts'
import { buildLibp2p, DIAL_ANY_ADDRESS } from '../runtime/libp2p/build-libp2p.ts'
import { makeStateDir, type NodeProcess, runCli, startNode, stopAll, waitFor } from './helpers/processes.ts'

interface Response {
  status: number
  headers: Record<string, string | string[] | undefined>
  body: Buffer
}

function get(
  port: number,
  path: string,
  ca: string,
  headers: Record<string, string> = {},
): Promise<Response> {
  return new Promise((resolveGet, reject) => {
    const req = request({ host: '127.0.0.1', servername: 'localhost', port, path, ca, headers }, (res) => {
      const chunks: Buffer[] = []
      res.on('data', (chunk: Buffer) => chunks.push(chunk))
      res.on('end', () =>
        resolveGet({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }),
      )
    })
    req.on('error', reject)
    req.end()
  })
}

/** A plain-HTTP GET to the console port with a chosen Host header. */
function plainGet(port: number, path: string, host: string): Promise<Response> {
  return new Promise((resolveGet, reject) => {
    const req = plainRequest({ host: '127.0.0.1', port, path, headers: { host } }, (res) => {
      res.resume()
      res.on('end', () =>
        resolveGet({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.alloc(0) }),
      )
    })
    req.on('error', reject)
    req.end()
  })
}

/** Completes a TLS handshake (or fails) to a port, trusting only `ca`. */
function handshake(port: number, ca: string | undefined): Promise<'ok' | string> {
  return new Promise((resolveHandshake) => {
    const socket = connect({ host: '127.0.0.1', port, servername: 'localhost', ...(ca ? { ca } : {}) })
    socket.once('secureConnect', () => {
      socket.destroy()
      resolveHandshake('ok')
    })
    socket.once('error', (error: NodeJS.ErrnoException) => resolveHandshake(error.code ?? error.message))
  })
}

/** The console line comes after the listen lines startNode waits for: wait for it too. */
const consolePortOf = (node: NodeProcess) =>
  waitFor('the console line', () => {
    const port = /console {4}https:\/\/[^:]+:(\d+)\//.exec(node.output())?.[1]
    return port === undefined ? undefined : Number(port)
  })

describe('clawmesh cert and the console server', () => {
  let stateDir: string
  let caPem: string
  let node: NodeProcess
  let consolePort: number
  let dist: string

  beforeAll(async () => {
    stateDir = await makeStateDir('cert')
    const made = await runCli(['cert', '--san', 'cc.farm.example', '--san', '10.9.8.7', '--no-qr'], stateDir)
    expect(made.code, made.stderr).toBe(0)
    caPem = await readFile(join(stateDir, 'tls', 'ca.crt'), 'utf8')
    dist = join(stateDir, 'dist')
    await mkdir(join(dist, 'assets'), { recursive: true })
    await writeFile(join(dist, 'index.html'), '<!doctype html><title>ClawMesh console</title>')
    await writeFile(join(dist, 'sw.js'), 'self.addEventListener("fetch", () => {})\n')
    await writeFile(
      join(dist, 'assets', 'index-Ab12Cd34.js'),
      `console.log(${JSON.stringify('x'.repeat(4000))})\n`,
    )
    node = await startNode(stateDir, [
      '--name',
      'cc',
      '--role',
      'planner',
      '--https-port',
      '0',
      '--console-dir',
      dist,
    ])
    consolePort = await consolePortOf(node)
  })
  afterAll(stopAll)

  it('creates a CA and a server certificate for this machine, keys readable by the owner only', async () => {
    for (const key of ['ca.key', 'server.key'])
      expect((await stat(join(stateDir, 'tls', key))).mode & 0o777).toBe(0o600)
    const server = new X509Certificate(await readFile(join(stateDir, 'tls', 'server.crt')))
    const ca = new X509Certificate(caPem)
    expect(ca.ca).toBe(true)
    expect(server.ca).toBe(false)
    expect(server.checkIssued(ca) && server.verify(ca.publicKey)).toBe(true)
    for (const name of ['localhost', hostname().toLowerCase(), 'cc.farm.example'])
      expect(server.checkHost(name, { subject: 'never' }), name).toBe(name)
    for (const ip of ['127.0.0.1', '::1', '10.9.8.7', ...lanAddresses()])
      expect(server.checkIP(ip), ip).toBeDefined()
    const shown = JSON.parse((await runCli(['cert', '--show', '--json'], stateDir)).stdout)
    expect(shown.source).toBe('local-ca')
    expect(shown.ca.fingerprint256).toBe(ca.fingerprint256)
  })

  it('a TLS client trusting only the CA completes a handshake on the WSS and HTTPS ports; without it, none', async () => {
    expect(await handshake(node.port, caPem)).toBe('ok')
    expect(await handshake(consolePort, caPem)).toBe('ok')
    expect(await handshake(consolePort, undefined)).not.toBe('ok')
    expect(await handshake(node.port, undefined)).not.toBe('ok')
  })

  it('the CLI reaches the node over wss:// only when it trusts the CA (--ca)', async () => {
    // A second state dir holding the same CLI key (the node's local admin) but no local CA.
    const elsewhere = await makeStateDir('cli')
    await mkdir(join(elsewhere, 'identity'), { recursive: true })
    await copyFile(join(stateDir, 'identity', 'cli.json'), join(elsewhere, 'identity', 'cli.json'))
    const url = `wss://localhost:${node.port}`
    const untrusted = await runCli(['status', '--url', url, '--json'], elsewhere)
    expect(untrusted.code).not.toBe(0)
    const trusted = await runCli(
      ['--ca', join(stateDir, 'tls', 'ca.crt'), 'status', '--url', url, '--json'],
      elsewhere,
    )
    expect(trusted.code, trusted.stderr).toBe(0)
    const status = JSON.parse(trusted.stdout)
    expect(status.deviceId).toBe(node.deviceId)
    expect(status.connections.some((c: { remoteAddr: string }) => c.remoteAddr.includes('/ws'))).toBe(true)
  })

  it('serves /console-config.json that validates and whose first address is dialable over WSS', async () => {
    const response = await get(consolePort, '/console-config.json', caPem, {
      host: `localhost:${consolePort}`,
    })
    expect(response.status).toBe(200)
    expect(response.headers['cache-control']).toBe('no-store')
    const config = consoleConfigSchema.parse(JSON.parse(response.body.toString()))
    expect(config.commandCenter.deviceId).toBe(node.deviceId)
    expect(config.commandCenter.addrs[0]).toContain('/tls/ws/')
    for (const address of config.commandCenter.addrs)
      expect(address.endsWith(`/p2p/${node.deviceId}`)).toBe(true)

    const previous = getCACertificates('default')
    setDefaultCACertificates([...previous, caPem])
    const admin = await loadOrCreateIdentity(join(stateDir, 'identity', 'cli.json'))
    const client = await buildLibp2p({
      privateKey: admin.privateKey,
      agent: {
        name: 'clawmesh-cli',
        kind: 'cli',
        mesh: { meshName: DEFAULT_MESH_NAME, generation: PROTOCOL_GENERATION },
      },
      gater: DIAL_ANY_ADDRESS,
    })
    try {
      const connection = await client.dial(multiaddr(config.commandCenter.addrs[0] as string), {
        signal: AbortSignal.timeout(10_000),
      })
      expect(connection.remotePeer.toString()).toBe(node.deviceId)
      expect(connection.remoteAddr.toString()).toContain('/tls/ws')
    } finally {
      await client.stop()
      setDefaultCACertificates(previous)
    }
  })

  it('serves the console with MIME types, cache headers, brotli and the SPA fallback', async () => {
    const asset = await get(consolePort, '/assets/index-Ab12Cd34.js', caPem, {
      'accept-encoding': 'gzip, br',
    })
    expect(asset.status).toBe(200)
    expect(asset.headers['content-type']).toBe('text/javascript; charset=utf-8')
    expect(asset.headers['cache-control']).toContain('immutable')
    expect(asset.headers['content-encoding']).toBe('br')
    expect(brotliDecompressSync(asset.body).toString()).toContain('xxxx')
    const worker = await get(consolePort, '/sw.js', caPem)
    expect(worker.headers['cache-control']).toBe('no-cache')
    const route = await get(consolePort, '/twin', caPem, { accept: 'text/html' })
    expect(route.status).toBe(200)
    expect(route.body.toString()).toContain('ClawMesh console')
    expect((await get(consolePort, '/assets/missing-Zz99Yy88.js', caPem)).status).toBe(404)
    const ca = await get(consolePort, '/ca.crt', caPem)
    expect(ca.headers['content-type']).toBe('application/x-x509-ca-cert')
    expect(ca.body.toString()).toBe(caPem)
  })

  it('refuses path traversal, and counts the refusal in mesh.health', async () => {
    for (const path of ['/../../../../etc/passwd', '/assets/%2e%2e/%2e%2e/tls/server.key']) {
      const response = await get(consolePort, path, caPem)
      expect(response.status).toBe(403)
      expect(response.body.toString()).not.toContain('root:')
      expect(response.body.toString()).not.toContain('PRIVATE KEY')
    }
    const status = JSON.parse((await runCli(['status', '--url', node.url, '--json'], stateDir)).stdout)
    expect(status.health.counters['console.refused.traversal']).toBe(2)
  })

  it('redirects plain HTTP only to its own names: a forged Host header is refused, not echoed', async () => {
    const own = await plainGet(consolePort, '/twin', `cc.farm.example:${consolePort}`)
    expect(own.status).toBe(308)
    expect(own.headers.location).toBe(`https://cc.farm.example:${consolePort}/twin`)
    const forged = await plainGet(consolePort, '/twin', 'evil.example')
    expect(forged.status).toBe(421)
    expect(forged.headers.location).toBeUndefined()
    const status = JSON.parse((await runCli(['status', '--url', node.url, '--json'], stateDir)).stdout)
    expect(status.health.counters['console.refused.host-unknown']).toBe(1)
  })

  it('without a built console it serves a page that says how to build it', async () => {
    const bare = await makeStateDir('bare')
    expect((await runCli(['cert', '--no-qr'], bare)).code).toBe(0)
    const other = await startNode(bare, [
      '--name',
      'cc2',
      '--role',
      'planner',
      '--https-port',
      '0',
      '--console-dir',
      join(bare, 'no-such-dist'),
    ])
    const ca = await readFile(join(bare, 'tls', 'ca.crt'), 'utf8')
    const page = await get(await consolePortOf(other), '/', ca)
    expect(page.status).toBe(503)
    expect(page.headers['content-type']).toBe('text/html; charset=utf-8')
    expect(page.body.toString()).toContain('npm run build:console')
    await other.stop()
  })
})

describe('clawmesh cert --cert/--key (your own certificate)', () => {
  it('refuses a key that does not match the certificate, installs a matching pair and warns on missing names', async () => {
    const source = await makeStateDir('own-cert')
    expect((await runCli(['cert', '--no-qr'], source)).code).toBe(0)
    const target = await makeStateDir('own-target')
    const tls = join(source, 'tls')
    const mismatch = await runCli(
      ['cert', '--cert', join(tls, 'server.crt'), '--key', join(tls, 'ca.key')],
      target,
    )
    expect(mismatch.code).toBe(1)
    expect(mismatch.stderr).toContain('KEY_MISMATCH')
    // The CA certificate with its own key is a valid pair, but names none of this machine's hosts.
    const installed = await runCli(
      ['cert', '--cert', join(tls, 'ca.crt'), '--key', join(tls, 'ca.key')],
      target,
    )
    expect(installed.code, installed.stderr).toBe(0)
    expect(installed.stdout).toContain('warning: it does not cover localhost')
    expect((await stat(join(target, 'tls', 'server.key'))).mode & 0o777).toBe(0o600)
    const shown = JSON.parse((await runCli(['cert', '--show', '--json'], target)).stdout)
    expect(shown.source).toBe('user')
  })
})
