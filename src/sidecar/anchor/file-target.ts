/**
 * The local file target (`type: 'LOCAL_FILE'`, `external: false`): appends
 * each AnchorRecord as one JSON line to `<dataDir>/anchors-local.jsonl` and
 * fsyncs it. It is the default when no target is configured, so a sidecar
 * runs with nothing else installed.
 *
 * NOT AN EXTERNAL ANCHOR. Whoever controls the machine controls this file:
 * it proves nothing to a third party and does not meet spec §6.3.3 ("External
 * Anchoring is REQUIRED for all tiers"). It exists for development and as a
 * plain-text copy of the records. Its proof says so in words:
 * `not-external:local-file:line=<n>:sha256=<anchorRecordHash>`.
 */
import { mkdir, open, readFile, truncate } from 'node:fs/promises';
import path from 'node:path';
import { VcpIoError } from '../../core/errors.ts';
import type { AnchorRecord, AnchorTarget } from '../../core/types.ts';
import { anchorRecordHash } from '../../integrity/anchor-record.ts';
import type { AnchorTargetDriver } from './target.ts';

/** Default file name inside the data directory. */
export const LOCAL_ANCHOR_FILE = 'anchors-local.jsonl';

/** Prefix of every proof this target writes. */
export const LOCAL_PROOF_PREFIX = 'not-external:local-file:';

const PROOF_RE = /^not-external:local-file:line=(\d{1,12}):sha256=([0-9a-f]{64})$/;

/** Options of {@link createLocalFileTarget}. */
export interface LocalFileTargetOptions {
  /** The sidecar's data directory. */
  dataDir: string;
  /** File name inside it (default `anchors-local.jsonl`). */
  fileName?: string;
}

interface FileState {
  /** Complete lines in the file. */
  lines: number;
  /** anchor_id → [line number (1-based), record hash]. */
  byId: Map<string, [number, string]>;
}

/** Creates the local (non-external) file target. */
export function createLocalFileTarget(options: LocalFileTargetOptions): AnchorTargetDriver {
  const file = path.resolve(options.dataDir, options.fileName ?? LOCAL_ANCHOR_FILE);
  let state: Promise<FileState> | undefined;
  let tail: Promise<unknown> = Promise.resolve();

  /** Reads the file once: counts lines, indexes ids, cuts a torn last line (crash mid-write). */
  const load = async (): Promise<FileState> => {
    await mkdir(path.dirname(file), { recursive: true });
    let text = '';
    try {
      text = await readFile(file, 'utf8');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
    }
    const end = text.lastIndexOf('\n') + 1;
    if (end < text.length) await truncate(file, Buffer.byteLength(text.slice(0, end)));
    const byId = new Map<string, [number, string]>();
    const lines = text.slice(0, end).split('\n');
    lines.pop();
    lines.forEach((line, i) => {
      try {
        const entry = JSON.parse(line) as { record?: AnchorRecord; record_hash?: string };
        if (entry.record?.anchor_id && entry.record_hash)
          byId.set(entry.record.anchor_id, [i + 1, entry.record_hash]);
      } catch {
        // A line that is not ours is kept and counted, never trusted.
      }
    });
    return { lines: lines.length, byId };
  };

  const proofOf = (line: number, hash: string) => `${LOCAL_PROOF_PREFIX}line=${line}:sha256=${hash}`;

  const append = async (record: AnchorRecord): Promise<AnchorTarget> => {
    state ??= load();
    const s = await state;
    const hash = anchorRecordHash(record);
    const known = s.byId.get(record.anchor_id);
    if (known) {
      if (known[1] !== hash) {
        throw new VcpIoError(`${file} already holds a different record with anchor_id ${record.anchor_id}`);
      }
      return { type: 'LOCAL_FILE', identifier: file, proof: proofOf(known[0], hash) };
    }
    const { anchor_target: _t, anchor_targets: _ts, ...core } = record;
    const line = `${JSON.stringify({ record_hash: hash, external: false, record: core })}\n`;
    const handle = await open(file, 'a');
    try {
      await handle.write(line);
      await handle.sync();
    } finally {
      await handle.close();
    }
    if (s.lines === 0) {
      // First line of a new file: make its directory entry durable too.
      const dir = await open(path.dirname(file), 'r');
      try {
        await dir.sync();
      } catch {
        // Some filesystems refuse fsync on a directory; the data itself is synced.
      } finally {
        await dir.close();
      }
    }
    s.lines++;
    s.byId.set(record.anchor_id, [s.lines, hash]);
    return { type: 'LOCAL_FILE', identifier: file, proof: proofOf(s.lines, hash) };
  };

  return {
    type: 'LOCAL_FILE',
    identifier: file,
    external: false,
    anchor(record) {
      // One write at a time: line numbers are the proof.
      const run = tail.then(() => append(record));
      tail = run.catch(() => undefined);
      return run;
    },
    async verify(record, target) {
      const m = typeof target?.proof === 'string' ? PROOF_RE.exec(target.proof) : null;
      if (!m) return { ok: false, reason: 'not a local-file proof' };
      let hash: string;
      try {
        hash = anchorRecordHash(record);
      } catch (error) {
        return { ok: false, reason: `record cannot be hashed: ${(error as Error).message}` };
      }
      if (m[2] !== hash) return { ok: false, reason: 'the proof names another record hash' };
      let text: string;
      try {
        text = await readFile(file, 'utf8');
      } catch (error) {
        return { ok: false, reason: `cannot read ${file}: ${(error as Error).message}` };
      }
      const line = text.split('\n')[Number(m[1]) - 1];
      try {
        const entry = JSON.parse(line ?? '') as { record_hash?: string; record?: AnchorRecord };
        if (entry.record_hash !== hash || !entry.record || anchorRecordHash(entry.record) !== hash) {
          return { ok: false, reason: `line ${m[1]} of ${file} does not hold this record` };
        }
      } catch {
        return { ok: false, reason: `line ${m[1]} of ${file} is not a record` };
      }
      return { ok: true, reason: 'local file copy (not an external anchor)' };
    },
  };
}
