/**
 * Benchmark: redaction of host logs (node/host-ops/redact-host.ts), the work of the
 * `log-redact-copy` repair (docs/host-operations.md#hygiene-repairs).
 *
 * A synthetic log of realistic lines (timestamps, levels, request lines, JSON bodies) with a secret
 * in about one line in 200 (password assignments, bearer tokens, AWS keys, provider keys, a private
 * key block) is redacted in memory at each size; the figure is ms per MiB, best of R rounds (the
 * machine is shared: the best round is the closest to the work itself), with the median beside it.
 *
 *   node test/bench/log-redact.bench.ts [--sizes 1,10,50] [--rounds 3]
 *
 * Then the whole `log-redact-copy` repair on a file of the largest size: read, SHA-256, redact,
 * atomic write of the copy (hygiene-repairs.ts), best and median of R rounds.
 *
 * Prints a table and writes test/bench/results/log-redact.json.
 */
import { createHash } from 'node:crypto'
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises'
import { loadavg, tmpdir } from 'node:os'
import { join } from 'node:path'
import { parseArgs } from 'node:util'
import { redactLogCopy } from '../../node/host-ops/hygiene-repairs.ts'
import { redactHostText } from '../../node/host-ops/redact-host.ts'
import { summarise } from './stats.ts'

const MIB = 1024 * 1024
const { values } = parseArgs({
  options: { sizes: { type: 'string', default: '1,10,50' }, rounds: { type: 'string', default: '3' } },
})
const sizes = values.sizes.split(',').map(Number)
const rounds = Number(values.rounds)

const PLAIN = [
  'INFO  http: GET /api/v1/status 200 1.3ms client=10.0.4.17',
  'WARN  worker[3]: queue depth 1843 above 1000, backing off 250ms',
  'DEBUG db: pool stats open=12 idle=9 wait=0 max_lifetime=30m',
  'INFO  sensor/zone-2: moisture=31.4 temp=18.2 battery=3.71V rssi=-71',
  'ERROR upload: connection reset by peer (retry 2/5) host=storage.example.net',
  'INFO  auth: user alice logged in from 192.168.1.20 method=publickey',
  '{"level":"info","msg":"request done","path":"/v1/jobs/8812","status":200,"bytes":5123}',
]
const SECRETS = [
  'WARN  config: db_password=hunter2-Very-Secret in /etc/app/app.conf',
  'DEBUG http: Authorization: Bearer eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.sig',
  'INFO  s3: using key AKIAIOSFODNN7EXAMPLE for bucket logs',
  'ERROR llm: provider said Incorrect API key sk-proj-abcdefghijklmnop1234',
  '{"level":"debug","msg":"env","API_TOKEN":"ghp_abcdefghijklmnopqrstuvwxyz0123456789"}',
  '-----BEGIN RSA PRIVATE KEY-----\nMIIEowIBAAKCAQEA0Z3VS5JJcds3xfn/ygWyF8PbnGy0AHB7MhgHcTz6sE2I2yPB\n-----END RSA PRIVATE KEY-----',
]

/** A log of `bytes` bytes (ASCII), one secret line in about 200. */
function syntheticLog(bytes: number): string {
  const lines: string[] = []
  let size = 0
  for (let index = 0; size < bytes; index++) {
    const stamp = new Date(1_760_000_000_000 + index * 37).toISOString()
    const body =
      index % 200 === 199 ? SECRETS[((index / 200) % SECRETS.length) | 0] : PLAIN[index % PLAIN.length]
    const line = `${stamp} ${body}\n`
    lines.push(line)
    size += line.length
  }
  return lines.join('')
}

const rows: Record<string, Record<string, string>> = {}
const results: { mib: number; msPerMib: ReturnType<typeof summarise>; totalMsBest: number }[] = []
for (const mib of sizes) {
  const text = syntheticLog(mib * MIB)
  const samples: number[] = []
  let out = ''
  for (let round = 0; round < rounds; round++) {
    const started = performance.now()
    out = redactHostText(text)
    samples.push(performance.now() - started)
  }
  if (/hunter2|AKIAIOSFODNN7EXAMPLE|ghp_abc|sk-proj-abc|MIIEowIBAAKCAQEA/.test(out))
    throw new Error('a secret survived the redaction: the bench measures broken code')
  const perMib = summarise(samples.map((ms) => ms / mib))
  results.push({ mib, msPerMib: perMib, totalMsBest: perMib.min * mib })
  rows[`${mib} MiB`] = {
    'best (ms)': (perMib.min * mib).toFixed(0),
    'median (ms)': (perMib.p50 * mib).toFixed(0),
    'best ms/MiB': perMib.min.toFixed(1),
    'median ms/MiB': perMib.p50.toFixed(1),
  }
}
// The repair end to end, on a file of the largest size.
const largest = Math.max(...sizes)
const dir = await mkdtemp(join(tmpdir(), 'clawmesh-redact-bench-'))
let repair: ReturnType<typeof summarise>
try {
  const log = join(dir, 'app.log')
  const bytes = Buffer.from(syntheticLog(largest * MIB), 'latin1')
  await writeFile(log, bytes)
  const sha256 = createHash('sha256').update(bytes).digest('hex')
  const samples: number[] = []
  for (let round = 0; round < rounds; round++) {
    const started = performance.now()
    const outcome = await redactLogCopy({ path: log, sha256 }, { logSources: [log] })
    samples.push(performance.now() - started)
    if (!outcome.ok) throw new Error(`log-redact-copy refused: ${outcome.code} ${outcome.message}`)
  }
  repair = summarise(samples)
} finally {
  await rm(dir, { recursive: true, force: true })
}
rows[`log-redact-copy, ${largest} MiB file`] = {
  'best (ms)': repair.min.toFixed(0),
  'median (ms)': repair.p50.toFixed(0),
  'best ms/MiB': (repair.min / largest).toFixed(1),
  'median ms/MiB': (repair.p50 / largest).toFixed(1),
}
const [load1, load5] = loadavg()
console.table(rows)
console.log(`load average ${load1?.toFixed(2)} / ${load5?.toFixed(2)} (1 / 5 min), ${rounds} rounds each`)
const root = join(import.meta.dirname, '../..')
await mkdir(join(root, 'test/bench/results'), { recursive: true })
await writeFile(
  join(root, 'test/bench/results/log-redact.json'),
  `${JSON.stringify({ takenAt: new Date().toISOString(), load1, load5, rounds, results, repairMs: { mib: largest, ...repair } }, null, 2)}\n`,
)
