/**
 * One writer per data folder: a `LOCK` file holding the owner's pid, made
 * with O_EXCL. Two sidecars appending to the same segment would interleave
 * records and corrupt the log, so a second one refuses to start. A lock left
 * by a process that no longer exists (killed with SIGKILL) is taken over.
 */
import { readFileSync, unlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { VcpConfigError, VcpIoError } from '../../../core/errors.ts';

/** Name of the lock file inside the data folder. */
export const LOCK_FILE = 'LOCK';

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    // EPERM: the process exists but belongs to someone else.
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * The folder's lock is held by a live process (or by another store in this
 * process): a `VcpConfigError`, so callers that do not care see the usual
 * configuration error; the cluster mode waits and retries on it while the
 * previous owner of a partition finishes its hand-over.
 */
export class LockBusyError extends VcpConfigError {
  /** Pid of the holder (`process.pid` when it is another store of this process). */
  readonly owner: number;

  constructor(message: string, owner: number) {
    super(message);
    this.owner = owner;
  }
}

/** Lock files held by this process (a second open in the same process is refused too). */
const held = new Set<string>();

/** Take the folder's lock; returns a function that releases it. */
export function acquireLock(dir: string): () => void {
  const path = join(dir, LOCK_FILE);
  if (held.has(path)) {
    throw new LockBusyError(
      `data folder ${dir} is already open in this process; close the other store first`,
      process.pid,
    );
  }
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      writeFileSync(path, `${process.pid}\n`, { flag: 'wx', mode: 0o644 });
      held.add(path);
      return () => {
        held.delete(path);
        try {
          if (readFileSync(path, 'utf8').trim() === String(process.pid)) unlinkSync(path);
        } catch {
          // already gone
        }
      };
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') {
        throw new VcpIoError(`cannot create ${path}: ${(e as Error).message}`, { cause: e });
      }
    }
    let owner = Number.NaN;
    try {
      owner = Number.parseInt(readFileSync(path, 'utf8').trim(), 10);
    } catch {
      // vanished between the two calls: try again
    }
    if (Number.isSafeInteger(owner) && owner > 0 && owner !== process.pid && alive(owner)) {
      throw new LockBusyError(
        `data folder ${dir} is in use by process ${owner} (${path}); stop that sidecar or use another --data-dir`,
        owner,
      );
    }
    // Stale (its owner is gone, or it names this pid but this process does not hold it): remove and retry.
    try {
      unlinkSync(path);
    } catch {
      // someone else removed it
    }
  }
  throw new VcpIoError(`cannot take the lock ${path}`);
}
