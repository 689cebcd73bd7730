/**
 * The embedded event store (DESIGN decision 10): nothing to install.
 *
 * Layout of the data folder:
 *
 *     LOCK                   pid of the sidecar that owns the folder
 *     segments/00000001.log  events, append-only, rotated at `segmentBytes`
 *     anchors.log            anchor records, append-only (a later copy with
 *                            the same anchor_id replaces an earlier one)
 *
 * Every record is one line with a CRC-32 (see file/record.ts). `append`
 * writes a whole group with one `write` and one `fdatasync` and resolves only
 * then, which is what lets the server answer 201 (group commit: the server
 * batches everything that arrived while the previous fsync ran).
 *
 * Recovery on `open`: the segments are read in order and checked record by
 * record. A bad or incomplete record in the LAST segment is a torn write from
 * a crash (only the group being written can be torn, and it was never
 * acknowledged): the log is truncated just before it, and the cut-off bytes
 * are kept beside the segment (`<segment>.torn-<offset>`) for inspection. A
 * bad record in an earlier segment, or leaf indexes that are not contiguous,
 * cannot come from a crash: the store refuses to open and says where.
 *
 * The id index is kept in memory and rebuilt on start (file/event-index.ts).
 * Conformance warnings are not persisted (`StoredEvent.warnings` is left
 * out): a duplicate submission is answered with the warnings of the copy
 * just sent, whose header and payload are the same.
 */
import { mkdirSync, readdirSync } from 'node:fs';
import { type FileHandle, open, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { VcpIoError } from '../../core/errors.ts';
import type { AnchorRecord } from '../../core/types.ts';
import { EventIndex } from './file/event-index.ts';
import { acquireLock } from './file/lock.ts';
import { checkRecord, decodeRecords, encodeRecords } from './file/record.ts';
import type { EventStore, StoredEvent, StoreState } from './store.ts';

/** Options of {@link FileEventStore}. */
export interface FileEventStoreOptions {
  /** The data folder (created if missing). */
  dir: string;
  /** Start a new segment once the current one would grow past this many bytes (default 64 MiB). */
  segmentBytes?: number;
  /** Called after each durable group write, for metrics. */
  onDurableWrite?: (info: { seconds: number; bytes: number; events: number }) => void;
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
  rawEvent?: string;
}

/** Default segment size. */
export const DEFAULT_SEGMENT_BYTES = 64 * 1024 * 1024;

const SEGMENT_RE = /^(\d{8})\.log$/;
const PREFIX_RE = /^\{"i":(\d{1,15}),"id":"([0-9A-Za-z._-]{1,128})","h":"([0-9a-f]{64})"/;
const HEX64_RE = /^[0-9a-f]{64}$/;
const SCAN_CHUNK_BYTES = 1024 * 1024;

interface Segment {
  no: number;
  path: string;
  /** Bytes of complete records. */
  size: number;
  reader?: FileHandle;
  /** The open of `reader` in progress: concurrent reads share it (a second handle would be dropped unclosed, DEP0137). */
  opening?: Promise<FileHandle>;
}

/** Append-only segment files with group-commit fdatasync. See the module comment. */
export class FileEventStore implements EventStore {
  readonly name: string;
  readonly #dir: string;
  readonly #segDir: string;
  readonly #segmentBytes: number;
  readonly #onDurableWrite: FileEventStoreOptions['onDurableWrite'];
  #segments: Segment[] = [];
  #writer: FileHandle | undefined;
  #index = new EventIndex();
  #anchors: AnchorRecord[] = [];
  #anchorsFile: FileHandle | undefined;
  #anchorChain: Promise<unknown> = Promise.resolve();
  #release: (() => void) | undefined;
  #appending = false;
  #failed: string | undefined;
  #opened = false;
  #closed = false;

  constructor(options: FileEventStoreOptions) {
    this.#dir = options.dir;
    this.#segDir = join(options.dir, 'segments');
    this.#segmentBytes = options.segmentBytes ?? DEFAULT_SEGMENT_BYTES;
    this.#onDurableWrite = options.onDurableWrite;
    this.name = `file:${options.dir}`;
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
    this.#release = acquireLock(this.#dir);
    try {
      return await this.#recover();
    } catch (e) {
      await this.close().catch(() => {});
      throw e;
    }
  }

  async #recover(): Promise<StoreState> {
    const recovery: string[] = [];
    const leaves: string[] = [];
    const names = readdirSync(this.#segDir)
      .filter((n) => SEGMENT_RE.test(n))
      .sort();
    for (let k = 0; k < names.length; k++) {
      const name = names[k]!;
      const path = join(this.#segDir, name);
      const no = Number.parseInt(SEGMENT_RE.exec(name)![1]!, 10);
      const buf = await readFile(path);
      const last = k === names.length - 1;
      let badIndex: string | undefined;
      const result = decodeRecords(buf, (rec) => {
        if (badIndex) return;
        const head = parsePrefix(rec.json);
        if (!head || head.index !== this.#index.size) {
          badIndex = head
            ? `record at offset ${rec.offset} has leaf index ${head.index}, expected ${this.#index.size}`
            : `record at offset ${rec.offset} is not an event record`;
          return;
        }
        this.#index.push(head.eventId, no, rec.offset, rec.length);
        leaves.push(head.eventHash);
      });
      if (badIndex) throw new VcpIoError(`segment ${path} is corrupt: ${badIndex}; the store will not open`);
      let size = buf.length;
      if (result.problem) {
        if (!last) {
          throw new VcpIoError(
            `segment ${path} is corrupt (${result.problem}) but is not the last segment, so this is not a torn write ` +
              'from a crash; the store will not open. Restore it from a copy or inspect it by hand.',
          );
        }
        size = result.validEnd;
        const torn = buf.subarray(result.validEnd);
        const keep = `${path}.torn-${result.validEnd}`;
        await writeFile(keep, torn);
        const h = await open(path, 'r+');
        try {
          await h.truncate(result.validEnd);
          await h.datasync();
        } finally {
          await h.close();
        }
        recovery.push(
          `segment ${name}: dropped a torn tail of ${torn.length} bytes at offset ${result.validEnd} (${result.problem})` +
            (result.validAfterProblem
              ? `; it held ${result.validAfterProblem} checksum-valid record(s) after the damage, never acknowledged if this was a crash`
              : '') +
            `; the bytes are kept in ${keep}`,
        );
      }
      this.#segments.push({ no, path, size });
    }
    if (this.#segments.length === 0) await this.#newSegment(1);
    else {
      const cur = this.#segments.at(-1)!;
      this.#writer = await open(cur.path, 'a');
    }
    await this.#loadAnchors(recovery);
    return { size: this.#index.size, leaves, anchors: [...this.#anchors], recovery };
  }

  async #loadAnchors(recovery: string[]): Promise<void> {
    const path = join(this.#dir, 'anchors.log');
    let buf: Buffer;
    try {
      buf = await readFile(path);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT')
        throw new VcpIoError(`cannot read ${path}`, { cause: e });
      buf = Buffer.alloc(0);
    }
    const byId = new Map<string, number>();
    let notRecord: string | undefined;
    const result = decodeRecords(buf, (rec) => {
      let r: AnchorRecord;
      try {
        r = JSON.parse(rec.json.toString('utf8')) as AnchorRecord;
      } catch {
        notRecord ??= `record at offset ${rec.offset} is not JSON`;
        return;
      }
      const at = byId.get(r.anchor_id);
      if (at === undefined) {
        byId.set(r.anchor_id, this.#anchors.length);
        this.#anchors.push(r);
      } else this.#anchors[at] = r;
    });
    if (notRecord) throw new VcpIoError(`${path} is corrupt: ${notRecord}; the store will not open`);
    if (result.problem) {
      const torn = buf.subarray(result.validEnd);
      const keep = `${path}.torn-${result.validEnd}`;
      await writeFile(keep, torn);
      const h = await open(path, 'r+');
      try {
        await h.truncate(result.validEnd);
        await h.datasync();
      } finally {
        await h.close();
      }
      recovery.push(
        `anchors.log: dropped a torn tail of ${torn.length} bytes (${result.problem}); the bytes are kept in ${keep}`,
      );
    }
    this.#anchorsFile = await open(path, 'a');
    if (buf.length === 0) await fsyncDir(this.#dir);
  }

  async #newSegment(no: number): Promise<void> {
    const path = join(this.#segDir, `${String(no).padStart(8, '0')}.log`);
    const w = await open(path, 'a');
    await fsyncDir(this.#segDir);
    await this.#writer?.close();
    this.#writer = w;
    this.#segments.push({ no, path, size: 0 });
  }

  async append(batch: readonly StoredEvent[]): Promise<void> {
    this.#checkWritable();
    if (this.#appending) {
      throw new VcpIoError(
        `${this.name}: append() called while another append runs; the server must be the only writer`,
      );
    }
    if (batch.length === 0) return;
    const base = this.#index.size;
    const jsons = new Array<string[]>(batch.length);
    for (let k = 0; k < batch.length; k++) {
      const e = batch[k] as StoredEventWithRaw;
      if (e.index !== base + k) {
        throw new VcpIoError(
          `${this.name}: append out of order: got leaf index ${e.index}, expected ${base + k}`,
        );
      }
      if (typeof e.eventHash !== 'string' || !HEX64_RE.test(e.eventHash)) {
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
      let off = 0;
      while (off < buffer.length) {
        const { bytesWritten } = await h.write(buffer, off, buffer.length - off);
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

  #checkWritable(): void {
    if (!this.#opened || this.#closed) throw new VcpIoError(`${this.name} is not open`);
    if (this.#failed)
      throw new VcpIoError(`${this.name} stopped accepting writes: ${this.#failed}; restart the sidecar`);
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

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
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
    this.#release?.();
    this.#release = undefined;
  }
}

/**
 * The record line of one event: a fixed prefix (read fast on recovery), then
 * either the client's text plus the security block (`s`, which supersedes the
 * text's own `security` on reading) or the serialised event.
 */
function recordParts(e: StoredEventWithRaw): string[] {
  const head = `{"i":${e.index},"id":${JSON.stringify(e.eventId)},"h":"${e.eventHash}","t":${JSON.stringify(e.receivedAt)}`;
  if (e.rawEvent !== undefined)
    return [`${head},"s":${JSON.stringify(e.event.security)},"e":`, e.rawEvent, '}'];
  return [`${head},"e":`, JSON.stringify(e.event), '}'];
}

/** Leaf index, id and hash from the fixed prefix; falls back to a full parse. */
function parsePrefix(json: Buffer): { index: number; eventId: string; eventHash: string } | undefined {
  const m = PREFIX_RE.exec(json.toString('latin1', 0, Math.min(json.length, 256)));
  if (m) return { index: Number(m[1]), eventId: m[2]!, eventHash: m[3]! };
  try {
    const r = JSON.parse(json.toString('utf8')) as { i?: unknown; id?: unknown; h?: unknown };
    if (
      Number.isSafeInteger(r.i) &&
      typeof r.id === 'string' &&
      typeof r.h === 'string' &&
      HEX64_RE.test(r.h)
    ) {
      return { index: r.i as number, eventId: r.id, eventHash: r.h };
    }
  } catch {
    // not JSON
  }
  return undefined;
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
