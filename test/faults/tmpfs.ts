/**
 * A small tmpfs for full-disk tests: mounted over a directory (its files copied in), filled to the
 * last byte with a filler file, and given space back by removing it. Needs root (mount); tests skip
 * with a message when the mount is not permitted.
 */
import { execFile } from 'node:child_process'
import { mkdtemp, open, rm, statfs } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'

const execFileAsync = promisify(execFile)
const FILL_CHUNK_BYTES = 64 * 1024

export async function canMountTmpfs(): Promise<boolean> {
  if (process.getuid?.() !== 0) return false
  const probe = await mkdtemp(join(tmpdir(), 'clawmesh-tmpfs-probe-'))
  try {
    await execFileAsync('mount', ['-t', 'tmpfs', '-o', 'size=64k', 'tmpfs', probe])
    await execFileAsync('umount', [probe])
    return true
  } catch {
    return false
  } finally {
    await rm(probe, { recursive: true, force: true })
  }
}

export interface SmallDisk {
  readonly dir: string
  /** Writes a filler file until the file system refuses (ENOSPC): no byte left. */
  fill(): Promise<void>
  /** Removes the filler: the space returns. */
  free(): Promise<void>
  freeBytes(): Promise<number>
  unmount(): Promise<void>
}

/** Mounts a tmpfs of `sizeBytes` over `dir`, keeping what `dir` held. */
export async function mountSmallDisk(dir: string, sizeBytes: number): Promise<SmallDisk> {
  const saved = await mkdtemp(join(tmpdir(), 'clawmesh-tmpfs-save-'))
  await execFileAsync('cp', ['-a', `${dir}/.`, saved])
  await execFileAsync('mount', ['-t', 'tmpfs', '-o', `size=${sizeBytes},mode=0700`, 'tmpfs', dir])
  await execFileAsync('cp', ['-a', `${saved}/.`, dir])
  await rm(saved, { recursive: true, force: true })
  const filler = join(dir, 'filler.bin')
  return {
    dir,
    fill: async () => {
      const handle = await open(filler, 'a')
      try {
        const chunk = Buffer.alloc(FILL_CHUNK_BYTES, 0x5a)
        // Chunks, then single bytes, until the last byte is taken.
        for (const size of [FILL_CHUNK_BYTES, 4_096, 1]) {
          for (;;) {
            const written = await handle.write(chunk, 0, size).then(
              ({ bytesWritten }) => bytesWritten,
              () => 0,
            )
            if (written < size) break
          }
        }
      } finally {
        await handle.close()
      }
    },
    free: () => rm(filler, { force: true }),
    freeBytes: async () => {
      const stats = await statfs(dir)
      return stats.bavail * stats.bsize
    },
    unmount: async () => {
      await execFileAsync('umount', ['-l', dir]).catch(() => undefined)
    },
  }
}
