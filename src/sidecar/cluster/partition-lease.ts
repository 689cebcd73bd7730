/**
 * Who owns a partition's folder, across machines: `<data-dir>/p<N>/OWNER`.
 *
 * The file store's `LOCK` holds a pid, which only means something on the
 * machine that wrote it: on a folder shared by several machines a pid from
 * another host may look dead here (and be taken over while its owner still
 * writes) or alive (and be waited on forever). The cluster therefore takes
 * this lease before opening a partition's file store:
 *
 *     {"host":"node-a","pid":4242,"member":"vcp-sidecar-…","token":"…","beat":17}
 *
 * The holder rewrites it (`beat` + 1, write to a temporary file and rename)
 * every `refreshMs` while it owns the partition, and removes it when it
 * hands the partition over. Another process may take it when:
 *
 * - there is none, or it names this process;
 * - it names this host and a pid that no longer exists (killed: the group
 *   only assigns the partition after the broker dropped that member);
 * - it names another host and has not changed for `staleMs` as measured by
 *   the reader's own clock (so clocks need not agree): that holder stopped
 *   beating (it died, or lost the storage). The `LOCK` it left, whose pid is
 *   meaningless here, is then removed.
 *
 * A holder that is only frozen (a VM paused longer than `staleMs`) and then
 * resumes could still write once before it notices; `staleMs` must be far
 * above any pause you expect. PostgreSQL, whose appends check that they
 * continue the log, has no such window: prefer it across machines.
 */
import { randomBytes } from 'node:crypto';
import { readFileSync, renameSync, unlinkSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { LOCK_FILE } from '../store/file/lock.ts';

/** Name of the lease file inside a partition folder. */
export const OWNER_FILE = 'OWNER';

/** What the lease file says. */
export interface LeaseOwner {
  host: string;
  pid: number;
  member: string | null;
  /** Random per lease: tells two leases of one process apart. */
  token: string;
  beat: number;
}

/** Options of {@link tryAcquireLease}. */
export interface LeaseOptions {
  /** This machine's name (default `os.hostname()`). */
  host?: string;
  /** This process's group member id, for the record. */
  member?: string | null;
  /** How often the holder rewrites the lease, ms (default 2 000). */
  refreshMs?: number;
  /** How long a foreign lease must stay unchanged to be stale, ms (default 30 000). */
  staleMs?: number;
}

/** A held lease. */
export interface Lease {
  /** Stop beating and remove the lease file (if it is still ours). */
  release(): void;
}

/** Why the lease could not be taken now. */
export interface LeaseBusy {
  busy: string;
  owner: LeaseOwner;
}

/** What a reader remembers of a foreign lease between attempts (its text, and since when it is unchanged). */
export interface LeaseWatch {
  text: string;
  since: number;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function parse(text: string): LeaseOwner | undefined {
  try {
    const v = JSON.parse(text) as Partial<LeaseOwner>;
    if (typeof v.host === 'string' && Number.isSafeInteger(v.pid) && Number.isSafeInteger(v.beat)) {
      return {
        host: v.host,
        pid: v.pid!,
        member: typeof v.member === 'string' ? v.member : null,
        token: typeof v.token === 'string' ? v.token : '',
        beat: v.beat!,
      };
    }
  } catch {
    // torn or foreign content: treated as absent below
  }
  return undefined;
}

function write(dir: string, owner: LeaseOwner): void {
  const path = join(dir, OWNER_FILE);
  const tmp = `${path}.${owner.pid}.tmp`;
  writeFileSync(tmp, `${JSON.stringify(owner)}\n`, { mode: 0o644 });
  renameSync(tmp, path);
}

/**
 * Take the partition folder's lease if the rules in the module comment
 * allow; else say who holds it. `watch` carries what this caller saw last
 * time (pass the same object on every attempt for one partition).
 */
export function tryAcquireLease(
  dir: string,
  options: LeaseOptions,
  watch: { last?: LeaseWatch },
): Lease | LeaseBusy {
  const host = options.host ?? hostname();
  const staleMs = options.staleMs ?? 30_000;
  const path = join(dir, OWNER_FILE);
  let text: string | undefined;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
  }
  const current = text === undefined ? undefined : parse(text);
  let foreignStale = false;
  if (current && !(current.host === host && current.pid === process.pid)) {
    if (current.host === host) {
      if (alive(current.pid)) {
        return { busy: `process ${current.pid} on this host holds it`, owner: current };
      }
    } else {
      const now = Date.now();
      const last = watch.last;
      const seen: LeaseWatch = last !== undefined && last.text === text ? last : { text: text!, since: now };
      watch.last = seen;
      const unchanged = now - seen.since;
      if (unchanged < staleMs) {
        return {
          busy: `process ${current.pid} on host ${current.host} holds it (unchanged for ${Math.round(unchanged / 1000)} s; stale after ${Math.round(staleMs / 1000)} s)`,
          owner: current,
        };
      }
      foreignStale = true;
    }
  }
  const mine: LeaseOwner = {
    host,
    pid: process.pid,
    member: options.member ?? null,
    token: randomBytes(8).toString('hex'),
    beat: 0,
  };
  write(dir, mine);
  // The LOCK of a holder on another host names a pid that means nothing here.
  if (foreignStale) {
    try {
      unlinkSync(join(dir, LOCK_FILE));
    } catch {
      // none left
    }
  }
  watch.last = undefined;
  const timer = setInterval(() => {
    mine.beat++;
    try {
      // Only while it is still ours (another lease of this process may have replaced it).
      if (parse(readFileSync(path, 'utf8'))?.token === mine.token) write(dir, mine);
    } catch {
      // storage gone for a moment: the next beat tries again
    }
  }, options.refreshMs ?? 2000);
  timer.unref();
  let released = false;
  return {
    release() {
      if (released) return;
      released = true;
      clearInterval(timer);
      try {
        const now = parse(readFileSync(path, 'utf8'));
        if (now && now.token === mine.token) unlinkSync(path);
      } catch {
        // already gone
      }
    },
  };
}

/** What {@link inspectLease} sees of a partition folder's lease. */
export interface LeaseInspection {
  owner: LeaseOwner;
  /**
   * True: its holder is alive (this host: the pid exists; another host: it
   * beat within `staleMs`); false: it is dead or stale; on another host, for
   * the first `staleMs` a reader watches it, it counts as alive.
   */
  alive: boolean;
  /** How long the lease has been seen unchanged by this reader, ms. */
  unchangedMs: number;
}

/**
 * Read a partition folder's lease without taking it (for `/health`):
 * `undefined` when there is none (or it is unreadable). `watch` carries what
 * this reader saw last time, as for {@link tryAcquireLease}.
 */
export function inspectLease(
  dir: string,
  options: { host?: string; staleMs?: number },
  watch: { last?: LeaseWatch },
  now = Date.now(),
): LeaseInspection | undefined {
  let text: string;
  try {
    text = readFileSync(join(dir, OWNER_FILE), 'utf8');
  } catch {
    watch.last = undefined;
    return undefined;
  }
  const owner = parse(text);
  if (!owner) return undefined;
  const seen: LeaseWatch =
    watch.last !== undefined && watch.last.text === text ? watch.last : { text, since: now };
  watch.last = seen;
  const unchangedMs = now - seen.since;
  const host = options.host ?? hostname();
  const live = owner.host === host ? alive(owner.pid) : unchangedMs < (options.staleMs ?? 30_000);
  return { owner, alive: live, unchangedMs };
}
