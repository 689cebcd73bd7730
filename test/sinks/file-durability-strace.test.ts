/**
 * FileSink durability order at the system-call level, under
 * `strace -f -e trace=fdatasync,fsync,write`: the `fdatasync` of the log's
 * descriptor returns after the events' `write(2)` and before the process
 * says "acknowledged" (a `write(1, "ACKED")` made once `write()` resolved).
 * The in-process check of the same order is file-durability.test.ts; this
 * one also covers what no JavaScript wrapper can see (libuv's thread pool).
 * Skips, saying so, where strace is missing or ptrace is not allowed.
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { tempDir } from './_helpers.ts';

const CHILD = path.join(import.meta.dirname, '_fsync-child.ts');

function straceUsable(): string | undefined {
  const v = spawnSync('strace', ['-o', '/dev/null', 'true'], { encoding: 'utf8' });
  if (v.error)
    return `strace is not installed (${(v.error as NodeJS.ErrnoException).code}); install it (apt-get install -y strace) to run this test`;
  if (v.status !== 0)
    return `strace cannot trace here (ptrace not permitted?): ${v.stderr.trim().slice(0, 200)}`;
  return undefined;
}
const skip = straceUsable();
if (skip) console.warn(`file-durability-strace: SKIPPED: ${skip}`);

/** Trace one child run; the trace's lines. */
function trace(policy: string): string[] {
  const t = tempDir('vcp-strace-');
  try {
    const out = path.join(t.dir, 'trace.txt');
    const r = spawnSync(
      'strace',
      [
        '-f',
        '-e',
        'trace=fdatasync,fsync,write',
        '-o',
        out,
        process.execPath,
        CHILD,
        path.join(t.dir, 'vcp.jsonl'),
        policy,
      ],
      { encoding: 'utf8', timeout: 60_000 },
    );
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toBe('ACKED\n');
    return fs.readFileSync(out, 'utf8').split('\n');
  } finally {
    t.cleanup();
  }
}

/**
 * Line numbers of: the events' write to the log, the completion of an fdatasync/fsync of the
 * log's descriptor after it (entry and exit may be split over `<unfinished …>`/`resumed` lines),
 * and the ACKED marker.
 */
function durabilityOrder(lines: string[]): { wrote: number; synced: number; acked: number } {
  const wrote = lines.findIndex((l) => /\bwrite\(\d+, "\{\\"header\\":/.test(l));
  const fd = wrote >= 0 ? /\bwrite\((\d+),/.exec(lines[wrote]!)![1] : undefined;
  const acked = lines.findIndex((l) => /\bwrite\(1, "ACKED/.test(l));
  let synced = -1;
  const pending = new Set<string>(); // pids with an fdatasync/fsync of fd in flight
  for (let i = wrote + 1; wrote >= 0 && i < lines.length; i++) {
    const l = lines[i]!;
    const pid = /^(\d+)\s/.exec(l)?.[1] ?? '';
    const call = new RegExp(`\\bf(?:data)?sync\\(${fd}(\\)\\s+= 0| <unfinished)`).exec(l);
    if (call?.[1]?.startsWith(')')) {
      synced = i;
      break;
    }
    if (call) pending.add(pid);
    else if (pending.has(pid) && /<\.\.\. f(?:data)?sync resumed>.*= 0/.test(l)) {
      synced = i;
      break;
    }
  }
  return { wrote, synced, acked };
}

describe.skipIf(skip !== undefined)('FileSink under strace', () => {
  it("'every-write': write(2) of the events, then fdatasync returns, then the ack", () => {
    const order = durabilityOrder(trace('every-write'));
    expect(order.wrote).toBeGreaterThanOrEqual(0);
    expect(order.synced).toBeGreaterThan(order.wrote);
    expect(order.acked).toBeGreaterThan(order.synced);
  });

  it("'never' shows the ack with no sync before it: the check above can fail", () => {
    const order = durabilityOrder(trace('never'));
    expect(order.wrote).toBeGreaterThanOrEqual(0);
    expect(order.synced === -1 || order.synced > order.acked).toBe(true);
  });
});

describe('durabilityOrder (the trace reader)', () => {
  it('reads a sync split over unfinished/resumed lines', () => {
    const lines = [
      '10 write(21, "{\\"header\\":{\\"event_id\\":"..., 900) = 900',
      '12 fdatasync(21 <unfinished ...>',
      '10 write(1, "ACKED\\n", 6) = 6',
      '12 <... fdatasync resumed>) = 0',
    ];
    // The ack was written before the sync returned: no completed sync before the ack.
    const o = durabilityOrder(lines);
    expect(o.synced).toBe(3);
    expect(o.acked).toBe(2);
    expect(o.acked > o.synced).toBe(false);
  });
});
