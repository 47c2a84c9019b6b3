/** The pieces host repairs decide with, on fixtures (test/fixtures/host-ops, see its README):
 * ExecStart and journal-usage parsers, the data-clean classifier, output redaction, and the run
 * user's resolution. */
import { mkdtemp, readFile, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { parseJournalUsageMb } from './autoheal.ts'
import { classifyDataPath } from './data-clean.ts'
import { parseExecStartPaths, parseKeyValues, parsePasswd } from './parsers.ts'
import { redactHostText } from './redact-host.ts'
import { resolveRunAccount } from './run-command.ts'

const FIXTURES = join(import.meta.dirname, '../../test/fixtures/host-ops')
const fixture = (name: string) => readFile(join(FIXTURES, name), 'utf8')

describe('host repair parsers', () => {
  it('reads the programs of ExecStart as systemctl show prints them, and as a unit file writes them', async () => {
    const flappy = parseKeyValues(await fixture('show-flappy.txt'))
    expect(parseExecStartPaths(flappy['ExecStart'] ?? '')).toEqual(['/opt/flappy/bin/flappy-agent'])
    expect(flappy['NRestarts']).toBe('212')
    const steady = parseKeyValues(await fixture('show-steady.txt'))
    expect(parseExecStartPaths(steady['ExecStart'] ?? '')).toEqual(['/bin/sh'])
    expect(parseExecStartPaths('-/usr/bin/env python3 app.py')).toEqual(['/usr/bin/env'])
    expect(parseExecStartPaths('')).toEqual([])
  })

  it('reads the journal size from journalctl --disk-usage', async () => {
    expect(parseJournalUsageMb(await fixture('journal-disk-usage.txt'))).toBeCloseTo(1228.8)
    expect(parseJournalUsageMb('Archived and active journals take up 56.0M in the file system.')).toBe(56)
    expect(parseJournalUsageMb('nonsense')).toBeUndefined()
  })

  it('reads gid and home from /etc/passwd (the run user)', async () => {
    const nobody = parsePasswd(await fixture('passwd.txt')).find((user) => user.name === 'nobody')
    expect(nobody).toMatchObject({ uid: 65534, gid: 65534, home: '/nonexistent' })
  })
})

describe('data-clean classification', () => {
  it('keeps final outputs whatever else the path says, and sorts candidates by category', () => {
    expect(classifyDataPath('final/model.ckpt')).toBe('final')
    expect(classifyDataPath('runs/7/model_final.bin')).toBe('final')
    expect(classifyDataPath('results/cache/x.bin')).toBe('final')
    expect(classifyDataPath('runs/7/checkpoints/step-100.pt')).toBe('checkpoint')
    expect(classifyDataPath('runs/7/epoch12.pt')).toBe('checkpoint')
    expect(classifyDataPath('src/__pycache__/a.cpython-312.pyc')).toBe('cache')
    expect(classifyDataPath('work/tmp/shard-3.parquet')).toBe('intermediate')
    expect(classifyDataPath('download.partial')).toBe('intermediate')
    expect(classifyDataPath('raw/2026-01-02/scan.bin')).toBe('raw')
    expect(classifyDataPath('notes/readme.md')).toBeUndefined()
  })
})

describe('redaction of machine output', () => {
  it('removes secret values, key blocks and key-shaped strings, keeping what the line was about', () => {
    const text = [
      'db_password=hunter2 user=app',
      'API_KEY: "abc123def456"',
      'aws AKIAABCDEFGHIJKLMNOP configured',
      '-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAA\n-----END OPENSSH PRIVATE KEY-----',
      'Authorization: Bearer abcdefghijklmnop1234',
      'all good: 3 files',
    ].join('\n')
    const redacted = redactHostText(text)
    for (const secret of [
      'hunter2',
      'abc123def456',
      'AKIAABCDEFGHIJKLMNOP',
      'b3BlbnNzaC1rZXktdjEAAAA',
      'abcdefghijklmnop1234',
    ])
      expect(redacted).not.toContain(secret)
    expect(redacted).toContain('db_password=[redacted] user=app')
    expect(redacted).toContain('all good: 3 files')
  })

  // Pins the assignment pattern that starts at the secret word (the faster form): the whole key
  // stays, whatever stands before the word, and only the value goes.
  it('keeps the whole key of an assignment and removes only its value', () => {
    expect(redactHostText('cfg.db_password = "s3cr3t pass" next')).toBe('cfg.db_password = [redacted] next')
    expect(redactHostText('MY-APP_TOKEN_V2:abc,other=1')).toBe('MY-APP_TOKEN_V2:[redacted],other=1')
    expect(redactHostText('x-api-key: abc; pwdHint=z')).toBe('x-api-key: [redacted]; pwdHint=[redacted]')
    expect(redactHostText('tokens issued: 4 of 9')).toBe('tokens issued: 4 of 9')
    expect(redactHostText('no secrets here, 12 items')).toBe('no secrets here, 12 items')
  })
})

describe('run user', () => {
  it('refuses uid 0 and unknown accounts, resolves an unprivileged one', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'clawmesh-passwd-'))
    const passwd = join(dir, 'passwd')
    await writeFile(passwd, await fixture('passwd.txt'))
    expect(await resolveRunAccount('toor', passwd)).toMatchObject({ code: 'run-user-privileged' })
    expect(await resolveRunAccount('nosuchuser', passwd)).toMatchObject({ code: 'run-user-unknown' })
    const nobody = await resolveRunAccount('nobody', passwd)
    if (process.getuid?.() === 0) expect(nobody).toMatchObject({ uid: 65534, gid: 65534 })
    else expect(nobody).toMatchObject({ code: 'run-user-unreachable' })
  })
})
