/**
 * Host repairs over a real mesh: a command center (role planner) and a field node with host
 * operations whose PATH starts with the systemd stand-ins (test/fixtures/host-ops). Three operators
 * act through their own CLI keys: bob proposes, carol and dave approve. Every repair is a proposal;
 * nothing changes on the field node before the approvals its level needs, and then only what the
 * field node's own checks allow. Destructive steps happen only inside this test's temp directories.
 */
import { execFileSync } from 'node:child_process'
import {
  appendFile,
  chmod,
  mkdir,
  mkdtemp,
  readdir,
  readFile,
  stat,
  utimes,
  writeFile,
} from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { readManifest, sha256File } from '../node/host-ops/data-clean.ts'
import { type QuarantineManifest, quarantineDir } from '../node/host-ops/hygiene-repairs.ts'
import {
  type DataCleanManifest,
  RUN_OUTPUT_MAX_BYTES,
  RUN_TIME_LIMIT_MS,
} from '../protocol/host-ops/repairs.ts'
import { loadOrCreateIdentity } from '../runtime/identity/device-identity.ts'
import { statePaths } from '../runtime/state/state-dir.ts'
import { TrustStore } from '../runtime/trust/trust-store.ts'
import {
  cliJson,
  makeStateDir,
  type NodeProcess,
  runCli,
  startNode,
  startNodeFromConfig,
  stopAll,
  waitFor,
} from './helpers/processes.ts'

const STAND_INS = join(import.meta.dirname, 'fixtures/host-ops/bin')
const OPERATORS = ['bob', 'carol', 'dave'] as const
type Operator = (typeof OPERATORS)[number]
/** The run user: `nobody` exists on every Debian/Ubuntu image these tests run on. */
const NOBODY_UID = 65534
const WHOLE_SECOND = Math.floor(Date.now() / 1000) - 600

interface ProposalJson {
  proposal: { id: string; level: string; operation: string; args: Record<string, unknown> }
  state: string
  approvals: unknown[]
  reason?: string
  outcome?: string
}
interface ApproveJson {
  verdict: string
  detail: string
  proposal: ProposalJson
  executionFrame?: { data: { status: string; result: Record<string, unknown> } }
}

let cc: NodeProcess
let field: NodeProcess
const dirs = {} as Record<'cc' | 'field' | Operator, string>
let work: string
let data: string
let calls: string
let unitDir: string

async function exists(path: string): Promise<boolean> {
  return stat(path).then(
    () => true,
    () => false,
  )
}

const asOperator = (who: Operator, args: string[]) => runCli([...args, '--url', cc.url], dirs[who])
const jsonAs = <T>(who: Operator, args: string[]) => cliJson<T>([...args, '--url', cc.url], dirs[who])
const approve = (who: Operator, id: string) => jsonAs<ApproveJson>(who, ['approve', id])

beforeAll(async () => {
  for (const name of ['cc', 'field', ...OPERATORS] as const) dirs[name] = await makeStateDir(name)
  const key = async (dir: string, which: 'deviceIdentity' | 'cliIdentity') =>
    (await loadOrCreateIdentity(statePaths(dir)[which])).deviceId
  const ccId = await key(dirs.cc, 'deviceIdentity')
  const fieldId = await key(dirs.field, 'deviceIdentity')
  const ccTrust = await TrustStore.open(statePaths(dirs.cc).trustedPeers)
  await ccTrust.add(fieldId, 'field-1')
  for (const name of OPERATORS) await ccTrust.add(await key(dirs[name], 'cliIdentity'), name)
  await (await TrustStore.open(statePaths(dirs.field).trustedPeers)).add(ccId, 'command-center')

  work = await makeStateDir('host-repairs')
  data = join(work, 'data')
  calls = join(work, 'standin-calls.log')
  unitDir = join(work, 'units')
  for (const dir of [
    'raw',
    'intermediate',
    'checkpoints',
    'cache',
    'final',
    'misc',
    'apps/oldapp',
    '../units',
    '../tmp',
    '../secrets',
    '../outside',
  ])
    await mkdir(join(data, dir), { recursive: true })
  await writeFile(join(data, 'raw/scan-001.bin'), Buffer.alloc(3000, 1))
  await writeFile(join(data, 'intermediate/features.tmp'), 'aaaaaaaaaaaaaaaa')
  // A whole second, so the test can put the same mtime back exactly after changing the content.
  await utimes(join(data, 'intermediate/features.tmp'), WHOLE_SECOND, WHOLE_SECOND)
  await writeFile(join(data, 'checkpoints/checkpoint-100.pt'), Buffer.alloc(2000, 2))
  await writeFile(join(data, 'checkpoints/checkpoint-200.pt'), Buffer.alloc(2000, 3))
  const older = new Date(Date.now() - 3_600_000)
  await utimes(join(data, 'checkpoints/checkpoint-100.pt'), older, older)
  await writeFile(join(data, 'cache/blob.bin'), Buffer.alloc(500, 4))
  await writeFile(join(data, 'final/model.bin'), Buffer.alloc(4000, 5))
  await writeFile(join(data, 'misc/notes.txt'), 'not a candidate')
  await writeFile(join(data, 'apps/oldapp/state.db'), 'old state')
  await writeFile(join(work, 'outside/keep.bin'), 'outside every configured path')
  await writeFile(join(work, 'app.log'), 'connecting with db_password=hunter2\nready\n')
  await writeFile(join(unitDir, 'oldapp.service'), '[Service]\nExecStart=/srv/oldapp/bin/oldapp\n')

  const saved = { ...process.env }
  process.env['PATH'] = `${STAND_INS}:${process.env['PATH']}`
  process.env['CLAWMESH_STANDIN_CALLS'] = calls
  process.env['CLAWMESH_STANDIN_UNIT_DIR'] = unitDir
  try {
    cc = await startNode(dirs.cc, ['--name', 'command-center', '--role', 'planner'])
    field = await startNodeFromConfig(dirs.field, {
      name: 'field-1',
      peers: [`${ccId}=${cc.url}`],
      commandCenters: [ccId],
      hostOps: {
        enabled: true,
        diskPaths: [data],
        repairPaths: [data],
        tempPaths: [join(work, 'tmp')],
        secretPaths: [join(work, 'secrets')],
        logSources: [join(work, 'app.log')],
        unitDirs: [unitDir],
        runUser: 'nobody',
        tempCleanMinDays: 7,
        journalVacuumMinMb: 500,
      },
    })
  } finally {
    process.env['PATH'] = saved['PATH']
    delete process.env['CLAWMESH_STANDIN_CALLS']
    delete process.env['CLAWMESH_STANDIN_UNIT_DIR']
  }
  for (const name of OPERATORS) {
    const operatorId = await key(dirs[name], 'cliIdentity')
    const issued = await runCli(
      ['operator', 'issue', operatorId, '--name', name, '--roles', 'operator', '--url', cc.url],
      dirs.cc,
    )
    if (issued.code !== 0) throw new Error(`operator issue ${name}: ${issued.stderr}`)
    const file = join(dirs[name], 'cert.json')
    await writeFile(file, issued.stdout)
    const imported = await runCli(['operator', 'import', file], dirs[name])
    if (imported.code !== 0) throw new Error(`operator import ${name}: ${imported.stderr}`)
  }
  await waitFor('the field node advertising host:field-1', async () => {
    const peers = await jsonAs<{ peers: { capabilities: string[]; state: string }[] }>('bob', ['peers'])
    return peers.peers.some(
      (peer) => peer.state === 'connected' && peer.capabilities.includes('host:field-1'),
    )
      ? true
      : undefined
  })
}, 90_000)

afterAll(async () => {
  await stopAll()
})

describe('data-clean', () => {
  let manifest: DataCleanManifest

  it('plans candidates with size, mtime and hash, keeping final outputs and the newest checkpoint', async () => {
    const report = await jsonAs<{ facts: Record<string, string | number> }>('bob', [
      'data-clean-plan',
      'field-1',
      data,
    ])
    const id = String(report.facts['manifestId'])
    manifest = (await readManifest(field.stateDir, id)) as DataCleanManifest
    expect(manifest.entries.map((entry) => entry.path).sort()).toEqual(
      [
        'cache/blob.bin',
        'checkpoints/checkpoint-100.pt',
        'intermediate/features.tmp',
        'raw/scan-001.bin',
      ].map((path) => join(data, path)),
    )
    const features = manifest.entries.find((entry) => entry.path.endsWith('features.tmp'))
    expect(features).toMatchObject({ size: 16, category: 'intermediate' })
    expect(features?.sha256).toMatch(/^[0-9a-f]{64}$/)
  })

  it('apply is a proposal; after approval it refuses a changed file and deletes nothing outside the manifest', async () => {
    // After the plan: one listed file changes content (same size, same mtime: only the hash tells),
    // and a new file appears in a candidate directory.
    const changed = join(data, 'intermediate/features.tmp')
    await writeFile(changed, 'bbbbbbbbbbbbbbbb')
    await utimes(changed, WHOLE_SECOND, WHOLE_SECOND)
    await writeFile(join(data, 'raw/scan-002.bin'), Buffer.alloc(10, 9))

    const proposed = await jsonAs<{ proposal: ProposalJson }>('bob', [
      'data-clean-apply',
      'field-1',
      manifest.id,
    ])
    expect(proposed.proposal).toMatchObject({ state: 'awaiting_approval', proposal: { level: 'L2' } })
    // Without an approval nothing is deleted.
    expect(await exists(join(data, 'raw/scan-001.bin'))).toBe(true)

    const approved = await approve('carol', proposed.proposal.proposal.id)
    expect(approved.verdict).toBe('allow')
    const result = approved.executionFrame?.data.result as Record<string, unknown>
    expect(approved.executionFrame?.data.status).toBe('completed')
    expect(result).toMatchObject({ deleted: 3, keptCount: 1, keptReasons: { 'content-changed': 1 } })
    for (const gone of ['raw/scan-001.bin', 'checkpoints/checkpoint-100.pt', 'cache/blob.bin'])
      expect(await exists(join(data, gone)), gone).toBe(false)
    for (const kept of [
      'intermediate/features.tmp',
      'raw/scan-002.bin',
      'checkpoints/checkpoint-200.pt',
      'final/model.bin',
      'misc/notes.txt',
    ])
      expect(await exists(join(data, kept)), kept).toBe(true)
    expect(await exists(join(work, 'outside/keep.bin'))).toBe(true)
  })
})

describe('run', () => {
  async function proposeRun(argv: string[]): Promise<string> {
    const result = await runCli(['run', 'field-1', '--url', cc.url, '--json', '--', ...argv], dirs.bob)
    expect(result.code, result.stderr).toBe(0)
    const created = JSON.parse(result.stdout) as { proposal: ProposalJson }
    expect(created.proposal).toMatchObject({
      state: 'awaiting_approval',
      proposal: { level: 'L2', args: { argv } },
    })
    return created.proposal.proposal.id
  }

  it('does nothing without approval, then runs as the unprivileged user with its output redacted', async () => {
    // A directory the run user may write to (the test's own state dirs are private to root).
    const open = await mkdtemp(join(tmpdir(), 'clawmesh-run-'))
    await chmod(open, 0o777)
    const marker = join(open, 'ran-marker')
    const id = await proposeRun(['/bin/sh', '-c', `id -u; touch ${marker}; echo db_password=hunter2`])
    await new Promise((resolve) => setTimeout(resolve, 1_000))
    expect(await exists(marker)).toBe(false)
    // The author cannot approve his own proposal.
    const self = await asOperator('bob', ['approve', id, '--json'])
    expect(`${self.stdout}${self.stderr}`).toContain('self-approval')
    expect(await exists(marker)).toBe(false)

    const approved = await approve('carol', id)
    const result = approved.executionFrame?.data.result as Record<string, unknown>
    expect(approved.executionFrame?.data.status).toBe('completed')
    expect(result).toMatchObject({ exitCode: 0, user: 'nobody', timedOut: false })
    expect(String(result['stdout'])).toContain(String(NOBODY_UID))
    expect(String(result['stdout'])).toContain('db_password=[redacted]')
    expect(String(result['stdout'])).not.toContain('hunter2')
    expect((await stat(marker)).uid).toBe(NOBODY_UID)
  })

  it('stops at its time limit', async () => {
    const id = await proposeRun(['/bin/sleep', '60'])
    const approved = await approve('carol', id)
    const result = approved.executionFrame?.data.result as Record<string, unknown>
    expect(approved.executionFrame?.data.status).toBe('failed')
    expect(result).toMatchObject({ error: 'run-time-limit', timedOut: true, timeLimitMs: RUN_TIME_LIMIT_MS })
    expect(Number(result['durationMs'])).toBeGreaterThanOrEqual(RUN_TIME_LIMIT_MS)
    // Measured on the node (the CLI's own start-up is not the run's): killed at the limit, not 60 s.
    expect(Number(result['durationMs'])).toBeLessThan(RUN_TIME_LIMIT_MS + 2_000)
    // The process group is gone: no sleep 60 left behind.
    const left = execFileSync('ps', ['-eo', 'args']).toString().split('\n')
    expect(left.filter((line) => line.trim() === '/bin/sleep 60')).toEqual([])
  }, 30_000)

  it('caps its output', async () => {
    const id = await proposeRun(['/bin/sh', '-c', 'yes abcdefgh | head -c 50000'])
    const approved = await approve('carol', id)
    const result = approved.executionFrame?.data.result as Record<string, unknown>
    expect(result).toMatchObject({ exitCode: 0, stdoutBytes: 50_000, outputTruncated: true })
    expect(Buffer.byteLength(String(result['stdout']))).toBe(RUN_OUTPUT_MAX_BYTES)
  })
})

describe('services', () => {
  const callsMade = async () => (await readFile(calls, 'utf8').catch(() => '')).trim().split('\n')

  it('quarantine disables a flapping unit whose program is missing, and refuses one whose program exists', async () => {
    const flappy = await jsonAs<{ proposal: ProposalJson }>('bob', [
      'service-quarantine',
      'field-1',
      'flappy.service',
    ])
    expect(flappy.proposal).toMatchObject({ state: 'awaiting_approval', proposal: { level: 'L2' } })
    expect(await callsMade()).not.toContain('systemctl disable --now flappy.service')
    const done = await approve('carol', flappy.proposal.proposal.id)
    expect(done.executionFrame?.data).toMatchObject({
      status: 'completed',
      result: { unit: 'flappy.service', missingPrograms: ['/opt/flappy/bin/flappy-agent'] },
    })
    expect(await callsMade()).toContain('systemctl disable --now flappy.service')

    const steady = await jsonAs<{ proposal: ProposalJson }>('bob', [
      'service-quarantine',
      'field-1',
      'steady.service',
    ])
    const refused = await approve('carol', steady.proposal.proposal.id)
    expect(refused.executionFrame?.data).toMatchObject({
      status: 'failed',
      result: { error: 'execstart-present' },
    })
    expect(await callsMade()).not.toContain('systemctl disable --now steady.service')
  })

  it('remove is L3: one approval is not enough, two operators remove the unit file and workdir', async () => {
    const workdir = join(data, 'apps/oldapp')
    const proposed = await jsonAs<{ proposal: ProposalJson }>('bob', [
      'service-remove',
      'field-1',
      'oldapp.service',
      '--workdir',
      workdir,
    ])
    expect(proposed.proposal.proposal.level).toBe('L3')
    const id = proposed.proposal.proposal.id
    const first = await approve('carol', id)
    expect(first.verdict).toBe('pending')
    expect(first.executionFrame).toBeUndefined()
    expect(await exists(join(unitDir, 'oldapp.service'))).toBe(true)
    expect(await exists(workdir)).toBe(true)
    // The same operator twice is one operator.
    const again = await asOperator('carol', ['approve', id, '--json'])
    expect(`${again.stdout}${again.stderr}`).toContain('duplicate-approver')
    expect(await exists(join(unitDir, 'oldapp.service'))).toBe(true)

    const second = await approve('dave', id)
    expect(second.verdict).toBe('allow')
    expect(second.executionFrame?.data).toMatchObject({
      status: 'completed',
      result: { unit: 'oldapp.service' },
    })
    expect(await exists(join(unitDir, 'oldapp.service'))).toBe(false)
    expect(await exists(workdir)).toBe(false)
    expect(await exists(join(data, 'final/model.bin'))).toBe(true)
    expect(await callsMade()).toEqual(
      expect.arrayContaining(['systemctl disable --now oldapp.service', 'systemctl daemon-reload']),
    )
  })
})

describe('autoheal', () => {
  it('applies only the auto-safe actions, within the field node’s own bounds', async () => {
    const temp = join(work, 'tmp')
    const month = new Date(Date.now() - 30 * 86_400_000)
    const threeDays = new Date(Date.now() - 3 * 86_400_000)
    await writeFile(join(temp, 'old.log'), 'old')
    await utimes(join(temp, 'old.log'), month, month)
    await writeFile(join(temp, 'recent.log'), 'recent')
    await utimes(join(temp, 'recent.log'), threeDays, threeDays)
    await writeFile(join(work, 'secrets/api.key'), 'sk-not-a-real-key')
    await chmod(join(work, 'secrets/api.key'), 0o644)

    const hygiene = await jsonAs<{
      findings: {
        id: string
        status: string
        evidence: { source: string }[]
        nextActions: { operation: string; level: string }[]
      }[]
    }>('bob', ['hygiene-plan', 'field-1'])
    const exposed = hygiene.findings.find((finding) => finding.id === 'exposed-secrets')
    expect(exposed).toMatchObject({
      status: 'fail',
      nextActions: [
        { operation: 'permissions-tighten', level: 'L1' },
        { operation: 'secret-quarantine', level: 'L2' },
      ],
    })
    expect(exposed?.evidence.map((item) => item.source)).toEqual([join(work, 'secrets/api.key')])
    expect(hygiene.findings.find((finding) => finding.id === 'leaking-logs')).toMatchObject({
      status: 'warn',
      evidence: [{ source: join(work, 'app.log') }],
    })

    // The command center's outer bound allows olderThanDays 1; the field node's own (7) does not.
    const plan = await jsonAs<{ findings: { id: string }[] }>('bob', ['autoheal-plan', 'field-1'])
    expect(plan.findings.map((finding) => finding.id)).toEqual(
      expect.arrayContaining(['journal-size', 'temp-old-files', 'exposed-secrets']),
    )
    const frames = await jsonAs<{ frames: { frameId: string; data: { workflow: string } }[] }>('bob', [
      'world',
      '--kind',
      'host_findings',
    ])
    const planFrame = frames.frames.filter((frame) => frame.data.workflow === 'autoheal-plan').at(-1)
    const tooEager = await jsonAs<{ proposal: ProposalJson }>('bob', [
      'propose',
      'host:field-1',
      'temp-clean',
      '--arg',
      'olderThanDays=1',
      '--evidence',
      String(planFrame?.frameId),
    ])
    expect(tooEager.proposal.state).toBe('failed')
    expect(tooEager.proposal.reason).toContain('out-of-bounds')
    expect(await exists(join(temp, 'recent.log'))).toBe(true)
    expect(await exists(join(temp, 'old.log'))).toBe(true)

    const applied = await jsonAs<{
      applied: { action: { operation: string; level: string }; proposal?: ProposalJson; skipped?: string }[]
    }>('bob', ['autoheal-apply-safe', 'field-1'])
    const states = Object.fromEntries(
      applied.applied.map((item) => [item.action.operation, item.proposal?.state ?? item.skipped]),
    )
    expect(states).toMatchObject({
      'journal-vacuum': 'completed',
      'temp-clean': 'completed',
      'permissions-tighten': 'completed',
    })
    expect(await exists(join(temp, 'old.log'))).toBe(false)
    expect(await exists(join(temp, 'recent.log'))).toBe(true)
    expect((await stat(join(work, 'secrets/api.key'))).mode & 0o777).toBe(0o600)
    expect((await readFile(calls, 'utf8')).split('\n')).toContain('journalctl --vacuum-size=500M')
  })
})

describe('hygiene repairs', () => {
  interface PlanJson {
    findings: {
      id: string
      status: string
      evidence: { source: string }[]
      nextActions: { operation: string; level: string; args: Record<string, unknown> }[]
    }[]
  }
  const plan = () => jsonAs<PlanJson>('bob', ['hygiene-plan', 'field-1'])
  const offered = (report: PlanJson, operation: string, path: string) =>
    report.findings
      .flatMap((finding) => finding.nextActions)
      .find((action) => action.operation === operation && action.args['path'] === path)
  const hygieneApply = (operation: string, path: string) =>
    jsonAs<{ proposal: ProposalJson }>('bob', ['hygiene-apply', 'field-1', operation, path])

  it('log-redact-copy: nothing before approval, then a copy without the secret; the log is unchanged', async () => {
    const log = join(work, 'app.log')
    const copy = `${log}.redacted`
    const original = await readFile(log)
    const before = await stat(log)
    const offer = offered(await plan(), 'log-redact-copy', log)
    // The plan carries the content hash it saw: the node compares against it.
    expect(offer).toMatchObject({ level: 'L2', args: { sha256: await sha256File(log) } })

    const proposed = await hygieneApply('log-redact-copy', log)
    expect(proposed.proposal).toMatchObject({ state: 'awaiting_approval', proposal: { level: 'L2' } })
    await new Promise((resolve) => setTimeout(resolve, 500))
    expect(await exists(copy)).toBe(false)

    const approved = await approve('carol', proposed.proposal.proposal.id)
    expect(approved.executionFrame?.data).toMatchObject({
      status: 'completed',
      result: { operation: 'log-redact-copy', copy, redactions: 1 },
    })
    const copied = await readFile(copy, 'utf8')
    expect(copied).not.toContain('hunter2')
    expect(copied).toBe('connecting with db_password=[redacted]\nready\n')
    expect((await readFile(log)).equals(original)).toBe(true)
    expect((await stat(log)).mtimeMs).toBe(before.mtimeMs)
  })

  it('log-redact-copy refuses a log changed after the plan, and a path outside hostOps.logSources', async () => {
    const log = join(work, 'app.log')
    const copy = `${log}.redacted`
    const copyBefore = await readFile(copy, 'utf8')
    // A new line before the plan: a new hash, so a new proposal (not the one already approved).
    await appendFile(log, 'reconnected\n')
    const proposed = await hygieneApply('log-redact-copy', log)
    expect(proposed.proposal.state).toBe('awaiting_approval')
    await appendFile(log, 'token=abc123 appended after the plan\n')
    const refused = await approve('carol', proposed.proposal.proposal.id)
    // Guard: the hash of the bytes read at execution against the one approved.
    expect(refused.executionFrame?.data).toMatchObject({
      status: 'failed',
      result: { error: 'file-changed' },
    })
    expect(await readFile(copy, 'utf8')).toBe(copyBefore)

    // Not offered by the plan: the CLI refuses before anything is proposed.
    const outside = join(work, 'outside/keep.bin')
    const unoffered = await asOperator('bob', ['hygiene-apply', 'field-1', 'log-redact-copy', outside])
    expect(unoffered.code).not.toBe(0)
    expect(unoffered.stderr).toContain('offers no log-redact-copy')
    // Proposed by hand, citing a real hygiene plan: the node's own path check refuses it.
    await plan()
    const frames = await jsonAs<{ frames: { frameId: string; data: { workflow: string } }[] }>('bob', [
      'world',
      '--kind',
      'host_findings',
    ])
    const planFrame = frames.frames.filter((frame) => frame.data.workflow === 'hygiene-plan').at(-1)
    const byHand = await jsonAs<{ proposal: ProposalJson }>('bob', [
      'propose',
      'host:field-1',
      'log-redact-copy',
      '--arg',
      `path=${outside}`,
      '--arg',
      `sha256=${await sha256File(outside)}`,
      '--evidence',
      String(planFrame?.frameId),
    ])
    const outsideRefused = await approve('carol', byHand.proposal.proposal.id)
    expect(outsideRefused.executionFrame?.data).toMatchObject({
      status: 'failed',
      result: { error: 'outside-configured-paths' },
    })
    expect(await exists(`${outside}.redacted`)).toBe(false)
    expect(await readFile(outside, 'utf8')).toBe('outside every configured path')
  })

  it('security-check reports a world-readable secret; secret-quarantine moves it to 0600 with a manifest', async () => {
    const secret = join(work, 'secrets/db.env')
    await writeFile(secret, 'DB_PASSWORD=correct-horse\n')
    await chmod(secret, 0o644)
    const hash = await sha256File(secret)
    const security = await jsonAs<PlanJson>('bob', ['security-check', '--node', 'field-1'])
    expect(security.findings.find((finding) => finding.id === 'exposed-secrets')).toMatchObject({
      status: 'fail',
      evidence: [{ source: secret }],
    })

    const proposed = await hygieneApply('secret-quarantine', secret)
    expect(proposed.proposal).toMatchObject({ state: 'awaiting_approval', proposal: { level: 'L2' } })
    await new Promise((resolve) => setTimeout(resolve, 500))
    expect(await exists(secret)).toBe(true)

    const approved = await approve('carol', proposed.proposal.proposal.id)
    expect(approved.executionFrame?.data).toMatchObject({
      status: 'completed',
      result: { operation: 'secret-quarantine', path: secret, mode: '0644' },
    })
    const id = String(approved.executionFrame?.data.result['id'])
    const moved = join(quarantineDir(field.stateDir), id, 'db.env')
    expect(await exists(secret)).toBe(false)
    expect((await stat(moved)).mode & 0o777).toBe(0o600)
    expect((await stat(join(quarantineDir(field.stateDir), id))).mode & 0o777).toBe(0o700)
    expect(await readFile(moved, 'utf8')).toBe('DB_PASSWORD=correct-horse\n')
    const manifest = JSON.parse(
      await readFile(join(quarantineDir(field.stateDir), id, 'manifest.json'), 'utf8'),
    ) as QuarantineManifest
    expect(manifest).toMatchObject({
      originalPath: secret,
      mode: '0644',
      sha256: hash,
      quarantinedPath: moved,
    })
  })

  it('secret-quarantine refuses a secret changed after the plan and leaves it where it was', async () => {
    const secret = join(work, 'secrets/deploy.key')
    await writeFile(secret, 'first key\n')
    await chmod(secret, 0o640)
    const proposed = await hygieneApply('secret-quarantine', secret)
    expect(proposed.proposal.state).toBe('awaiting_approval')
    await writeFile(secret, 'rotated key\n')
    const quarantinedBefore = await readdir(quarantineDir(field.stateDir))
    const refused = await approve('carol', proposed.proposal.proposal.id)
    expect(refused.executionFrame?.data).toMatchObject({
      status: 'failed',
      result: { error: 'file-changed' },
    })
    expect(await readFile(secret, 'utf8')).toBe('rotated key\n')
    expect((await stat(secret)).mode & 0o777).toBe(0o640)
    expect(await readdir(quarantineDir(field.stateDir))).toEqual(quarantinedBefore)
  })
})
