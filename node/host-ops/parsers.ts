/**
 * Parsers of what host tools and system files print: pure functions over text, unit-tested on
 * output captured in test/fixtures/host-ops/ (parsers.test.ts).
 */

export interface SystemdUnitLine {
  readonly unit: string
  readonly load: string
  readonly active: string
  readonly sub: string
  readonly description: string
}

/** `systemctl list-units --failed --no-legend --plain --no-pager` */
export function parseSystemctlUnits(text: string): SystemdUnitLine[] {
  const units: SystemdUnitLine[] = []
  for (const raw of text.split('\n')) {
    // Older systemd prints a "●" marker before failed units even with --plain.
    const line = raw.replace(/^\s*[●*]\s*/, '').trim()
    if (line === '') continue
    const [unit, load, active, sub, ...description] = line.split(/\s+/)
    if (unit === undefined || sub === undefined || load === undefined || active === undefined) continue
    if (!/\.[a-z]+$/.test(unit)) continue
    units.push({ unit, load, active, sub, description: description.join(' ') })
  }
  return units
}

/** `systemctl show UNIT --property=...`: `Key=value` lines. */
export function parseKeyValues(text: string): Record<string, string> {
  const values: Record<string, string> = {}
  for (const line of text.split('\n')) {
    const at = line.indexOf('=')
    if (at <= 0) continue
    values[line.slice(0, at)] = line.slice(at + 1)
  }
  return values
}

export interface SshdSettings {
  readonly passwordAuthentication?: string
  readonly permitRootLogin?: string
  readonly port?: string
  readonly listenAddresses: readonly string[]
}

/** The global part of an sshd_config (before any `Match`): sshd uses the first value it reads. */
export function parseSshdConfig(text: string): SshdSettings {
  const first = new Map<string, string>()
  const listenAddresses: string[] = []
  for (const raw of text.split('\n')) {
    const line = raw.replace(/#.*/, '').trim()
    if (line === '') continue
    const [keyword, ...rest] = line.split(/\s+|=/).filter((part) => part !== '')
    if (keyword === undefined) continue
    const key = keyword.toLowerCase()
    if (key === 'match') break
    const value = rest.join(' ')
    if (key === 'listenaddress') listenAddresses.push(value)
    else if (!first.has(key)) first.set(key, value)
  }
  const pick = (key: string) => first.get(key)
  return {
    ...(pick('passwordauthentication') === undefined
      ? {}
      : { passwordAuthentication: pick('passwordauthentication') }),
    ...(pick('permitrootlogin') === undefined ? {} : { permitRootLogin: pick('permitrootlogin') }),
    ...(pick('port') === undefined ? {} : { port: pick('port') }),
    listenAddresses,
  }
}

export interface PasswdUser {
  readonly name: string
  readonly uid: number
  readonly gid: number
  readonly home: string
  readonly shell: string
}

const NO_LOGIN_SHELLS = /(\/nologin|\/false|\/sync|\/shutdown|\/halt)$/

/** `/etc/passwd`: every account, and whether it can log in with a shell. */
export function parsePasswd(text: string): PasswdUser[] {
  const users: PasswdUser[] = []
  for (const line of text.split('\n')) {
    const fields = line.split(':')
    if (fields.length < 7 || line.startsWith('#')) continue
    const uid = Number(fields[2])
    if (!Number.isInteger(uid)) continue
    const gid = Number(fields[3])
    users.push({
      name: fields[0] as string,
      uid,
      gid: Number.isInteger(gid) ? gid : uid,
      home: fields[5] as string,
      shell: fields[6] as string,
    })
  }
  return users
}

export function hasLoginShell(user: PasswdUser): boolean {
  return user.shell !== '' && !NO_LOGIN_SHELLS.test(user.shell)
}

export interface ListeningSocket {
  readonly protocol: 'tcp' | 'tcp6'
  readonly address: string
  readonly port: number
  readonly inode: number
}

const TCP_LISTEN = '0A'

/** `/proc/net/tcp` or `/proc/net/tcp6`: the sockets in LISTEN state. */
export function parseProcNetTcp(text: string, protocol: 'tcp' | 'tcp6'): ListeningSocket[] {
  const sockets: ListeningSocket[] = []
  for (const line of text.split('\n').slice(1)) {
    const fields = line.trim().split(/\s+/)
    if (fields.length < 10 || fields[3] !== TCP_LISTEN) continue
    const [hexAddress, hexPort] = (fields[1] as string).split(':')
    if (hexAddress === undefined || hexPort === undefined) continue
    sockets.push({
      protocol,
      address: protocol === 'tcp' ? ipv4FromHex(hexAddress) : ipv6FromHex(hexAddress),
      port: Number.parseInt(hexPort, 16),
      inode: Number(fields[9]),
    })
  }
  return sockets
}

/** /proc/net/tcp prints the address as one little-endian 32-bit word. */
function ipv4FromHex(hex: string): string {
  const bytes = hex.match(/../g)?.map((byte) => Number.parseInt(byte, 16)) ?? []
  return bytes.reverse().join('.')
}

/** /proc/net/tcp6 prints four little-endian 32-bit words. */
function ipv6FromHex(hex: string): string {
  const groups: string[] = []
  for (let word = 0; word < 4; word++) {
    const bytes =
      hex
        .slice(word * 8, word * 8 + 8)
        .match(/../g)
        ?.reverse() ?? []
    groups.push(`${bytes[0]}${bytes[1]}`, `${bytes[2]}${bytes[3]}`)
  }
  const full = groups.map((group) => group.replace(/^0+(?=.)/, '').toLowerCase()).join(':')
  if (full === '0:0:0:0:0:0:0:0') return '::'
  if (full === '0:0:0:0:0:0:0:1') return '::1'
  const mapped = /^0:0:0:0:0:ffff:([0-9a-f]+):([0-9a-f]+)$/.exec(full)
  if (mapped !== null) {
    const high = Number.parseInt(mapped[1] as string, 16)
    const low = Number.parseInt(mapped[2] as string, 16)
    return `::ffff:${high >> 8}.${high & 255}.${low >> 8}.${low & 255}`
  }
  return full
}

export function isLoopback(address: string): boolean {
  return address.startsWith('127.') || address === '::1' || address.startsWith('::ffff:127.')
}

/** `apt-get -s upgrade`: the packages it would install, and which of them come from a security pocket. */
export function parseAptSimulation(text: string): { upgrades: string[]; security: string[] } {
  const upgrades: string[] = []
  const security: string[] = []
  for (const line of text.split('\n')) {
    const match = /^Inst (\S+)/.exec(line)
    if (match === null) continue
    upgrades.push(match[1] as string)
    if (/-security|Security/.test(line)) security.push(match[1] as string)
  }
  return { upgrades, security }
}

export interface LogPattern {
  readonly level: 'error' | 'warning'
  readonly pattern: string
  count: number
  firstSeen: string | undefined
  lastSeen: string | undefined
  readonly cited: string[]
}

const ERROR_WORDS =
  /\b(error|err|fatal|failed|failure|panic|critical|crit|emerg|alert|segfault|exception|traceback)\b/i
const WARNING_WORDS = /\b(warn|warning|deprecated|timeout|timed out|retry|retrying|refused|denied)\b/i
/** `2024-05-06T09:12:01+0000` (journalctl -o short-iso), `2024-05-06T09:12:01.123Z`, or syslog's `May  6 09:12:01`. */
const TIMESTAMP =
  /^(\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}:\d{2}(?:\.\d+)?(?:Z|[+-]\d{2}:?\d{2})?|[A-Z][a-z]{2} [ \d]\d \d{2}:\d{2}:\d{2})/

/** The message of a line without its timestamp, host and process prefix (journal and syslog form). */
function messageOf(line: string): { timestamp: string | undefined; message: string } {
  const timestamp = TIMESTAMP.exec(line)?.[1]
  let rest = timestamp === undefined ? line : line.slice(timestamp.length).trim()
  // "host process[pid]: message"
  const prefix = /^\S+ [^\s:]+(?:\[\d+\])?: /.exec(rest)
  if (timestamp !== undefined && prefix !== null) rest = rest.slice(prefix[0].length)
  return { timestamp, message: rest }
}

/** What stays the same between two lines of one kind: numbers, hex, addresses and quoted values
 * become placeholders. */
export function patternOf(message: string): string {
  return message
    .replace(/"[^"]*"|'[^']*'/g, '"…"')
    .replace(/\b\d{1,3}(\.\d{1,3}){3}(:\d+)?\b/g, '<ip>')
    .replace(/\b0x[0-9a-f]+\b|\b[0-9a-f]{12,}\b/gi, '<hex>')
    .replace(/\d+/g, '<n>')
    .replace(/\s+/g, ' ')
    .trim()
    .slice(0, 200)
}

/** Error and warning lines grouped by pattern, most frequent first, each with first/last seen and
 * a few cited lines. */
export function groupLogPatterns(
  lines: readonly string[],
  limits: { patterns: number; citedPerPattern: number },
): { patterns: LogPattern[]; errorLines: number; warningLines: number; scanned: number } {
  const groups = new Map<string, LogPattern>()
  let errorLines = 0
  let warningLines = 0
  for (const line of lines) {
    if (line.trim() === '') continue
    const { timestamp, message } = messageOf(line)
    const level = ERROR_WORDS.test(message) ? 'error' : WARNING_WORDS.test(message) ? 'warning' : undefined
    if (level === undefined) continue
    if (level === 'error') errorLines++
    else warningLines++
    const pattern = patternOf(message)
    const key = `${level}\u0000${pattern}`
    let group = groups.get(key)
    if (group === undefined) {
      group = { level, pattern, count: 0, firstSeen: timestamp, lastSeen: timestamp, cited: [] }
      groups.set(key, group)
    }
    group.count++
    group.lastSeen = timestamp ?? group.lastSeen
    if (group.cited.length < limits.citedPerPattern) group.cited.push(line.slice(0, 300))
  }
  const patterns = [...groups.values()]
    .sort((a, b) => (a.level === b.level ? b.count - a.count : a.level === 'error' ? -1 : 1))
    .slice(0, limits.patterns)
  return { patterns, errorLines, warningLines, scanned: lines.length }
}

/** The programs of an `ExecStart=` line of `systemctl show` (systemd prints each command as
 * `{ path=/usr/bin/x ; argv[]=/usr/bin/x --flag ; ignore_errors=no ; … }`); a unit file's raw form
 * (`ExecStart=-/usr/bin/x --flag`) is read too, its prefix characters dropped. */
export function parseExecStartPaths(value: string): string[] {
  const paths = [...value.matchAll(/\bpath=([^\s;]+)/g)].map((match) => match[1] as string)
  if (paths.length > 0) return paths
  const raw = /^[-@:+!]*(\/\S+)/.exec(value.trim())
  return raw === null ? [] : [raw[1] as string]
}
