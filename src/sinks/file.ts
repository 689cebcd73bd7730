/**
 * The file sink: sealed events as append-only JSONL (one event a line), with
 * an explicit fsync policy, size rotation, and recovery of a torn last line
 * left by a crash.
 *
 * Each `write` appends its whole batch with one `write(2)` on the calling
 * thread (page-cache speed, about a microsecond a line) and then, in
 * `'every-write'` mode, waits for an `fdatasync` on the libuv thread pool
 * before resolving: a batch is a group commit. Appending synchronously keeps
 * the bytes in capture order whatever the thread pool does, and means a
 * process exiting mid-write never leaves half a batch behind in memory.
 *
 * Rotation: when the next line would take the file past `maxBytes`, the file
 * is fsynced, renamed to `<name>.<seq>.<ext>` (seq = 000001, 000002, … in
 * write order) and a new file is started at `path`. `listLogFiles(path)`
 * gives every file of the log, oldest first.
 *
 * One process a file: two processes appending to the same file can interleave
 * batches and the torn-line repair of one can cut the other's line.
 *
 * Signed checkpoints (export format v2), when given a signer (`signer`, or
 * the recorder's through `attachSigner`): each sink session and each file
 * after a rotation is a new segment — a `vcp_export` META line with a new
 * origin, then the events, with a `vcp_checkpoint` line every
 * `checkpointEvery` events and every `checkpointIntervalMs` (only when
 * events came since the last one), before a rotation and at `close`. A
 * checkpoint covers only events already fsynced before its line is appended
 * (policy `'never'`: already appended), so a crash can leave events after
 * the last checkpoint, never a checkpoint over events that are not there.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { VcpConfigError } from '../core/errors.ts';
import type { VcpEvent } from '../core/types.ts';
import { PRODUCERS } from '../integrity/export-meta.ts';
import { SignedSegment, type TreeHead } from '../integrity/signed-segment.ts';
import {
  appendAllSync,
  type EncodeScratch,
  encodeEvents,
  fsyncDir,
  repairTornTail,
  type TornTail,
} from './_jsonl.ts';
import { SinkError } from './errors.ts';
import { serializeEvent } from './serialize.ts';
import type { Sink, SinkSigner, SinkSigningInfo } from './sink.ts';

/** When the file sink forces its data to disk. */
export type FsyncPolicy = 'every-write' | 'interval' | 'never';

/** Options of {@link FileSink}. */
export interface FileSinkOptions {
  /** The active log file; its directory is created if missing. */
  path: string;
  /**
   * `'every-write'` (default): `write` resolves after `fdatasync` (nothing acknowledged is lost
   * in a crash). `'interval'`: `write` resolves after the append; an fsync runs every
   * `fsyncIntervalMs` and on `flush`/`close` (a crash can lose that window). `'never'`: the OS decides.
   */
  fsync?: FsyncPolicy;
  /** Period of `'interval'` fsyncs, ms (default 1000). */
  fsyncIntervalMs?: number;
  /** Rotate before the file would pass this many bytes (default: never rotate). */
  maxBytes?: number;
  /**
   * Called when opening found a partial last line (a crash mid-write) and cut it off.
   * Default: a process warning naming the file and the bytes removed.
   */
  onRecover?: (info: TornTail & { path: string }) => void;
  /** Called after a rotation with the rotated file's new name. */
  onRotate?: (rotatedPath: string) => void;
  /** File mode for new files (default 0o640: audit logs are not world-readable). */
  mode?: number;
  /**
   * Write signed checkpoints with this key (see the module comment). A recorder that
   * signs hands its own signer over by itself (`attachSigner`); this option wins.
   */
  signer?: SinkSigner;
  /** `policy_id` and `hash_algo` for the META line when `signer` is given here. */
  signing?: Partial<SinkSigningInfo>;
  /** A checkpoint after this many new events (default 1000). */
  checkpointEvery?: number;
  /** A checkpoint this often while new events come, ms (default 5000). */
  checkpointIntervalMs?: number;
}

/** Parts of a log path: `/d/vcp.jsonl` → dir `/d`, stem `vcp`, ext `.jsonl`. */
function splitLogPath(file: string): { dir: string; stem: string; ext: string } {
  const dir = path.dirname(file);
  const ext = path.extname(file);
  return { dir, stem: path.basename(file, ext), ext };
}

function rotatedPattern(stem: string, ext: string): RegExp {
  const esc = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  return new RegExp(`^${esc(stem)}\\.(\\d{6,})${esc(ext)}$`);
}

/**
 * Every file of a rotated log, oldest first: the rotated files by sequence
 * number, then the active file (if it exists).
 */
export function listLogFiles(file: string): string[] {
  const { dir, stem, ext } = splitLogPath(file);
  const re = rotatedPattern(stem, ext);
  let names: string[] = [];
  try {
    names = fs.readdirSync(dir);
  } catch {
    return [];
  }
  const rotated = names
    .map((n) => ({ n, m: re.exec(n) }))
    .filter((x): x is { n: string; m: RegExpExecArray } => x.m !== null)
    .sort((a, b) => Number(a.m[1]) - Number(b.m[1]))
    .map((x) => path.join(dir, x.n));
  if (fs.existsSync(file)) rotated.push(file);
  return rotated;
}

interface OpenFile {
  fd: number;
  /** Async fsyncs running on this descriptor; it is closed only when none are. */
  syncing: number;
  retired: boolean;
}

/** Append-only JSONL file of sealed events. */
export class FileSink implements Sink {
  readonly name: string;
  /** The active file's path. */
  readonly path: string;
  readonly #policy: FsyncPolicy;
  readonly #maxBytes: number;
  readonly #mode: number;
  readonly #onRotate: ((p: string) => void) | undefined;
  #file: OpenFile;
  #size: number;
  #seq: number;
  #dirty = false;
  #closed = false;
  #timer: NodeJS.Timeout | undefined;
  /** Group commit: the fsync running now, and the one queued behind it. */
  #running: Promise<void> | undefined;
  #queued: Promise<void> | undefined;
  /** Batches appended whose `write` has not resolved yet (the exit path skips them). */
  readonly #unacked = new Set<readonly VcpEvent[]>();
  /** The last few batches appended, whatever the fsync policy (the exit path skips them too). */
  readonly #recent: (readonly VcpEvent[])[] = [];
  /** Signed checkpoints: the key, the segment being written, and the last tree head known durable. */
  #signing: { signer: SinkSigner; info: Partial<SinkSigningInfo> } | undefined;
  #segment: SignedSegment | undefined;
  #durable: { segment: SignedSegment; head: TreeHead } | undefined;
  readonly #checkpointEvery: number;
  readonly #checkpointMs: number;
  #checkpointTimer: NodeJS.Timeout | undefined;
  #lastCheckpointAt = 0;
  /** Size of the active file with no event in it yet (its META line); a file this small never rotates. */
  #emptySize = 0;
  /** The batch encoding buffer, reused: appends are synchronous, so it is free again after each. */
  readonly #scratch: EncodeScratch = { buf: undefined };

  constructor(options: FileSinkOptions) {
    if (!options || typeof options.path !== 'string' || options.path.length === 0) {
      throw new VcpConfigError('FileSink needs { path: "<file>.jsonl" }');
    }
    const policy = options.fsync ?? 'every-write';
    if (policy !== 'every-write' && policy !== 'interval' && policy !== 'never') {
      throw new VcpConfigError(
        `FileSink fsync must be 'every-write', 'interval' or 'never', not ${String(policy)}`,
      );
    }
    const maxBytes = options.maxBytes ?? Number.POSITIVE_INFINITY;
    if (!(maxBytes > 0)) throw new VcpConfigError('FileSink maxBytes must be a positive number of bytes');
    this.path = path.resolve(options.path);
    this.name = `file:${this.path}`;
    this.#policy = policy;
    this.#maxBytes = maxBytes;
    this.#mode = options.mode ?? 0o640;
    this.#onRotate = options.onRotate;
    this.#checkpointEvery = options.checkpointEvery ?? 1000;
    if (!Number.isInteger(this.#checkpointEvery) || this.#checkpointEvery < 1)
      throw new VcpConfigError('FileSink checkpointEvery must be a positive integer');
    this.#checkpointMs = options.checkpointIntervalMs ?? 5000;
    if (!(this.#checkpointMs > 0)) throw new VcpConfigError('FileSink checkpointIntervalMs must be positive');

    const { dir, stem, ext } = splitLogPath(this.path);
    try {
      fs.mkdirSync(dir, { recursive: true });
    } catch (e) {
      throw new VcpConfigError(`FileSink cannot create directory ${dir}: ${(e as Error).message}`, {
        cause: e,
      });
    }
    const re = rotatedPattern(stem, ext);
    this.#seq = 0;
    for (const n of fs.readdirSync(dir)) {
      const m = re.exec(n);
      if (m) this.#seq = Math.max(this.#seq, Number(m[1]));
    }
    this.#file = this.#open();
    const torn = repairTornTail(this.#file.fd);
    if (torn) {
      const report =
        options.onRecover ??
        ((info: TornTail & { path: string }) =>
          process.emitWarning(
            `vcp FileSink: ${info.path} ended in a partial line (${info.truncatedBytes} bytes, a crash mid-write); cut it off`,
            { code: 'VCP_FILE_TORN_LINE' },
          ));
      report({ ...torn, path: this.path });
    }
    this.#size = fs.fstatSync(this.#file.fd).size;
    if (policy === 'interval') {
      const every = options.fsyncIntervalMs ?? 1000;
      if (!(every > 0)) throw new VcpConfigError('FileSink fsyncIntervalMs must be positive');
      this.#timer = setInterval(() => {
        if (this.#dirty) this.#sync().catch(() => {});
      }, every);
      this.#timer.unref();
    }
    if (options.signer) this.#startSigning(options.signer, options.signing ?? {});
  }

  /**
   * From a recorder that signs: write signed checkpoints with its key (a new
   * segment starts here). Ignored when this sink already signs.
   */
  attachSigner(signer: SinkSigner, info: SinkSigningInfo): void {
    if (this.#signing || this.#closed) return;
    this.#startSigning(signer, info);
  }

  /** The origin of the segment being written (signed checkpoints only). */
  get origin(): string | undefined {
    return this.#segment?.origin;
  }

  /** Bytes in the active file. */
  get size(): number {
    return this.#size;
  }

  async write(events: readonly VcpEvent[]): Promise<void> {
    if (this.#closed) throw new SinkError(`${this.name} is closed`, { retryable: false, reason: 'closed' });
    if (events.length === 0) return;
    this.#append(events);
    this.#recent.push(events);
    if (this.#recent.length > 4) this.#recent.shift();
    if (this.#policy === 'never') this.#checkpointIfDue('count');
    if (this.#policy !== 'every-write') return;
    this.#unacked.add(events);
    try {
      await this.#sync();
    } finally {
      this.#unacked.delete(events);
    }
  }

  /**
   * Append and fsync synchronously (the exit path and `durability: 'sync'`).
   * Events already appended by a `write` that has not resolved are not written twice.
   */
  writeSync(events: readonly VcpEvent[]): void {
    if (this.#closed) throw new SinkError(`${this.name} is closed`, { retryable: false, reason: 'closed' });
    // The recorder hands the exit path every batch it has not seen acknowledged; some of
    // them this sink has already appended.
    const done = new Set<VcpEvent>();
    for (const batch of this.#unacked) for (const e of batch) done.add(e);
    for (const batch of this.#recent) for (const e of batch) done.add(e);
    const todo = done.size === 0 ? events : events.filter((e) => !done.has(e));
    if (todo.length > 0) this.#append(todo);
    if (this.#policy !== 'never') {
      fs.fdatasyncSync(this.#file.fd);
      this.#dirty = false;
    }
    const seg = this.#segment;
    if (!seg) return;
    this.#durable = { segment: seg, head: seg.head() };
    const due = Date.now() - this.#lastCheckpointAt >= this.#checkpointMs ? 'time' : 'count';
    if (this.#checkpointIfDue(due) && this.#policy !== 'never') {
      fs.fdatasyncSync(this.#file.fd);
      this.#dirty = false;
    }
  }

  async flush(): Promise<void> {
    if (this.#closed) return;
    if (this.#policy !== 'never' && (this.#dirty || this.#running)) await this.#sync();
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    await this.flush().catch(() => {});
    // The closing checkpoint: over everything the flush made durable.
    if (this.#checkpointIfDue('close') && this.#policy !== 'never') await this.#sync().catch(() => {});
    this.#closed = true;
    if (this.#timer) clearInterval(this.#timer);
    if (this.#checkpointTimer) clearInterval(this.#checkpointTimer);
    // Wait for fsyncs already running on the descriptor before closing it.
    await this.#running?.catch(() => {});
    await this.#queued?.catch(() => {});
    this.#retire(this.#file);
  }

  // -- internals ------------------------------------------------------------

  #startSigning(signer: SinkSigner, info: Partial<SinkSigningInfo>): void {
    this.#signing = { signer, info };
    this.#newSegment();
    this.#checkpointTimer = setInterval(() => this.#onCheckpointTimer(), this.#checkpointMs);
    this.#checkpointTimer.unref();
  }

  /** Start a segment: a new origin and its META line (the file's first line after a rotation). */
  #newSegment(): void {
    const { signer, info } = this.#signing!;
    const seg = new SignedSegment({
      signer,
      role: 'recorder',
      producer: PRODUCERS.recorder,
      ...(info.policyId !== undefined ? { policyId: info.policyId } : {}),
      ...(info.hashAlgo !== undefined ? { hashAlgo: info.hashAlgo } : {}),
    });
    const wasEmpty = this.#size === 0;
    this.#appendChunk(Buffer.from(`${seg.metaLine()}\n`, 'utf8'));
    if (wasEmpty) this.#emptySize = this.#size;
    this.#segment = seg;
    this.#durable = undefined;
    this.#lastCheckpointAt = Date.now();
  }

  /**
   * Append a checkpoint line over the segment's durable events when one is
   * due: `count` after `checkpointEvery` new ones, `time`/`close` after any.
   * Returns whether a line was appended (the caller makes it durable).
   */
  #checkpointIfDue(reason: 'count' | 'time' | 'close'): boolean {
    const seg = this.#segment;
    if (!seg || this.#closed) return false;
    let head: TreeHead | undefined;
    if (this.#policy === 'never') head = seg.head();
    else if (this.#durable?.segment === seg) head = this.#durable.head;
    if (!head || head.size <= seg.checkpointedSize) return false;
    if (reason === 'count' && head.size - seg.checkpointedSize < this.#checkpointEvery) return false;
    try {
      this.#appendChunk(Buffer.from(`${seg.checkpointLine(head)}\n`, 'utf8'));
    } catch {
      return false; // the append was undone; the next chance writes it
    }
    seg.markCheckpointed(head.size);
    this.#lastCheckpointAt = Date.now();
    return true;
  }

  /** Every `checkpointIntervalMs`: make new events durable, then checkpoint them. */
  #onCheckpointTimer(): void {
    const seg = this.#segment;
    if (!seg || this.#closed || seg.size <= seg.checkpointedSize) return;
    if (this.#policy === 'never') {
      this.#checkpointIfDue('time');
      return;
    }
    this.#sync()
      .then(() => (this.#checkpointIfDue('time') ? this.#sync() : undefined))
      .catch(() => {}); // an fsync failure: the events stay uncovered until one succeeds
  }

  #open(): OpenFile {
    // 'a+': appends always go to the end, and the torn-tail repair can read and truncate.
    const fd = fs.openSync(this.path, 'a+', this.#mode);
    fsyncDir(path.dirname(this.path));
    return { fd, syncing: 0, retired: false };
  }

  #retire(file: OpenFile): void {
    file.retired = true;
    if (file.syncing === 0) fs.closeSync(file.fd);
  }

  /** Append lines, rotating first whenever the next line would pass maxBytes. */
  #append(events: readonly VcpEvent[]): void {
    if (this.#maxBytes === Number.POSITIVE_INFINITY) {
      this.#appendChunk(encodeEvents(events, '', '\n', '\n', this.#scratch));
      this.#addLeaves(events, 0, events.length);
      return;
    }
    let chunk = '';
    let chunkBytes = 0;
    let chunkStart = 0;
    for (let i = 0; i < events.length; i++) {
      const line = serializeEvent(events[i]!) + '\n';
      const bytes = Buffer.byteLength(line);
      if (this.#size + chunkBytes + bytes > this.#maxBytes && this.#size + chunkBytes > this.#emptySize) {
        if (chunkBytes > 0) {
          this.#appendChunk(Buffer.from(chunk, 'utf8'));
          this.#addLeaves(events, chunkStart, i);
        }
        chunk = '';
        chunkBytes = 0;
        chunkStart = i;
        this.#rotate();
      }
      chunk += line;
      chunkBytes += bytes;
    }
    if (chunkBytes > 0) {
      this.#appendChunk(Buffer.from(chunk, 'utf8'));
      this.#addLeaves(events, chunkStart, events.length);
    }
  }

  /** Events [from, to) are in the file: add them to the segment's tree (only after the append succeeded). */
  #addLeaves(events: readonly VcpEvent[], from: number, to: number): void {
    const seg = this.#segment;
    if (!seg) return;
    for (let i = from; i < to; i++) seg.append(events[i]!.security.event_hash);
  }

  #appendChunk(buf: Buffer): void {
    const before = this.#size;
    try {
      appendAllSync(this.#file.fd, buf);
    } catch (e) {
      // A short write (disk full) must not leave half a line for the next batch to follow.
      try {
        fs.ftruncateSync(this.#file.fd, before);
      } catch {}
      throw new SinkError(`${this.name}: append failed: ${(e as Error).message}`, {
        retryable: true,
        cause: e,
      });
    }
    this.#size = before + buf.length;
    this.#dirty = true;
  }

  #rotate(): void {
    const old = this.#file;
    if (this.#policy !== 'never') fs.fdatasyncSync(old.fd);
    // The old file's segment ends with a checkpoint over all of it (its events are durable now).
    const seg = this.#segment;
    if (seg) {
      this.#durable = { segment: seg, head: seg.head() };
      if (this.#checkpointIfDue('close') && this.#policy !== 'never') fs.fdatasyncSync(old.fd);
    }
    const { dir, stem, ext } = splitLogPath(this.path);
    this.#seq++;
    const rotated = path.join(dir, `${stem}.${String(this.#seq).padStart(6, '0')}${ext}`);
    fs.renameSync(this.path, rotated);
    this.#file = this.#open();
    this.#size = 0;
    this.#emptySize = 0;
    this.#dirty = false;
    this.#retire(old);
    if (this.#signing) this.#newSegment();
    this.#onRotate?.(rotated);
  }

  /** fdatasync with group commit: callers arriving while one runs share the next one. */
  #sync(): Promise<void> {
    if (!this.#running) {
      this.#running = this.#syncOnce().finally(() => {
        this.#running = undefined;
      });
      return this.#running;
    }
    if (!this.#queued) {
      const after = this.#running.catch(() => {});
      this.#queued = after.then(() => {
        this.#queued = undefined;
        return this.#sync();
      });
    }
    return this.#queued;
  }

  #syncOnce(): Promise<void> {
    const file = this.#file;
    this.#dirty = false;
    // What this fsync makes durable, if it succeeds (the events appended so far).
    const seg = this.#segment;
    const head = seg?.head();
    file.syncing++;
    return new Promise<void>((resolve, reject) => {
      fs.fdatasync(file.fd, (err) => {
        file.syncing--;
        if (file.retired && file.syncing === 0) fs.close(file.fd, () => {});
        if (err) {
          this.#dirty = true;
          reject(
            new SinkError(`${this.name}: fsync failed: ${err.message}`, { retryable: true, cause: err }),
          );
          return;
        }
        if (seg && head && seg === this.#segment) {
          if (!this.#durable || this.#durable.segment !== seg || this.#durable.head.size < head.size)
            this.#durable = { segment: seg, head };
          if (this.#checkpointIfDue('count')) void this.#sync().catch(() => {});
        }
        resolve();
      });
    });
  }
}
