/**
 * Serving the built console from a directory: safe path resolution (no traversal, no symlink
 * escape), MIME types, cache headers a service worker can live with, and gzip/brotli.
 */
import { realpath, stat } from 'node:fs/promises'
import { extname, join, sep } from 'node:path'
import { HASHED_ASSET_PATTERN, IMMUTABLE_MAX_AGE_S, MAX_REQUEST_PATH_LENGTH } from './constants.ts'

export const MIME_TYPES: Readonly<Record<string, string>> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.webmanifest': 'application/manifest+json; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.jpg': 'image/jpeg',
  '.jpeg': 'image/jpeg',
  '.webp': 'image/webp',
  '.ico': 'image/x-icon',
  '.woff': 'font/woff',
  '.woff2': 'font/woff2',
  '.wasm': 'application/wasm',
  '.txt': 'text/plain; charset=utf-8',
  '.crt': 'application/x-x509-ca-cert',
}

const COMPRESSIBLE = new Set([
  '.html',
  '.js',
  '.mjs',
  '.css',
  '.json',
  '.webmanifest',
  '.map',
  '.svg',
  '.txt',
])

export function mimeTypeOf(path: string): string {
  return MIME_TYPES[extname(path).toLowerCase()] ?? 'application/octet-stream'
}

export function isCompressible(path: string): boolean {
  return COMPRESSIBLE.has(extname(path).toLowerCase())
}

/**
 * `no-cache` (revalidate with the ETag every time) for the service worker, the page and the
 * manifest, so a new console build is picked up on the next load; a year and `immutable` for
 * content-hashed assets, which the service worker precaches anyway.
 */
export function cacheControlFor(relativePath: string): string {
  const name = relativePath.split('/').at(-1) ?? ''
  if (name === 'sw.js' || name === 'registerSW.js' || name === 'index.html' || name.endsWith('.webmanifest'))
    return 'no-cache'
  if (HASHED_ASSET_PATTERN.test(name)) return `public, max-age=${IMMUTABLE_MAX_AGE_S}, immutable`
  return 'no-cache'
}

export type ResolvedPath =
  | { kind: 'file'; path: string; relativePath: string; size: number; mtimeMs: number }
  | { kind: 'missing'; relativePath: string }
  | { kind: 'refused'; reason: 'traversal' | 'malformed' | 'too-long' }

/**
 * Maps a request path onto a file under `root` (a real path). `..` segments, encoded slashes and
 * NUL bytes are refused outright rather than normalised away, and a symlink that leads outside the
 * root is treated as a refusal too.
 */
export async function resolveUnderRoot(root: string, requestPath: string): Promise<ResolvedPath> {
  if (requestPath.length > MAX_REQUEST_PATH_LENGTH) return { kind: 'refused', reason: 'too-long' }
  let decoded: string
  try {
    decoded = decodeURIComponent(requestPath)
  } catch {
    return { kind: 'refused', reason: 'malformed' }
  }
  if (!decoded.startsWith('/') || decoded.includes('\0') || decoded.includes('\\'))
    return { kind: 'refused', reason: 'malformed' }
  const segments = decoded.split('/').filter((segment) => segment !== '' && segment !== '.')
  if (segments.some((segment) => segment === '..')) return { kind: 'refused', reason: 'traversal' }
  const relativePath = segments.length === 0 ? 'index.html' : segments.join('/')
  const candidate = join(root, ...relativePath.split('/'))
  try {
    const real = await realpath(candidate)
    if (real !== root && !real.startsWith(root + sep)) return { kind: 'refused', reason: 'traversal' }
    const info = await stat(real)
    if (info.isDirectory()) {
      const index = join(real, 'index.html')
      const indexInfo = await stat(index).catch(() => undefined)
      if (indexInfo === undefined || !indexInfo.isFile()) return { kind: 'missing', relativePath }
      return {
        kind: 'file',
        path: index,
        relativePath: `${relativePath}/index.html`,
        size: indexInfo.size,
        mtimeMs: indexInfo.mtimeMs,
      }
    }
    if (!info.isFile()) return { kind: 'missing', relativePath }
    return { kind: 'file', path: real, relativePath, size: info.size, mtimeMs: info.mtimeMs }
  } catch {
    return { kind: 'missing', relativePath }
  }
}

/** A request the single-page app should answer itself (client-side routes such as `/twin`). */
export function wantsSpaFallback(relativePath: string, accept: string | undefined): boolean {
  return (
    extname(relativePath) === '' &&
    (accept === undefined || accept.includes('text/html') || accept.includes('*/*'))
  )
}

/** Picks brotli over gzip when the client accepts both (q=0 means refused). */
export function pickEncoding(acceptEncoding: string | undefined): 'br' | 'gzip' | undefined {
  if (acceptEncoding === undefined) return undefined
  const accepted = new Map<string, number>()
  for (const part of acceptEncoding.split(',')) {
    const [name, ...params] = part.trim().toLowerCase().split(';')
    if (name === undefined || name === '') continue
    const q = params.map((param) => param.trim()).find((param) => param.startsWith('q='))
    accepted.set(name, q === undefined ? 1 : Number(q.slice(2)))
  }
  const allows = (name: string) => (accepted.get(name) ?? accepted.get('*') ?? 0) > 0
  if (allows('br')) return 'br'
  if (allows('gzip')) return 'gzip'
  return undefined
}
