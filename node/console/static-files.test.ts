import { mkdir, mkdtemp, realpath, symlink, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { beforeAll, describe, expect, it } from 'vitest'
import {
  cacheControlFor,
  mimeTypeOf,
  pickEncoding,
  resolveUnderRoot,
  wantsSpaFallback,
} from './static-files.ts'

let root: string
let outside: string

beforeAll(async () => {
  const base = await realpath(await mkdtemp(join(tmpdir(), 'clawmesh-static-')))
  root = join(base, 'dist')
  outside = join(base, 'secret.txt')
  await mkdir(join(root, 'assets'), { recursive: true })
  await writeFile(join(root, 'index.html'), '<!doctype html>')
  await writeFile(join(root, 'assets', 'index-Ab12Cd34.js'), 'export {}')
  await writeFile(outside, 'secret')
  await symlink(outside, join(root, 'leak.txt'))
})

describe('resolveUnderRoot', () => {
  it('maps / to index.html and finds assets', async () => {
    expect(await resolveUnderRoot(root, '/')).toMatchObject({ kind: 'file', relativePath: 'index.html' })
    expect(await resolveUnderRoot(root, '/assets/index-Ab12Cd34.js')).toMatchObject({ kind: 'file' })
  })

  it.each([
    '/../secret.txt',
    '/assets/../../secret.txt',
    '/%2e%2e/secret.txt',
    '/assets/%2E%2E/%2e%2e/secret.txt',
  ])('refuses traversal in %s', async (path) => {
    expect(await resolveUnderRoot(root, path)).toEqual({ kind: 'refused', reason: 'traversal' })
  })

  it('refuses a symlink that leads outside the root', async () => {
    expect(await resolveUnderRoot(root, '/leak.txt')).toEqual({ kind: 'refused', reason: 'traversal' })
  })

  it.each(['/a%00b', '/..%5c..%5csecret.txt', '/%E0%A4%A'])('refuses malformed %s', async (path) => {
    expect(await resolveUnderRoot(root, path)).toEqual({ kind: 'refused', reason: 'malformed' })
  })

  it('reports a missing file without refusing it', async () => {
    expect(await resolveUnderRoot(root, '/twin')).toEqual({ kind: 'missing', relativePath: 'twin' })
  })
})

describe('headers', () => {
  it('never lets the service worker or the page be cached long, and hashed assets forever', () => {
    expect(cacheControlFor('sw.js')).toBe('no-cache')
    expect(cacheControlFor('index.html')).toBe('no-cache')
    expect(cacheControlFor('manifest.webmanifest')).toBe('no-cache')
    expect(cacheControlFor('assets/index-Ab12Cd34.js')).toContain('immutable')
    expect(cacheControlFor('workbox-5ffe50d4.js')).toContain('immutable')
    expect(cacheControlFor('icon-192.png')).toBe('no-cache')
  })

  it('gives JavaScript, manifests and wasm their MIME types', () => {
    expect(mimeTypeOf('a/b.js')).toBe('text/javascript; charset=utf-8')
    expect(mimeTypeOf('manifest.webmanifest')).toBe('application/manifest+json; charset=utf-8')
    expect(mimeTypeOf('x.wasm')).toBe('application/wasm')
    expect(mimeTypeOf('x.unknown')).toBe('application/octet-stream')
  })

  it('prefers brotli, honours q=0, and falls back to gzip or nothing', () => {
    expect(pickEncoding('gzip, deflate, br')).toBe('br')
    expect(pickEncoding('br;q=0, gzip')).toBe('gzip')
    expect(pickEncoding('identity')).toBeUndefined()
    expect(pickEncoding(undefined)).toBeUndefined()
  })

  it('falls back to the app for client routes, not for missing files', () => {
    expect(wantsSpaFallback('twin', 'text/html,application/xhtml+xml')).toBe(true)
    expect(wantsSpaFallback('assets/gone-Ab12Cd34.js', '*/*')).toBe(false)
  })
})
