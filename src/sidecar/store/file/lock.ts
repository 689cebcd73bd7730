/**
 * One writer per data folder, held for the whole life of the store.
 *
 * Two sidecars appending to the same segment would interleave records and
 * corrupt the log, so a second one must not start. Node has no `flock`, and
 * native modules are out, so the lock has two parts:
 *
 * 1. `LOCK`, a file holding the owner's pid, created with O_EXCL and kept
 *    open. Its identity (device + inode of the open descriptor) is compared
 *    with what the path names now on every `check()` (one `stat`, done on
 *    every group commit): if someone deleted or replaced the file, the lock
 *    is lost and the store stops writing. A `LOCK` left by a process that no
 *    longer exists (killed with SIGKILL) is taken over.
 * 2. On Linux, a listening socket in the abstract namespace named after the
 *    folder (device, inode and real path). The kernel frees it when the
 *    process dies, however it dies, and no file operation can remove it, so
 *    a second sidecar on the same host is refused even after `LOCK` was
 *    deleted. Connecting to it tells the holder's pid.
 */
import { createHash } from 'node:crypto';
import {
  closeSync,
  fstatSync,
  openSync,
  readFileSync,
  realpathSync,
  statSync,
  unlinkSync,
  writeSync,
} from 'node:fs';
import { connect, createServer, type Server } from 'node:net';
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
  /** Pid of the holder (`process.pid` when it is another store of this process; 0 when unknown). */
  readonly owner: number;

  constructor(message: string, owner: number) {
    super(message);
    this.owner = owner;
  }
}

/** A held folder lock. */
export interface FolderLock {
  /** Path of the `LOCK` file. */
  readonly path: string;
  /**
   * Why the lock no longer holds (`LOCK` removed or replaced), or undefined
   * while it does. Cheap (one `stat`); once lost it stays lost.
   */
  check(): string | undefined;
  /** Release both parts (removes `LOCK` only if it is still ours). Idempotent. */
  release(): Promise<void>;
}

/** Lock files held by this process (a second open in the same process is refused too). */
const held = new Set<string>();

/** Take the folder's lock. Throws {@link LockBusyError} when a live process holds it. */
export async function acquireLock(dir: string): Promise<FolderLock> {
  const path = join(dir, LOCK_FILE);
  if (held.has(path)) {
    throw new LockBusyError(
      `data folder ${dir} is already open in this process; close the other store first`,
      process.pid,
    );
  }
  held.add(path);
  let server: Server | undefined;
  try {
    server = await holdHostLock(dir);
    const fd = takeLockFile(dir, path);
    let mine: ReturnType<typeof fstatSync>;
    try {
      mine = fstatSync(fd);
    } catch (e) {
      closeSync(fd);
      throw new VcpIoError(`cannot stat ${path}: ${(e as Error).message}`, { cause: e });
    }
    let lost: string | undefined;
    let released = false;
    return {
      path,
      check() {
        if (lost || released) return lost;
        let now: ReturnType<typeof statSync>;
        try {
          now = statSync(path);
        } catch (e) {
          lost = `the lock file ${path} was removed (${(e as NodeJS.ErrnoException).code ?? (e as Error).message}) while this sidecar held it`;
          return lost;
        }
        if (now.ino !== mine.ino || now.dev !== mine.dev) {
          lost = `the lock file ${path} was replaced (it now says ${lockText(path)}) while this sidecar held it`;
        }
        return lost;
      },
      async release() {
        if (released) return;
        released = true;
        try {
          const now = statSync(path);
          if (now.ino === mine.ino && now.dev === mine.dev) unlinkSync(path);
        } catch {
          // already gone
        }
        closeSync(fd);
        await closeServer(server);
        held.delete(path);
      },
    };
  } catch (e) {
    await closeServer(server);
    held.delete(path);
    throw e;
  }
}

function lockText(path: string): string {
  try {
    return `"${readFileSync(path, 'utf8').trim().slice(0, 40)}"`;
  } catch {
    return 'nothing readable';
  }
}

/** Create `LOCK` (O_EXCL) with our pid and return its open descriptor; take over a stale one. */
function takeLockFile(dir: string, path: string): number {
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      const fd = openSync(path, 'wx', 0o644);
      try {
        writeSync(fd, `${process.pid}\n`);
      } catch (e) {
        closeSync(fd);
        try {
          unlinkSync(path);
        } catch {
          // gone already
        }
        throw new VcpIoError(`cannot write ${path}: ${(e as Error).message}`, { cause: e });
      }
      return fd;
    } catch (e) {
      if (e instanceof VcpIoError) throw e;
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

/** Abstract socket name of a folder: the same folder gives the same name, whatever path reaches it. */
function hostLockName(dir: string): string {
  const st = statSync(dir);
  const id = `${st.dev}:${st.ino}:${realpathSync(dir)}`;
  return `\0vcp-sidecar-lock-${createHash('sha256').update(id).digest('hex').slice(0, 40)}`;
}

/** Listen on the folder's abstract socket (Linux only; elsewhere only `LOCK` guards the folder). */
async function holdHostLock(dir: string): Promise<Server | undefined> {
  if (process.platform !== 'linux') return undefined;
  const name = hostLockName(dir);
  const server = createServer((socket) => {
    socket.on('error', () => {});
    socket.end(`${process.pid}\n`);
  });
  const outcome = await new Promise<'ok' | NodeJS.ErrnoException>((resolve) => {
    server.once('error', (e) => resolve(e as NodeJS.ErrnoException));
    server.listen(name, () => resolve('ok'));
  });
  if (outcome === 'ok') {
    server.unref();
    server.on('error', () => {});
    return server;
  }
  if (outcome.code !== 'EADDRINUSE') return undefined; // abstract sockets unavailable: rely on LOCK
  const owner = await askOwner(name);
  throw new LockBusyError(
    `data folder ${dir} is in use by process ${owner || '(unknown)'} on this host (it holds the folder's lock ` +
      `even if ${join(dir, LOCK_FILE)} was removed); stop that sidecar or use another --data-dir`,
    owner,
  );
}

/** The pid the holder of `name` tells on connection (0 when it does not answer within a second). */
function askOwner(name: string): Promise<number> {
  return new Promise((resolve) => {
    let text = '';
    const socket = connect(name);
    const done = (pid: number) => {
      clearTimeout(timer);
      socket.destroy();
      resolve(pid);
    };
    const timer = setTimeout(() => done(0), 1000);
    socket.setEncoding('utf8');
    socket.on('data', (c: string) => {
      text += c;
    });
    socket.on('end', () => {
      const pid = Number.parseInt(text.trim(), 10);
      done(Number.isSafeInteger(pid) && pid > 0 ? pid : 0);
    });
    socket.on('error', () => done(0));
  });
}

function closeServer(server: Server | undefined): Promise<void> {
  if (!server) return Promise.resolve();
  return new Promise((resolve) => server.close(() => resolve()));
}
