/**
 * `withSpool(sink, { dir })`: when the downstream is down, keep events in
 * local files instead of in memory, and replay them, in order, when it is
 * back (DESIGN decision 9).
 *
 * - A write goes straight to the downstream while the spool is empty. If it
 *   fails with a retryable error, the batch is appended to the spool (JSONL
 *   segment files `spool-<seq>.jsonl`, fsynced) and the write *resolves*:
 *   the events are safe on disk. From then on every write is appended to
 *   the spool (never sent ahead of older spooled events), and a background
 *   replayer sends the segments oldest first, deleting each once the
 *   downstream acknowledged all of it. When the spool is empty again, writes
 *   go direct.
 * - Non-retryable failures (the downstream refused the events as invalid)
 *   are not spooled: they are passed back to the caller. Events refused
 *   during replay are set aside as dead letters (`vcp-dead-letter-*.jsonl` in
 *   the spool directory, with the reasons; `onRejected`): exactly the ones a
 *   {@link SinkRejectionError} names (the HTTP sink's), else isolated by
 *   halving the batch. `vcp spool` lists, shows and replays them.
 * - Going to the spool and coming back are announced (`onWarning`, default a
 *   process warning): an operator sees that the downstream is down and that
 *   it recovered, with the number of events held and replayed.
 * - Delivery is at-least-once: a crash during replay resends the segment
 *   from its start next time. Event ids make that harmless (the sidecar
 *   stores each event_id once).
 * - Spooled files found at start-up (a previous run's) are replayed first.
 * - The spool is bounded (`maxBytes`): past it a write fails with a retryable
 *   `spool_full` error, and the recorder's bounded queue policy takes over.
 * - One owner a directory: a `spool.lock` file holds the owner's pid.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { VcpConfigError } from '../core/errors.ts';
import type { VcpEvent } from '../core/types.ts';
import { appendAllSync, encodeEvents, fsyncDir, pidAlive, readJsonlFile } from './_jsonl.ts';
import { type Refusal, SinkRejectionError, writeDeadLetterFile } from './dead-letter.ts';
import { describeError, isRetryable, retryAfterOf, SinkError } from './errors.ts';
import { Sleeper } from './retry.ts';
import type { Sink } from './sink.ts';
import { spoolFileKind } from './spool-files.ts';

/** Options of {@link withSpool}. */
export interface SpoolOptions {
  /** Directory for the spool files (created if missing). One spool a directory. */
  dir: string;
  /** Start a new segment file past this size (default 4 MiB). */
  segmentBytes?: number;
  /** Refuse to spool past this many bytes on disk (default 1 GiB). */
  maxBytes?: number;
  /** Wait between replay attempts while the downstream is still down, ms (default 1000). */
  replayIntervalMs?: number;
  /** Events per replayed write (default 256). */
  batchSize?: number;
  /** Told when events go to the spool instead of the downstream. */
  onSpool?: (count: number, error: unknown) => void;
  /** Told after each replayed batch is acknowledged. */
  onReplay?: (count: number) => void;
  /** Told when replay finds events the downstream refuses (they go to `vcp-dead-letter-*.jsonl`). */
  onRejected?: (events: readonly VcpEvent[], error: unknown) => void;
  /**
   * Told when spooling starts (the downstream failed) and when the spool is
   * replayed and empty again (default: `process.emitWarning`). Must not throw.
   */
  onWarning?: (message: string, code: string) => void;
}

interface Segment {
  seq: number;
  path: string;
  events: number;
  bytes: number;
  /** Events of this segment already acknowledged by the downstream (this run). */
  done: number;
}

interface ActiveFile {
  fd: number;
  segment: Segment;
  syncing: number;
  retired: boolean;
}

const SEGMENT_RE = /^spool-(\d{12})\.jsonl$/;
const dirsInUse = new Set<string>();

function countLines(file: string): { lines: number; bytes: number } {
  const buf = fs.readFileSync(file);
  let lines = 0;
  for (let i = buf.indexOf(0x0a); i >= 0; i = buf.indexOf(0x0a, i + 1)) lines++;
  return { lines, bytes: buf.length };
}

/** The sink {@link withSpool} returns. */
export class SpoolSink implements Sink {
  readonly name: string;
  readonly inner: Sink;
  /** The wrapped sink's limit (see {@link Sink.maxEventBytes}). */
  readonly maxEventBytes?: number;
  /** Passes the recorder's signer on, so a wrapped FileSink still signs checkpoints. */
  readonly attachSigner?: Sink['attachSigner'];
  /** The spool directory. */
  readonly dir: string;
  readonly #segmentBytes: number;
  readonly #maxBytes: number;
  readonly #intervalMs: number;
  readonly #batch: number;
  readonly #opts: SpoolOptions;
  readonly #lockPath: string;
  readonly #segments: Segment[] = [];
  readonly #sleeper = new Sleeper();
  #active: ActiveFile | undefined;
  #nextSeq = 1;
  #spooledEvents = 0;
  #spooledBytes = 0;
  #replayed = 0;
  #rejected = 0;
  #replaying: Promise<void> | undefined;
  #closed = false;
  #drainWaiters: (() => void)[] = [];
  /** Events spooled and replayed in the current outage (for the recovery message). */
  #outage: { since: number; replayedAtStart: number } | undefined;

  constructor(inner: Sink, options: SpoolOptions) {
    if (!options || typeof options.dir !== 'string' || options.dir.length === 0) {
      throw new VcpConfigError('withSpool needs { dir: "<spool directory>" }');
    }
    this.inner = inner;
    if (inner.attachSigner) this.attachSigner = (signer, info) => inner.attachSigner!(signer, info);
    this.dir = path.resolve(options.dir);
    this.name = `spool(${inner.name})`;
    this.maxEventBytes = inner.maxEventBytes;
    this.#opts = options;
    this.#segmentBytes = options.segmentBytes ?? 4 * 1024 * 1024;
    this.#maxBytes = options.maxBytes ?? 1024 * 1024 * 1024;
    this.#intervalMs = options.replayIntervalMs ?? 1000;
    this.#batch = Math.max(1, options.batchSize ?? 256);
    this.#lockPath = path.join(this.dir, 'spool.lock');

    try {
      fs.mkdirSync(this.dir, { recursive: true });
    } catch (e) {
      throw new VcpConfigError(`spool: cannot create ${this.dir}: ${(e as Error).message}`, { cause: e });
    }
    this.#lock();
    for (const name of fs.readdirSync(this.dir).sort()) {
      const m = SEGMENT_RE.exec(name);
      if (!m) continue;
      const file = path.join(this.dir, name);
      const { lines, bytes } = countLines(file);
      const seq = Number(m[1]);
      this.#segments.push({ seq, path: file, events: lines, bytes, done: 0 });
      this.#nextSeq = Math.max(this.#nextSeq, seq + 1);
      this.#spooledEvents += lines;
      this.#spooledBytes += bytes;
    }
    this.#announceDeadLetters();
    // A previous run left events: they go before anything written now.
    if (this.#segments.length > 0) {
      this.#outage = { since: Date.now(), replayedAtStart: 0 };
      this.#warn(
        `vcp spool: ${this.#spooledEvents} event(s) of an earlier run are waiting in ${this.dir}; replaying them to ${inner.name} before anything new`,
      );
      setImmediate(() => this.#startReplay());
    }
  }

  /** Whether events are waiting in the spool (then new writes are spooled too, to keep order). */
  get spooling(): boolean {
    return this.#segments.length > 0;
  }

  /** Events on disk waiting for the downstream. */
  spooledEvents(): number {
    return this.#spooledEvents;
  }

  /** Counters: events waiting, bytes on disk, events replayed, events refused on replay. */
  stats(): { spooled: number; spooledBytes: number; replayed: number; rejected: number } {
    return {
      spooled: this.#spooledEvents,
      spooledBytes: this.#spooledBytes,
      replayed: this.#replayed,
      rejected: this.#rejected,
    };
  }

  async write(events: readonly VcpEvent[]): Promise<void> {
    if (this.#closed) throw new SinkError(`${this.name} is closed`, { retryable: false, reason: 'closed' });
    if (events.length === 0) return;
    if (!this.spooling) {
      try {
        await this.inner.write(events);
        return;
      } catch (error) {
        if (!isRetryable(error) || this.#closed) throw error;
        await this.#spool(events);
        this.#beginOutage(error);
        this.#opts.onSpool?.(events.length, error);
        this.#startReplay();
        return;
      }
    }
    await this.#spool(events);
  }

  /** Append to the spool synchronously (the recorder's exit path); replayed on the next start. */
  writeSync(events: readonly VcpEvent[]): void {
    if (events.length === 0) return;
    const file = this.#appendSync(events);
    fs.fdatasyncSync(file.fd);
  }

  /** Resolve when the spool is empty (everything replayed), or after `timeoutMs` with `false`. */
  drain(timeoutMs = 30_000): Promise<boolean> {
    if (!this.spooling) return Promise.resolve(true);
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.#drainWaiters = this.#drainWaiters.filter((w) => w !== done);
        resolve(false);
      }, timeoutMs);
      const done = () => {
        clearTimeout(timer);
        resolve(true);
      };
      this.#drainWaiters.push(done);
    });
  }

  async flush(): Promise<void> {
    if (!this.spooling) await this.inner.flush?.();
  }

  /** Stop replaying (spooled files stay on disk for the next start), release the lock, close the downstream. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#sleeper.wake();
    if (this.#active) this.#retire(this.#active);
    this.#active = undefined;
    try {
      fs.unlinkSync(this.#lockPath);
    } catch {}
    dirsInUse.delete(this.dir);
    await this.inner.close();
  }

  // -- spooling -------------------------------------------------------------

  #lock(): void {
    if (dirsInUse.has(this.dir))
      throw new VcpConfigError(`spool: ${this.dir} is already used by another spool`);
    try {
      const fd = fs.openSync(this.#lockPath, 'wx');
      fs.writeSync(fd, String(process.pid));
      fs.closeSync(fd);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') {
        throw new VcpConfigError(`spool: cannot lock ${this.dir}: ${(e as Error).message}`, { cause: e });
      }
      const owner = Number(fs.readFileSync(this.#lockPath, 'utf8').trim());
      if (owner !== process.pid && pidAlive(owner)) {
        throw new VcpConfigError(`spool: ${this.dir} is in use by process ${owner} (${this.#lockPath})`);
      }
      // A dead owner's lock: take it over.
      fs.writeFileSync(this.#lockPath, String(process.pid));
    }
    dirsInUse.add(this.dir);
  }

  async #spool(events: readonly VcpEvent[]): Promise<void> {
    const file = this.#appendSync(events);
    file.syncing++;
    await new Promise<void>((resolve, reject) => {
      fs.fdatasync(file.fd, (err) => {
        file.syncing--;
        if (file.retired && file.syncing === 0) fs.close(file.fd, () => {});
        if (err)
          reject(
            new SinkError(`${this.name}: fsync failed: ${err.message}`, { retryable: true, cause: err }),
          );
        else resolve();
      });
    });
  }

  #appendSync(events: readonly VcpEvent[]): ActiveFile {
    const data = encodeEvents(events);
    if (this.#spooledBytes + data.length > this.#maxBytes) {
      throw new SinkError(
        `${this.name}: spool full (${this.#spooledBytes} of ${this.#maxBytes} bytes); the downstream has been down too long`,
        { retryable: true, reason: 'spool_full' },
      );
    }
    let file = this.#active;
    if (!file || (file.segment.bytes > 0 && file.segment.bytes + data.length > this.#segmentBytes)) {
      if (file) this.#retire(file);
      file = this.#openSegment();
    }
    const before = file.segment.bytes;
    try {
      appendAllSync(file.fd, data);
    } catch (e) {
      try {
        fs.ftruncateSync(file.fd, before);
      } catch {}
      throw new SinkError(`${this.name}: cannot append to ${file.segment.path}: ${(e as Error).message}`, {
        retryable: true,
        cause: e,
      });
    }
    file.segment.bytes += data.length;
    file.segment.events += events.length;
    this.#spooledBytes += data.length;
    this.#spooledEvents += events.length;
    return file;
  }

  #openSegment(): ActiveFile {
    const seq = this.#nextSeq++;
    const file = path.join(this.dir, `spool-${String(seq).padStart(12, '0')}.jsonl`);
    const fd = fs.openSync(file, 'a', 0o640);
    fsyncDir(this.dir);
    const segment: Segment = { seq, path: file, events: 0, bytes: 0, done: 0 };
    this.#segments.push(segment);
    this.#active = { fd, segment, syncing: 0, retired: false };
    return this.#active;
  }

  #retire(file: ActiveFile): void {
    if (file.retired) return;
    file.retired = true;
    if (file.syncing === 0) fs.closeSync(file.fd);
  }

  // -- replay ---------------------------------------------------------------

  #startReplay(): void {
    if (this.#replaying || this.#closed) return;
    this.#replaying = this.#replay()
      .catch((e) => {
        process.emitWarning(`vcp spool replay stopped: ${describeError(e)}`, { code: 'VCP_SPOOL_REPLAY' });
      })
      .finally(() => {
        this.#replaying = undefined;
        // Appends that arrived after the loop's last look.
        if (this.spooling && !this.#closed) setTimeout(() => this.#startReplay(), this.#intervalMs).unref();
      });
  }

  async #replay(): Promise<void> {
    while (!this.#closed) {
      const seg = this.#segments[0];
      if (!seg) break;
      // Stop appending to the segment being replayed: later writes start a new one.
      if (this.#active?.segment === seg) {
        this.#retire(this.#active);
        this.#active = undefined;
      }
      const { values } = readJsonlFile(seg.path);
      for (let i = seg.done; i < values.length && !this.#closed; ) {
        const slice = values.slice(i, i + this.#batch) as VcpEvent[];
        const ok = await this.#deliver(slice);
        if (!ok) return; // closed while waiting
        i += slice.length;
        seg.done = i;
        this.#spooledEvents -= slice.length;
        this.#replayed += slice.length;
        this.#opts.onReplay?.(slice.length);
      }
      if (this.#closed) return;
      // Lines the file had beyond what was counted (none normally) are not double-subtracted.
      this.#spooledEvents -= Math.max(0, seg.events - values.length);
      this.#spooledBytes -= seg.bytes;
      fs.unlinkSync(seg.path);
      this.#segments.shift();
    }
    if (!this.spooling) {
      this.#spooledEvents = 0;
      this.#spooledBytes = 0;
      this.#endOutage();
      const waiters = this.#drainWaiters;
      this.#drainWaiters = [];
      for (const w of waiters) w();
    }
  }

  /** Send `events` until acknowledged; refused ones are split out and set aside. False if closed. */
  async #deliver(events: VcpEvent[]): Promise<boolean> {
    for (;;) {
      if (this.#closed) return false;
      try {
        await this.inner.write(events);
        return true;
      } catch (error) {
        if (this.#closed) return false;
        if (error instanceof SinkRejectionError) {
          // The downstream named the refused events and took all the others.
          this.#setAside(error.refusals, error);
          return true;
        }
        if (!isRetryable(error)) {
          if (events.length === 1) {
            const reason = error instanceof SinkError ? error.reason : 'rejected';
            this.#setAside(
              [{ event: events[0]!, reasons: [{ path: '', rule: reason, message: describeError(error) }] }],
              error,
            );
            return true;
          }
          // A batch is refused as a whole: halve it to find the bad events and send the rest.
          const mid = events.length >>> 1;
          return (await this.#deliver(events.slice(0, mid))) && (await this.#deliver(events.slice(mid)));
        }
        const wait = Math.max(50, Math.min(retryAfterOf(error) ?? this.#intervalMs, 60_000));
        if (!(await this.#sleeper.sleep(wait))) return false;
      }
    }
  }

  #setAside(refusals: readonly Refusal[], error: unknown): void {
    if (refusals.length === 0) return;
    this.#rejected += refusals.length;
    const events = refusals.map((r) => r.event);
    const keptIn = error instanceof SinkRejectionError ? error.keptIn : undefined;
    // A sink that kept them itself (the HTTP sink's dead-letter file) has announced them too.
    if (!keptIn) {
      let where: string;
      try {
        where = writeDeadLetterFile(this.dir, refusals, this.inner.name);
      } catch (e) {
        where = `nowhere (${describeError(e)})`;
      }
      this.#warn(
        `vcp spool: ${this.inner.name} refused ${refusals.length} spooled event(s) for good; set aside as dead letters in ${where} (vcp spool show)`,
        'VCP_DEAD_LETTER',
      );
    }
    this.#opts.onRejected?.(events, error);
  }

  /** Dead letters left in the directory are never replayed by themselves: say they are there. */
  #announceDeadLetters(): void {
    try {
      const dead = fs.readdirSync(this.dir).filter((n) => spoolFileKind(n) === 'dead-letter');
      if (dead.length === 0) return;
      this.#warn(
        `vcp spool: ${dead.length} dead-letter file(s) in ${this.dir} hold events the downstream refused; nothing replays them by itself: vcp spool list ${this.dir}`,
        'VCP_DEAD_LETTER',
      );
    } catch {}
  }

  #beginOutage(error: unknown): void {
    if (this.#outage) return;
    this.#outage = { since: Date.now(), replayedAtStart: this.#replayed };
    this.#warn(
      `vcp spool: ${this.inner.name} is unavailable (${describeError(error)}); spooling events to ${this.dir} and replaying them in order when it is back`,
    );
  }

  #endOutage(): void {
    const o = this.#outage;
    if (!o) return;
    this.#outage = undefined;
    this.#warn(
      `vcp spool: ${this.inner.name} is back; ${this.#replayed - o.replayedAtStart} spooled event(s) replayed after ${Math.round((Date.now() - o.since) / 1000)} s; writing directly again`,
    );
  }

  #warn(message: string, code = 'VCP_SPOOL'): void {
    try {
      if (this.#opts.onWarning) this.#opts.onWarning(message, code);
      else process.emitWarning(message, { code });
    } catch {}
  }
}

/** Wrap `sink` so events are spooled to `options.dir` while it is down and replayed in order. */
export function withSpool(sink: Sink, options: SpoolOptions): SpoolSink {
  return new SpoolSink(sink, options);
}

/**
 * Events waiting in on-disk spools anywhere in a sink stack (looks through
 * wrappers' `inner` and a fan-out's `sinks`); 0 when there is no spool.
 */
export function spooledEventsOf(sink: Sink): number {
  const s = sink as { spooledEvents?: unknown; inner?: unknown; sinks?: unknown };
  if (typeof s.spooledEvents === 'function') return (s.spooledEvents as () => number).call(sink);
  if (s.inner && typeof s.inner === 'object') return spooledEventsOf(s.inner as Sink);
  if (Array.isArray(s.sinks)) return (s.sinks as Sink[]).reduce((n, x) => n + spooledEventsOf(x), 0);
  return 0;
}
