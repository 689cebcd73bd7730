/**
 * The recorder's own spool files, for the moments when its sink cannot take
 * events and there is no time to wait: process exit, a close that timed out,
 * a sink stuck when the event loop ran dry.
 *
 * - `vcp-exit-<pid>-<ms>.jsonl`: sealed events written synchronously
 *   (`fs.writeSync` + `fsync`). The next recorder started with the same
 *   `spoolDir` claims them (rename to `….replaying-<pid>`, so two processes
 *   never replay the same file), sends them to its sink before anything new,
 *   oldest first, and deletes each file once the sink acknowledged it. A
 *   claimed file whose claimer died is claimed again.
 * - `vcp-rejected-<pid>-<ms>.jsonl`: events the sink refused as invalid (a
 *   400 from the sidecar). Kept for a person to look at; never replayed.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { VcpEvent } from '../core/types.ts';
import { appendAllSync, encodeEvents, fsyncDir, pidAlive, readJsonlFile } from '../sinks/_jsonl.ts';

const EXIT_RE = /^vcp-exit-(\d+)-(\d+)\.jsonl(?:\.replaying-(\d+))?$/;

/** Append `events` to `<dir>/<prefix>-<pid>-<ms>.jsonl` synchronously and fsync it. Returns the path. */
export function writeSpoolFileSync(dir: string, events: readonly VcpEvent[], prefix = 'vcp-exit'): string {
  fs.mkdirSync(dir, { recursive: true });
  const file = path.join(dir, `${prefix}-${process.pid}-${Date.now()}.jsonl`);
  const fd = fs.openSync(file, 'a', 0o640);
  try {
    appendAllSync(fd, encodeEvents(events));
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
  fsyncDir(dir);
  return file;
}

/** A previous run's exit spool, claimed by this process. */
export interface ClaimedSpool {
  /** The file's path after claiming (`….replaying-<this pid>`). */
  path: string;
  events: VcpEvent[];
  /** Bytes of a torn last line that were ignored. */
  tornBytes: number;
  /** Lines that were not JSON, ignored. */
  badLines: number;
}

/**
 * Claim every exit spool in `dir` left by a process that is gone (or not yet
 * claimed), oldest first, and read its events. Never throws: a directory that
 * does not exist or cannot be read gives an empty list.
 */
export function claimExitSpools(dir: string): ClaimedSpool[] {
  let names: string[];
  try {
    names = fs.readdirSync(dir);
  } catch {
    return [];
  }
  const found: { name: string; pid: number; ms: number }[] = [];
  for (const name of names) {
    const m = EXIT_RE.exec(name);
    if (!m) continue;
    const pid = Number(m[1]);
    const claimer = m[3] === undefined ? undefined : Number(m[3]);
    // An unclaimed file belongs to its writer while that process lives (this one included);
    // a claimed file belongs to its claimer while that process lives.
    const owner = claimer ?? pid;
    if (owner === process.pid || pidAlive(owner)) continue;
    found.push({ name, pid, ms: Number(m[2]) });
  }
  found.sort((a, b) => a.ms - b.ms || a.pid - b.pid);
  const out: ClaimedSpool[] = [];
  for (const f of found) {
    const base = f.name.replace(/\.replaying-\d+$/, '');
    const claimed = path.join(dir, `${base}.replaying-${process.pid}`);
    try {
      fs.renameSync(path.join(dir, f.name), claimed);
      const { values, tornBytes, badLines } = readJsonlFile(claimed);
      out.push({ path: claimed, events: values as VcpEvent[], tornBytes, badLines: badLines.length });
    } catch {
      // Another process claimed it first, or it vanished: not ours.
    }
  }
  return out;
}

/** Delete a replayed spool file. */
export function removeSpoolFile(file: string): void {
  try {
    fs.unlinkSync(file);
  } catch {}
}
