/**
 * The embedded event store (DESIGN decision 10): nothing to install.
 *
 * Layout of the data folder:
 *
 *     LOCK                   pid of the sidecar that owns the folder (file/lock.ts)
 *     segments/00000001.log  events, append-only, rotated at `segmentBytes`
 *     anchors.log            anchor records, append-only (a later copy with
 *                            the same anchor_id replaces an earlier one)
 *     quarantine/            what `vcp sidecar repair` moved out of the log
 *
 * Every record is one line with a CRC-32 (see file/record.ts). `append`
 * writes a whole group with one `write` and one `fdatasync` and resolves only
 * then, which is what lets the server answer 201 (group commit: the server
 * batches everything that arrived while the previous fsync ran).
 *
 * Recovery on `open` (DESIGN decision 13, file/segment-check.ts): the anchors
 * are read first (the newest one's tree size is what the log has promised),
 * then the segments, record by record. Only an incomplete or zero-filled
 * tail of the newest segment, with nothing valid after it and above the
 * anchored size, is a torn write: it is cut off and the bytes are kept
 * beside the segment (`<segment>.torn-<offset>`). Anything else — a complete
 * record with a wrong checksum, valid records after a bad one, damage in an
 * older segment or below the anchored size, fewer events than an anchor
 * covers — refuses to open with a {@link LogDamageError} naming the file,
 * the byte offset and the events at stake; nothing is changed on disk then.
 * `vcp sidecar repair` (file/repair.ts) is the explicit way out.
 *
 * While open: the folder lock is checked on every group commit (and the
 * segment's size against what this process wrote); a background scrub
 * (file/scrub.ts) rereads the segments and recomputes the anchored roots.
 * A lost lock, a failed fsync or a failed scrub stop all writes (the server
 * answers 503) rather than extend a log that may be damaged.
 *
 * The id index is kept in memory and rebuilt on start (file/event-index.ts).
 * Conformance warnings are not persisted (`StoredEvent.warnings` is left
 * out): a duplicate submission is answered with the warnings of the copy
 * just sent, whose header and payload are the same.
 */
import { fstatSync, mkdirSync, readdirSync, writeSync } from 'node:fs';
import { type FileHandle, open, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { VcpIoError } from '../../core/errors.ts';
import { isLowerHex64 } from '../../core/hex.ts';
import type { AnchorRecord } from '../../core/types.ts';
import { EventHashList } from './event-hash-list.ts';
import { type AnchoredFloor, anchoredFloor, readAnchorLog, SIGNED_CHECKPOINTS } from './file/anchor-log.ts';
import { EventIndex } from './file/event-index.ts';
import { acquireLock, type FolderLock } from './file/lock.ts';
import { checkRecord, encodeRecords } from './file/record.ts';
import { type ScrubStatus, scrubSegments } from './file/scrub.ts';
import { checkSegment, type Damage, describeDamage, LogDamageError } from './file/segment-check.ts';
import type { EventStore, StoredEvent, StoreState } from './store.ts';
import type { StoreHealthReport, StoreHealthSource } from './store-health.ts';

/** Options of {@link FileEventStore}. */
export interface FileEventStoreOptions {
  /** The data folder (created if missing). */
  dir: string;
  /** Start a new segment once the current one would grow past this many bytes (default 64 MiB). */
  segmentBytes?: number;
  /** Reread and check the whole log this often, ms (default 1 h; 0: never). */
  scrubIntervalMs?: number;
  /** Called after each durable group write, for metrics. */
  onDurableWrite?: (info: { seconds: number; bytes: number; events: number }) => void;
  /** One line to the sidecar's log (scrub results, loss of the lock). */
  log?: (line: string) => void;
}

/**
 * A stored event as the server hands it over: `rawEvent`, when present, is
 * the event's JSON text as the client sent it (one line), whose header and
 * payload parse to exactly `event.header` and `event.payload`. The file store
 * then writes that text plus `event.security` instead of serialising the
 * whole event again (its `security` member is superseded on reading). Other
 * stores may ignore it.
 */
export interface StoredEventWithRaw extends StoredEvent {
  /** The event's JSON text, or its UTF-8 bytes. */
  rawEvent?: string | Uint8Array;
  /** With `rawEvent`: the security block to store (`event.security`; given so `event` need not be read)… */
  rawSecurity?: StoredEvent['event']['security'];
  /** … or the same as JSON text. */
  rawSecurityJson?: string;
}

/** Default segment size. */
export const DEFAULT_SEGMENT_BYTES = 64 * 1024 * 1024;
/** Default scrub interval: one hour. */
export const DEFAULT_SCRUB_INTERVAL_MS = 3_600_000;

/** Name of the folder `vcp sidecar repair` moves damaged data into. */
export const QUARANTINE_DIR = 'quarantine';

const SEGMENT_RE = /^(\d{8})\.log$/;
const SCAN_CHUNK_BYTES = 1024 * 1024;

interface Segment {
  no: number;
  path: string;
  /** Bytes of complete records. */
  size: number;
  reader?: FileHandle;
  /** The open of `reader` while it runs (concurrent readers share it; none is dropped unclosed). */
  opening?: Promise<FileHandle>;
}

/** Append-only segment files with group-commit fdatasync. See the module comment. */
export class FileEventStore implements EventStore, StoreHealthSource {
  readonly name: string;
  readonly #dir: string;
  readonly #segDir: string;
  readonly #segmentBytes: number;
  readonly #scrubIntervalMs: number;
  readonly #onDurableWrite: FileEventStoreOptions['onDurableWrite'];
  readonly #log: (line: string) => void;
  #segments: Segment[] = [];
  #writer: FileHandle | undefined;
  #index = new EventIndex();
  #anchors: AnchorRecord[] = [];
  #anchorsFile: FileHandle | undefined;
  #anchorChain: Promise<unknown> = Promise.resolve();
  #lock: FolderLock | undefined;
  #appending = false;
  #failed: string | undefined;
  #opened = false;
  #closed = false;
  #scrub: ScrubStatus;
  #scrubTimer: NodeJS.Timeout | undefined;
  #scrubRun: Promise<ScrubStatus> | undefined;

  /** Largest tree size a checkpoint signed without an anchor was noted for. */
  #signedFloor = 0;

  constructor(options: FileEventStoreOptions) {
    this.#dir = options.dir;
    this.#segDir = join(options.dir, 'segments');
    this.#segmentBytes = options.segmentBytes ?? DEFAULT_SEGMENT_BYTES;
    const interval = options.scrubIntervalMs ?? DEFAULT_SCRUB_INTERVAL_MS;
    if (!Number.isFinite(interval) || interval < 0 || interval > 2 ** 31 - 1) {
      throw new VcpIoError(`scrubIntervalMs must be between 0 (off) and 2^31-1 ms (got ${interval})`);
    }
    this.#scrubIntervalMs = interval;
    this.#onDurableWrite = options.onDurableWrite;
    this.#log = options.log ?? (() => {});
    this.name = `file:${options.dir}`;
    this.#scrub = {
      last_run: null,
      ok: null,
      problems: [],
      events_checked: 0,
      anchors_checked: 0,
      interval_s: interval / 1000,
    };
  }

  /** Number of stored events. */
  get size(): number {
    return this.#index.size;
  }

  async open(): Promise<StoreState> {
    if (this.#opened) throw new VcpIoError(`${this.name}: open() called twice`);
    this.#opened = true;
    try {
      mkdirSync(this.#segDir, { recursive: true });
    } catch (e) {
      throw new VcpIoError(`cannot create the data folder ${this.#segDir}: ${(e as Error).message}`, {
        cause: e,
      });
    }
    this.#lock = await acquireLock(this.#dir);
    let state: StoreState;
    try {
      state = await this.#recover();
    } catch (e) {
      await this.close().catch(() => {});
      throw e;
    }
    this.#scheduleScrub();
    return state;
  }

  async #recover(): Promise<StoreState> {
    const recovery: string[] = [];
    const leaves = new EventHashList();
    const anchorsPath = join(this.#dir, 'anchors.log');
    const anchorLog = await readAnchorLog(anchorsPath);
    const newest = await anchoredFloor(this.#dir, anchorLog.anchors);
    const anchored = newest?.tree_size ?? 0;
    const names = readdirSync(this.#segDir)
      .filter((n) => SEGMENT_RE.test(n))
      .sort();
    let torn: { damage: Damage; data: Buffer } | undefined;
    for (let k = 0; k < names.length; k++) {
      const name = names[k]!;
      const path = join(this.#segDir, name);
      const no = Number.parseInt(SEGMENT_RE.exec(name)![1]!, 10);
      const buf = await readFile(path);
      const check = checkSegment(buf, path, no, this.#index.size, (h) => {
        this.#index.push(h.eventId, no, h.offset, h.length);
        leaves.push(h.eventHash);
      });
      const d = check.damage;
      if (d) {
        const newer = names.length - 1 - k;
        const why =
          newer > 0
            ? `it is not in the newest segment (${newer} newer segment(s) follow, and a crash only tears the end of the log)`
            : d.validAfter.length
              ? 'checksum-valid records follow it, and a crash only tears the end of the log'
              : !d.tornShaped
                ? 'it is a complete record that fails its check, not a record cut short by a crash'
                : d.leaf < anchored
                  ? `anchor ${newest!.anchor_id} (${newest!.file}) already covers tree_size ${anchored}, so these events were acknowledged and anchored`
                  : undefined;
        if (why) throw this.#damageError(d, why, newer, newest);
        torn = { damage: d, data: Buffer.from(buf.subarray(check.validEnd)) };
      }
      this.#segments.push({ no, path, size: check.validEnd });
    }
    // anchors.log is created on the first open, before any event: events without it mean it was lost.
    if (!anchorLog.exists && this.#index.size > 0) {
      throw new LogDamageError(
        `data folder ${this.#dir} has event segments but no anchors.log, and the store will not start: without it ` +
          'the store cannot tell which merkle_index values anchors already cover. Restore anchors.log from a backup ' +
          '(if this folder never anchored anything, create it empty: touch anchors.log).',
      );
    }
    if (this.#index.size < anchored) {
      throw new LogDamageError(
        `data folder ${this.#dir} is missing anchored events and the store will not start: the segments hold ` +
          `${this.#index.size} events, but anchor ${newest!.anchor_id} (in ${newest!.file}) covers ` +
          `tree_size ${anchored}, so merkle_index ${this.#index.size}–${anchored - 1} are lost from this copy. ` +
          'Handing those indexes out again would fork the signed tree. Restore the segments from a backup.',
      );
    }

    // Every check passed: only now change anything on disk.
    if (torn) {
      const { damage: d, data } = torn;
      const keep = await keepAside(`${d.file}.torn-${d.offset}`, data);
      await truncateDurably(d.file, d.offset);
      recovery.push(
        `segment ${d.file.slice(this.#segDir.length + 1)}: dropped a torn tail of ${data.length} bytes at offset ` +
          `${d.offset} (${d.problem}: the unacknowledged write of merkle_index ${d.leaf} onward); the bytes are kept in ${keep}`,
      );
    }
    if (anchorLog.torn) {
      const keep = await keepAside(`${anchorsPath}.torn-${anchorLog.torn.offset}`, anchorLog.torn.data);
      await truncateDurably(anchorsPath, anchorLog.torn.offset);
      recovery.push(
        `anchors.log: dropped a torn tail of ${anchorLog.torn.data.length} bytes (${anchorLog.torn.problem}); the bytes are kept in ${keep}`,
      );
    }
    this.#anchors = anchorLog.anchors;
    if (this.#segments.length === 0) await this.#newSegment(1);
    else this.#writer = await open(this.#segments.at(-1)!.path, 'a');
    this.#anchorsFile = await open(anchorsPath, 'a');
    if (anchorLog.bytes === 0) await fsyncDir(this.#dir);
    const repairs = quarantined(this.#dir);
    if (repairs.length) {
      recovery.push(
        `${repairs.length} earlier repair(s) moved data into ${join(this.#dir, QUARANTINE_DIR)} (newest: ${repairs.at(-1)}); see its report.json and repair-note.json`,
      );
    }
    return { size: this.#index.size, leaves, anchors: [...this.#anchors], recovery };
  }

  #damageError(d: Damage, why: string, newer: number, newest: AnchoredFloor | undefined): LogDamageError {
    const anchored = newest?.tree_size ?? 0;
    const later = newer > 0 ? ` Every event in the ${newer} newer segment(s) lies behind it too.` : '';
    const covered =
      d.leaf < anchored
        ? ` merkle_index ${d.leaf}–${anchored - 1} are covered by anchor ${newest!.anchor_id} (tree_size ${anchored}): ` +
          '`vcp sidecar repair` cannot help, since cutting the log there would drop anchored events; restore ' +
          `${d.file} from a backup.`
        : ` No anchor covers them (newest anchored tree_size ${anchored}). Run \`vcp sidecar repair --data-dir ${this.#dir}\` ` +
          `to move the damaged part into ${join(this.#dir, QUARANTINE_DIR)} (nothing is deleted; the log then continues ` +
          `from merkle_index ${d.leaf}), or restore ${d.file} from a backup.`;
    return new LogDamageError(
      `data folder ${this.#dir} is damaged and the store will not start: ${describeDamage(d)}. ` +
        `This is corruption, not a torn write: ${why}.${later}${covered}`,
      d,
    );
  }

  async #newSegment(no: number): Promise<void> {
    const path = join(this.#segDir, `${String(no).padStart(8, '0')}.log`);
    const w = await open(path, 'a');
    // Swap first, so no error path leaves either handle unreferenced and unclosed (DEP0137).
    const old = this.#writer;
    this.#writer = w;
    this.#segments.push({ no, path, size: 0 });
    await fsyncDir(this.#segDir);
    await old?.close().catch(() => {});
  }

  async append(batch: readonly StoredEvent[]): Promise<void> {
    if (this.#appending) {
      throw new VcpIoError(
        `${this.name}: append() called while another append runs; the server must be the only writer`,
      );
    }
    this.#checkWritable(true);
    if (batch.length === 0) return;
    const base = this.#index.size;
    const jsons = new Array<(string | Uint8Array)[]>(batch.length);
    for (let k = 0; k < batch.length; k++) {
      const e = batch[k] as StoredEventWithRaw;
      if (e.index !== base + k) {
        throw new VcpIoError(
          `${this.name}: append out of order: got leaf index ${e.index}, expected ${base + k}`,
        );
      }
      if (!isLowerHex64(e.eventHash)) {
        throw new VcpIoError(`${this.name}: event ${k} of the batch has no valid eventHash`);
      }
      jsons[k] = recordParts(e);
    }
    const { buffer, lengths } = encodeRecords(jsons);
    this.#appending = true;
    try {
      let seg = this.#segments.at(-1)!;
      if (seg.size > 0 && seg.size + buffer.length > this.#segmentBytes) {
        await this.#newSegment(seg.no + 1);
        seg = this.#segments.at(-1)!;
      }
      const t0 = process.hrtime.bigint();
      await this.#durableWrite(this.#writer!, seg.size, buffer);
      const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
      let at = seg.size;
      for (let k = 0; k < batch.length; k++) {
        this.#index.push(batch[k]!.eventId, seg.no, at, lengths[k]!);
        at += lengths[k]!;
      }
      seg.size = at;
      this.#onDurableWrite?.({ seconds, bytes: buffer.length, events: batch.length });
    } finally {
      this.#appending = false;
    }
  }

  /**
   * Write and fdatasync; on failure cut the file back to `before` so nothing
   * of the group remains. After a failed fsync the page cache can no longer
   * be trusted (Linux may have dropped the dirty pages), so the store stops
   * accepting writes until it is reopened.
   */
  async #durableWrite(h: FileHandle, before: number, buffer: Buffer): Promise<void> {
    let stage = 'write';
    try {
      // The write only copies into the page cache: done in place it costs half the CPU of the
      // thread-pool round trip (measured: 40 against 80–100 µs for 100 KB); the fdatasync,
      // which waits for the disk, stays off the event loop.
      let off = 0;
      while (off < buffer.length) {
        const bytesWritten = writeSync(h.fd, buffer, off, buffer.length - off);
        if (bytesWritten <= 0) throw new Error('short write');
        off += bytesWritten;
      }
      stage = 'fdatasync';
      await h.datasync();
    } catch (e) {
      try {
        await h.truncate(before);
        await h.datasync();
      } catch {
        this.#failed = `could not undo a failed ${stage}`;
      }
      if (stage === 'fdatasync') this.#failed = `fdatasync failed (${(e as Error).message})`;
      throw new VcpIoError(
        `${this.name}: ${stage} failed: ${(e as Error).message}; nothing of the batch was stored`,
        {
          cause: e,
        },
      );
    }
  }

  /**
   * Refuse writes when closed or failed, and check (cheaply, on every group
   * commit and anchor) that the folder is still ours: the lock file is the
   * one this process created, and (before a group commit) the segment is
   * exactly as long as what this process wrote. Either failing means another writer may be at work:
   * stop writing for good rather than interleave with it.
   */
  #checkWritable(checkSize = false): void {
    if (!this.#opened || this.#closed) throw new VcpIoError(`${this.name} is not open`);
    if (!this.#failed) {
      const lost = this.#lock?.check();
      if (lost) this.#fail(`${lost}; another process may be writing to this folder`);
    }
    // Only between appends: during one, the file is legitimately longer than `size`.
    if (checkSize && !this.#failed && this.#writer) {
      const seg = this.#segments.at(-1)!;
      let size: number | undefined;
      try {
        size = fstatSync(this.#writer.fd).size;
      } catch (e) {
        this.#fail(`cannot stat ${seg.path}: ${(e as Error).message}`);
      }
      if (size !== undefined && size !== seg.size) {
        this.#fail(
          `${seg.path} is ${size} bytes long, but this process wrote ${seg.size}: another process wrote to it or cut it`,
        );
      }
    }
    if (this.#failed)
      throw new VcpIoError(`${this.name} stopped accepting writes: ${this.#failed}; restart the sidecar`);
  }

  /** Stop accepting writes for good, and say so once in the log. */
  #fail(reason: string): void {
    if (this.#failed) return;
    this.#failed = reason;
    this.#log(`store ${this.name} stopped accepting writes: ${reason}`);
  }

  /** Whether writes are accepted (checks the lock now), and the last scrub. */
  storeHealth(): StoreHealthReport {
    if (this.#opened && !this.#closed && !this.#failed) {
      const lost = this.#lock?.check();
      if (lost) this.#fail(`${lost}; another process may be writing to this folder`);
    }
    return {
      writable: this.#opened && !this.#closed && !this.#failed,
      problem: this.#failed ?? (this.#closed ? 'closed' : this.#opened ? null : 'not open'),
      scrub: this.scrubStatus(),
    };
  }

  /** The result of the last scrub (a copy). */
  scrubStatus(): ScrubStatus {
    return { ...this.#scrub, problems: [...this.#scrub.problems] };
  }

  /**
   * Reread every segment now: checksums, leaf indexes, index locations, and
   * the root at every anchor's tree size against the root it signed. On any
   * problem the store stops accepting writes. A scrub already running is
   * joined. Resolves to the new status.
   */
  scrub(): Promise<ScrubStatus> {
    if (!this.#opened || this.#closed) return Promise.reject(new VcpIoError(`${this.name} is not open`));
    this.#scrubRun ??= this.#runScrub().finally(() => {
      this.#scrubRun = undefined;
    });
    return this.#scrubRun;
  }

  async #runScrub(): Promise<ScrubStatus> {
    const t0 = Date.now();
    const index = this.#index;
    const result = await scrubSegments({
      segments: this.#segments.map((s) => ({ no: s.no, path: s.path, size: s.size })),
      expected: index.size,
      locate: (i) => index.locate(i),
      anchors: [...this.#anchors],
      stopped: () => this.#closed,
    });
    if (this.#closed) return this.scrubStatus();
    this.#scrub = {
      last_run: new Date().toISOString(),
      ok: result.problems.length === 0,
      problems: result.problems,
      events_checked: result.events,
      anchors_checked: result.anchors,
      interval_s: this.#scrubIntervalMs / 1000,
    };
    if (result.problems.length) {
      this.#fail(`the scrub found damage: ${result.problems[0]}`);
      this.#log(`scrub of ${this.name} failed: ${result.problems.join('; ')}`);
    } else {
      this.#log(
        `scrub of ${this.name}: ${result.events} events and ${result.anchors} anchor roots checked in ${Date.now() - t0} ms, all good`,
      );
    }
    return this.scrubStatus();
  }

  #scheduleScrub(): void {
    if (this.#scrubIntervalMs === 0 || this.#closed) return;
    this.#scrubTimer = setTimeout(() => {
      this.#scrubTimer = undefined;
      this.scrub()
        .catch((e: unknown) => this.#log(`scrub of ${this.name} could not run: ${(e as Error).message}`))
        .finally(() => this.#scheduleScrub());
    }, this.#scrubIntervalMs);
    this.#scrubTimer.unref();
  }

  async getById(eventId: string): Promise<StoredEvent | undefined> {
    if (typeof eventId !== 'string') return undefined;
    const i = this.#index.indexOf(eventId);
    return i === undefined ? undefined : this.getByIndex(i);
  }

  /** Leaf index of an event id, without reading the record (undefined if absent). */
  indexOf(eventId: string): number | undefined {
    return this.#index.indexOf(eventId);
  }

  async getByIndex(index: number): Promise<StoredEvent | undefined> {
    if (!Number.isSafeInteger(index) || index < 0 || index >= this.#index.size) return undefined;
    const loc = this.#index.locate(index);
    const reader = await this.#reader(loc.segment);
    const buf = Buffer.allocUnsafe(loc.length);
    const { bytesRead } = await reader.read(buf, 0, loc.length, loc.offset);
    return this.#decodeEvent(buf, 0, bytesRead, index);
  }

  #decodeEvent(buf: Buffer, start: number, end: number, index: number): StoredEvent {
    const json = checkRecord(buf, start, end);
    if (typeof json === 'string') {
      throw new VcpIoError(`${this.name}: the record of leaf ${index} is damaged on disk (${json})`);
    }
    const r = JSON.parse(json.toString('utf8')) as {
      i: number;
      id: string;
      h: string;
      t: string;
      s?: StoredEvent['event']['security'];
      e: StoredEvent['event'];
    };
    if (r.s !== undefined) r.e.security = r.s;
    return { index: r.i, eventId: r.id, eventHash: r.h, event: r.e, receivedAt: r.t };
  }

  async #reader(no: number): Promise<FileHandle> {
    // After close nothing opens a handle any more: close() could no longer close it (DEP0137).
    if (this.#closed) throw new VcpIoError(`${this.name} is closed`);
    const seg = this.#segments.find((s) => s.no === no);
    if (!seg) throw new VcpIoError(`${this.name}: segment ${no} is not known`);
    if (seg.reader) return seg.reader;
    seg.opening ??= open(seg.path, 'r').then(
      (h) => {
        seg.reader = h;
        return h;
      },
      (e: unknown) => {
        seg.opening = undefined;
        throw e;
      },
    );
    return seg.opening;
  }

  async *scan(from: number, to: number): AsyncIterable<StoredEvent> {
    const end = Math.min(Math.max(0, Math.floor(to)), this.#index.size);
    let i = Math.max(0, Math.floor(from));
    while (i < end) {
      // One read covers consecutive records of one segment, up to ~1 MiB.
      const first = this.#index.locate(i);
      let j = i + 1;
      let bytes = first.length;
      while (j < end) {
        const next = this.#index.locate(j);
        if (next.segment !== first.segment || bytes + next.length > SCAN_CHUNK_BYTES) break;
        bytes += next.length;
        j++;
      }
      const reader = await this.#reader(first.segment);
      const buf = Buffer.allocUnsafe(bytes);
      await reader.read(buf, 0, bytes, first.offset);
      let at = 0;
      for (let k = i; k < j; k++) {
        const len = this.#index.locate(k).length;
        yield this.#decodeEvent(buf, at, at + len, k);
        at += len;
      }
      i = j;
    }
  }

  putAnchor(record: AnchorRecord): Promise<void> {
    const run = this.#anchorChain.then(async () => {
      this.#checkWritable();
      const { buffer } = encodeRecords([JSON.stringify(record)]);
      const f = this.#anchorsFile!;
      const before = (await f.stat()).size;
      let off = 0;
      try {
        while (off < buffer.length) off += (await f.write(buffer, off, buffer.length - off)).bytesWritten;
        await f.datasync();
      } catch (e) {
        await f.truncate(before).catch(() => {});
        throw new VcpIoError(
          `${this.name}: cannot store anchor ${record.anchor_id}: ${(e as Error).message}`,
          {
            cause: e,
          },
        );
      }
      const at = this.#anchors.findIndex((a) => a.anchor_id === record.anchor_id);
      if (at === -1) this.#anchors.push(record);
      else this.#anchors[at] = record;
    });
    this.#anchorChain = run.catch(() => {});
    return run;
  }

  async anchors(): Promise<AnchorRecord[]> {
    return [...this.#anchors];
  }

  /** See {@link EventStore.noteSignedSize}: one fdatasync'ed line per new, larger size. */
  noteSignedSize(treeSize: number): Promise<void> {
    const run = this.#anchorChain.then(async () => {
      if (treeSize <= this.#signedFloor) return;
      const line = `${JSON.stringify({ tree_size: treeSize, signed_at: new Date().toISOString() })}\n`;
      const f = await open(join(this.#dir, SIGNED_CHECKPOINTS), 'a', 0o600);
      try {
        await f.write(line);
        await f.datasync();
      } finally {
        await f.close();
      }
      this.#signedFloor = treeSize;
    });
    this.#anchorChain = run.catch(() => {});
    return run;
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    clearTimeout(this.#scrubTimer);
    await this.#scrubRun?.catch(() => {});
    await this.#anchorChain;
    await Promise.all(this.#segments.map((s) => s.opening?.catch(() => undefined)));
    const handles = [this.#writer, this.#anchorsFile, ...this.#segments.map((s) => s.reader)];
    this.#writer = undefined;
    this.#anchorsFile = undefined;
    for (const s of this.#segments) {
      s.reader = undefined;
      s.opening = undefined;
    }
    for (const h of handles) {
      if (!h) continue;
      await h.datasync().catch(() => {});
      await h.close().catch(() => {});
    }
    const lock = this.#lock;
    this.#lock = undefined;
    await lock?.release();
  }
}

/**
 * The record line of one event: a fixed prefix (read fast on recovery), then
 * either the client's text plus the security block (`s`, which supersedes the
 * text's own `security` on reading) or the serialised event.
 */
function recordParts(e: StoredEventWithRaw): (string | Uint8Array)[] {
  const head = `{"i":${e.index},"id":${JSON.stringify(e.eventId)},"h":"${e.eventHash}","t":${JSON.stringify(e.receivedAt)}`;
  if (e.rawEvent !== undefined) {
    const security = e.rawSecurityJson ?? JSON.stringify(e.rawSecurity ?? e.event.security);
    return [`${head},"s":${security},"e":`, e.rawEvent, '}'];
  }
  return [`${head},"e":`, JSON.stringify(e.event), '}'];
}

/** Write cut-off bytes beside the log under `path` (or `path-2`, `-3`, … : an earlier copy is never overwritten). */
async function keepAside(path: string, data: Buffer): Promise<string> {
  for (let n = 1; ; n++) {
    const name = n === 1 ? path : `${path}-${n}`;
    try {
      await writeFile(name, data, { flag: 'wx' });
      return name;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST' || n >= 1000) throw e;
    }
  }
}

/** Cut a file back to `size` and make that durable. */
async function truncateDurably(path: string, size: number): Promise<void> {
  const h = await open(path, 'r+');
  try {
    await h.truncate(size);
    await h.datasync();
  } finally {
    await h.close();
  }
}

/** Names of the repair folders in `<dir>/quarantine`, oldest first. */
function quarantined(dir: string): string[] {
  try {
    return readdirSync(join(dir, QUARANTINE_DIR)).sort();
  } catch {
    return [];
  }
}

/** fsync a directory so a newly created file's name survives a power cut. */
async function fsyncDir(dir: string): Promise<void> {
  let h: FileHandle | undefined;
  try {
    h = await open(dir, 'r');
    await h.sync();
  } catch {
    // Some platforms cannot fsync directories; the file's own fsync still holds its data.
  } finally {
    await h?.close().catch(() => {});
  }
}
