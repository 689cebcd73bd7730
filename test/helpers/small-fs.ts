/**
 * Test helper: small real file systems that run out of space, so a test
 * meets the kernel's own ENOSPC instead of a thrown mock. Needs root (mount).
 *
 * - {@link mountTmpfs}: a size-limited tmpfs. When it is full, `write()`
 *   itself fails with ENOSPC (tmpfs has no writeback; fdatasync is a no-op).
 * - {@link mountLoopExt4}: an ext4 image on a loop device whose backing file
 *   lives on a small tmpfs. The ext4 side believes it has room, so `write()`
 *   succeeds into the page cache; the loop device's writeback then fails when
 *   the backing tmpfs is full, and `fdatasync` returns EIO (the journal
 *   aborts and the file system turns read-only): the "fsync failed" case a
 *   durable store must handle. Why ext4 with its journal: without one (ext2,
 *   or ext4 `-O ^has_journal`) the first fdatasync after the device filled
 *   returned 0 on this machine's kernel (6.18) for writes under ~64 KiB
 *   while the data never reached the image; only the next one failed. A test
 *   on that set-up would blame the store for the kernel's lie.
 *
 * Every mount is recorded and {@link unmountAll} removes them (lazy unmount
 * as a last resort, so a failing test never leaves a mount behind).
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { closeSync, mkdirSync, mkdtempSync, openSync, rmSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const mounted: string[] = [];

/**
 * Why small file systems cannot be mounted here, or undefined when they can
 * (root, a working `mount -t tmpfs`, and for loop mounts losetup and mkfs.ext4).
 */
export function smallFsUnavailable(needLoop: boolean): string | undefined {
  if (process.getuid?.() !== 0) return 'not running as root (mounting a small file system needs root)';
  const dir = mkdtempSync(join(tmpdir(), 'vcp-mount-probe-'));
  try {
    const m = spawnSync('mount', ['-t', 'tmpfs', '-o', 'size=64k', 'tmpfs', dir], { encoding: 'utf8' });
    if (m.error || m.status !== 0) return `mount -t tmpfs failed: ${m.stderr?.trim() || m.error?.message}`;
    spawnSync('umount', [dir]);
    if (needLoop) {
      for (const tool of ['losetup', 'mkfs.ext4']) {
        const r = spawnSync(tool, ['--version'], { encoding: 'utf8' });
        if (r.error) return `${tool} is not installed (Debian packages util-linux, e2fsprogs)`;
      }
      const loop = spawnSync('losetup', ['-f'], { encoding: 'utf8' });
      if (loop.status !== 0) return `no free loop device: ${loop.stderr.trim()}`;
    }
    return undefined;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Mount a tmpfs of `bytes` at `dir` (created). */
export function mountTmpfs(dir: string, bytes: number): void {
  mkdirSync(dir, { recursive: true });
  execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${bytes},mode=0700`, 'tmpfs', dir]);
  mounted.push(dir);
}

/**
 * An ext4 file system of `imageBytes` (sparse) mounted at `dir`, its image on
 * a tmpfs of `backingBytes` mounted at `backingDir`. Returns the image path.
 */
export function mountLoopExt4(
  dir: string,
  backingDir: string,
  backingBytes: number,
  imageBytes: number,
): string {
  mountTmpfs(backingDir, backingBytes);
  const image = join(backingDir, 'fs.img');
  execFileSync('truncate', ['-s', String(imageBytes), image]);
  execFileSync('mkfs.ext4', ['-q', '-F', '-b', '4096', '-m', '0', image]);
  mountImage(image, dir);
  return image;
}

/** Mount an ext4 image at `dir` through a loop device (again, after {@link unmount}). */
export function mountImage(image: string, dir: string): void {
  mkdirSync(dir, { recursive: true });
  execFileSync('mount', ['-o', 'loop', image, dir]);
  mounted.push(dir);
}

/** Unmount one mount point (dropping its page cache: what is read next comes from the device). */
export function unmount(dir: string): void {
  execFileSync('umount', [dir]);
  const at = mounted.lastIndexOf(dir);
  if (at !== -1) mounted.splice(at, 1);
}

/** Unmount everything this helper mounted, newest first. */
export function unmountAll(): void {
  while (mounted.length) {
    const dir = mounted.pop()!;
    if (spawnSync('umount', [dir]).status !== 0) spawnSync('umount', ['-l', dir]);
  }
}

/**
 * Fill the file system holding `file` until the kernel says ENOSPC: big
 * chunks first, then smaller ones down to one byte. Returns the bytes written.
 */
export function fillUntilFull(file: string): number {
  const fd = openSync(file, 'a');
  let total = 0;
  try {
    for (const size of [1 << 20, 1 << 16, 1 << 12, 1 << 9, 1]) {
      const chunk = Buffer.alloc(size, 0x46);
      for (;;) {
        try {
          total += writeSync(fd, chunk);
        } catch (e) {
          if ((e as NodeJS.ErrnoException).code === 'ENOSPC') break;
          throw e;
        }
      }
    }
  } finally {
    closeSync(fd);
  }
  return total;
}
