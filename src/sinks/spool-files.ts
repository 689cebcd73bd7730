/**
 * The files a spool directory can hold, for `vcp spool`: what each kind
 * means, who replays it, and reading one without trusting it.
 *
 * | file                                   | kind          | written by                     | replayed by                         |
 * |----------------------------------------|---------------|--------------------------------|-------------------------------------|
 * | `spool-<seq>.jsonl`                    | `spool`       | `withSpool` (downstream down)  | its owner (`spool.lock`), else CLI  |
 * | `vcp-exit-<pid>-<ms>.jsonl[.replaying-<pid>]` | `exit` | the recorder at exit          | the next recorder, else CLI         |
 * | `vcp-dead-letter-*.jsonl`              | `dead-letter` | the HTTP sink, the spool       | only `vcp spool replay`             |
 * | `vcp-rejected-*.jsonl`, `rejected-*.jsonl` | `dead-letter` | the recorder; older spools  | only `vcp spool replay`             |
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { VcpEvent } from '../core/types.ts';
import { pidAlive, readJsonlFile } from './_jsonl.ts';
import { type DeadLetterHeader, isDeadLetterHeader } from './dead-letter.ts';

/** What a spool-directory file holds. */
export type SpoolFileKind = 'spool' | 'exit' | 'dead-letter';

/** Largest file read (a spool's default cap is 1 GiB in 4 MiB segments). */
export const MAX_SPOOL_FILE_BYTES = 1024 * 1024 * 1024;

const KINDS: [RegExp, SpoolFileKind][] = [
  [/^spool-\d{12}\.jsonl$/, 'spool'],
  [/^vcp-exit-\d+-\d+\.jsonl(?:\.replaying-\d+)?$/, 'exit'],
  [/^vcp-dead-letter-[\w-]+\.jsonl$/, 'dead-letter'],
  [/^vcp-rejected-[\w-]+\.jsonl$/, 'dead-letter'],
  [/^rejected-\d+\.jsonl$/, 'dead-letter'],
];

/** The kind of a file by its name, or undefined when it is not a spool file. */
export function spoolFileKind(name: string): SpoolFileKind | undefined {
  for (const [re, kind] of KINDS) if (re.test(name)) return kind;
  return undefined;
}

/** A spool file as listed. */
export interface SpoolFileEntry {
  path: string;
  name: string;
  kind: SpoolFileKind;
  bytes: number;
  modified: Date;
  /** A live process that replays this file itself (do not replay it from outside). */
  ownerPid?: number;
}

/** Sort key: spools by sequence, exit spools by time, dead letters by name (time first). */
function order(e: SpoolFileEntry): string {
  const rank = { spool: 0, exit: 1, 'dead-letter': 2 }[e.kind];
  if (e.kind === 'exit') {
    const m = /^vcp-exit-(\d+)-(\d+)/.exec(e.name)!;
    return `${rank}:${m[2]!.padStart(16, '0')}:${m[1]!.padStart(10, '0')}`;
  }
  return `${rank}:${e.name}`;
}

/** The spool files of `dir`, in replay order. Throws the fs error if `dir` cannot be read. */
export function listSpoolFiles(dir: string): SpoolFileEntry[] {
  const out: SpoolFileEntry[] = [];
  const lockOwner = readLockOwner(dir);
  for (const name of fs.readdirSync(dir)) {
    const kind = spoolFileKind(name);
    if (!kind) continue;
    const file = path.join(dir, name);
    let st: fs.Stats;
    try {
      st = fs.statSync(file);
    } catch {
      continue; // vanished meanwhile (replayed by its owner)
    }
    if (!st.isFile()) continue;
    const entry: SpoolFileEntry = { path: file, name, kind, bytes: st.size, modified: st.mtime };
    const owner = kind === 'spool' ? lockOwner : kind === 'exit' ? exitOwner(name) : undefined;
    if (owner !== undefined) entry.ownerPid = owner;
    out.push(entry);
  }
  return out.sort((a, b) => (order(a) < order(b) ? -1 : order(a) > order(b) ? 1 : 0));
}

/** The live process holding `dir/spool.lock`, if any (not this one). */
function readLockOwner(dir: string): number | undefined {
  try {
    const pid = Number(fs.readFileSync(path.join(dir, 'spool.lock'), 'utf8').trim());
    return pid !== process.pid && pidAlive(pid) ? pid : undefined;
  } catch {
    return undefined;
  }
}

/** The live process an exit spool belongs to (its writer, or its claimer), if any. */
function exitOwner(name: string): number | undefined {
  const m = /^vcp-exit-(\d+)-\d+\.jsonl(?:\.replaying-(\d+))?$/.exec(name);
  if (!m) return undefined;
  const pid = Number(m[2] ?? m[1]);
  return pid !== process.pid && pidAlive(pid) ? pid : undefined;
}

/** A spool file's contents. */
export interface SpoolFileContents {
  kind: SpoolFileKind | undefined;
  /** Dead letters: when, by whom and why. */
  header?: DeadLetterHeader;
  events: VcpEvent[];
  /** Lines that are not JSON objects with a header (skipped, never sent). */
  badLines: { line: number; text: string }[];
  /** Bytes of a partial last line (a crash mid-write), ignored. */
  tornBytes: number;
}

/** Read a spool file (any JSONL of events). Throws a plain Error naming the limit or the fs error. */
export function readSpoolFile(file: string): SpoolFileContents {
  const size = fs.statSync(file).size;
  if (size > MAX_SPOOL_FILE_BYTES) {
    throw new Error(`${file} is ${size} bytes; spool files over ${MAX_SPOOL_FILE_BYTES} bytes are not read`);
  }
  const { values, badLines, tornBytes } = readJsonlFile(file);
  const out: SpoolFileContents = {
    kind: spoolFileKind(path.basename(file)),
    events: [],
    badLines,
    tornBytes,
  };
  let line = 0;
  for (const v of values) {
    line++;
    if (line === 1 && isDeadLetterHeader(v)) {
      out.header = v.vcp_dead_letter;
      continue;
    }
    const e = v as Partial<VcpEvent> | null;
    if (e === null || typeof e !== 'object' || Array.isArray(e) || typeof e.header !== 'object') {
      badLines.push({ line, text: JSON.stringify(v).slice(0, 200) });
      continue;
    }
    out.events.push(e as VcpEvent);
  }
  return out;
}
