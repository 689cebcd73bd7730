/**
 * Small synchronous helpers for files that must survive a crash once written:
 * every byte written, the file fsynced, and the directory entry fsynced.
 * Shared by the sinks (spool, dead letters, exit spool) and the sidecar
 * (signing key, repair quarantine).
 */
import * as fs from 'node:fs';

/** Write all of `data` at the file's position (a short write is continued, never dropped). */
export function writeAllSync(fd: number, data: Buffer): void {
  let off = 0;
  while (off < data.length) off += fs.writeSync(fd, data, off, data.length - off);
}

/** Create (`wx`: must not exist) or replace (`w`) a file, write it whole, fsync and close it. */
export function writeFileDurablySync(
  path: string,
  data: Buffer | string,
  options: { mode: number; flag: 'wx' | 'w' },
): void {
  const fd = fs.openSync(path, options.flag, options.mode);
  try {
    writeAllSync(fd, typeof data === 'string' ? Buffer.from(data, 'utf8') : data);
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
}

/** fsync a directory so a file created or renamed in it survives a crash. Best effort. */
export function fsyncDirSync(dir: string): void {
  let fd: number | undefined;
  try {
    fd = fs.openSync(dir, 'r');
    fs.fsyncSync(fd);
  } catch {
    // Some platforms and file systems refuse fsync on directories; the files' own fsync still holds their data.
  } finally {
    if (fd !== undefined) fs.closeSync(fd);
  }
}
