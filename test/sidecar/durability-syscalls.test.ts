/**
 * "fsync before the 201" (DESIGN decision 10), shown by the kernel's own
 * record: a real `vcp sidecar` process runs under strace, batches are
 * posted, and for each 201 the trace must show, in this order,
 *
 *   1. the write of the batch's records to the segment file, complete;
 *   2. an fdatasync (or fsync) of that same segment file, returning 0;
 *   3. the socket write carrying `HTTP/1.1 201`.
 *
 * The kill -9 crash test cannot show this: a SIGKILLed process's writes stay
 * in the page cache and are read back on restart whether or not they were
 * ever synced, so it passes with the fdatasync deleted. This test fails then.
 *
 * Needs strace (Debian package `strace`); skips with a message without it.
 */
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { afterAll, describe, expect, it } from 'vitest';
import { readStrace, type Syscall, straceArgs, straceUnavailable, wroteAll } from '../helpers/strace.ts';
import { post, tempDir, v11Event } from './helpers.ts';

const ENTRY = join(import.meta.dirname, '../../src/cli/sidecar-entry.ts');
const unavailable = straceUnavailable();
if (unavailable) console.warn(`sidecar syscall-order test skipped: ${unavailable} (apt-get install strace)`);

const WRITES = new Set(['write', 'writev', 'pwrite64', 'pwritev', 'pwritev2']);
const SYNCS = new Set(['fdatasync', 'fsync']);
const SOCKET_WRITES = new Set(['write', 'writev', 'sendto', 'sendmsg']);

interface Traced {
  url: string;
  /** Resolves once strace and the sidecar have both exited. */
  stop: () => Promise<{ code: number | null }>;
  stderr: () => string;
}

/** Start `node src/cli/sidecar-entry.ts` under strace and wait for its `{"listening":…}` line. */
function startTraced(dataDir: string, traceFile: string): Promise<Traced> {
  const proc = spawn(
    'strace',
    [...straceArgs(traceFile), process.execPath, ENTRY, '--port', '0', '--data-dir', dataDir],
    {
      // libuv may do file I/O through io_uring, which strace cannot see; keep it on plain syscalls.
      env: { ...process.env, UV_USE_IO_URING: '0' },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  let err = '';
  proc.stderr!.setEncoding('utf8').on('data', (c: string) => {
    err += c;
  });
  const exited = new Promise<{ code: number | null }>((resolve) =>
    proc.on('exit', (code) => resolve({ code })),
  );
  const stop = async () => {
    // SIGTERM the sidecar itself (strace's child), not strace: a graceful stop, then strace exits with it.
    const children = readFileSync(`/proc/${proc.pid}/task/${proc.pid}/children`, 'utf8').trim().split(/\s+/);
    for (const pid of children) if (pid) process.kill(Number(pid), 'SIGTERM');
    return exited;
  };
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`traced sidecar did not start: ${err}`)), 30_000);
    createInterface({ input: proc.stdout! }).once('line', (line) => {
      clearTimeout(timer);
      resolve({ url: (JSON.parse(line) as { listening: string }).listening, stop, stderr: () => err });
    });
    void exited.then(({ code }) => {
      clearTimeout(timer);
      reject(new Error(`traced sidecar exited with ${code} before listening: ${err}`));
    });
  });
}

/** Lines a failing assertion prints: the calls around the batch, so the order is visible. */
function show(calls: Syscall[], from: number, to: number): string {
  return calls
    .filter(
      (c) =>
        c.end >= from &&
        c.start <= to &&
        (c.fdTarget?.includes('/segments/') ||
          c.fdTarget?.endsWith('/anchors.log') ||
          c.fdTarget?.startsWith('TCP')),
    )
    .map((c) => `  [${c.start}-${c.end}] ${c.pid} ${c.name}(${c.fdTarget}) = ${c.ret}`)
    .join('\n');
}

describe.skipIf(unavailable !== undefined)(
  'sidecar: durable before the 201, by syscall order (strace)',
  () => {
    const t = tempDir('vcp-strace-');
    afterAll(() => t.cleanup());

    it('writes and fdatasyncs each batch to its segment file, and each anchor record to anchors.log, before writing the 201 to the socket', async () => {
      const traceFile = join(t.dir, 'trace.txt');
      const child = await startTraced(join(t.dir, 'data'), traceFile);
      const batches: string[][] = [];
      try {
        for (let b = 0; b < 3; b++) {
          const events = Array.from({ length: 1 + b * 4 }, (_, i) => v11Event(b * 100 + i));
          const res = await post(`${child.url}/vcp/log`, events);
          expect(res.status, res.text).toBe(201);
          batches.push(events.map((e) => e.header.event_id));
        }
        const anchor = await post(`${child.url}/vcp/anchor`, '');
        expect(anchor.status, anchor.text).toBe(201);
      } finally {
        const { code } = await child.stop();
        expect(code, child.stderr()).toBe(0);
      }

      const calls = readStrace(traceFile);
      const segmentWrites = calls.filter((c) => WRITES.has(c.name) && c.fdTarget?.includes('/segments/'));
      const created = calls.filter(
        (c) => SOCKET_WRITES.has(c.name) && c.fdTarget?.startsWith('TCP') && c.args.includes('HTTP/1.1 201'),
      );
      expect(created, 'one 201 on the socket per batch, and one for the anchor').toHaveLength(
        batches.length + 1,
      );

      let after = -1;
      batches.forEach((ids, b) => {
        // 1. The segment write holding the batch's first record, complete and after the previous answer.
        const write = segmentWrites.find((c) => c.start > after && c.args.includes(ids[0]!));
        expect(
          write,
          `batch ${b}: no write of event ${ids[0]} to a segment file after line ${after}`,
        ).toBeDefined();
        expect(
          wroteAll(write!),
          `batch ${b}: short segment write: ${write!.args.slice(-40)} = ${write!.ret}`,
        ).toBe(true);
        // 3. Its 201.
        const answer = created[b]!;
        expect(
          answer.start,
          `batch ${b}: the 201 was written before the records\n${show(calls, after, answer.end)}`,
        ).toBeGreaterThan(write!.end);
        // 2. A successful sync of the same file between the two.
        const sync = calls.find(
          (c) =>
            SYNCS.has(c.name) &&
            c.fdTarget === write!.fdTarget &&
            c.start > write!.end &&
            c.end < answer.start &&
            c.ret === '0',
        );
        expect(
          sync,
          `batch ${b}: no fdatasync/fsync of ${write!.fdTarget} returned between its write and the 201\n${show(calls, write!.start, answer.end)}`,
        ).toBeDefined();
        after = answer.end;
      });

      // The anchor record: written to anchors.log and synced before its 201 too.
      const anchorAnswer = created[batches.length]!;
      const anchorWrite = calls
        .filter(
          (c) =>
            WRITES.has(c.name) &&
            c.fdTarget?.endsWith('/anchors.log') &&
            c.start > after &&
            c.end < anchorAnswer.start,
        )
        .at(-1);
      expect(
        anchorWrite,
        `no write to anchors.log before the anchor's 201\n${show(calls, after, anchorAnswer.end)}`,
      ).toBeDefined();
      expect(wroteAll(anchorWrite!)).toBe(true);
      const anchorSync = calls.find(
        (c) =>
          SYNCS.has(c.name) &&
          c.fdTarget === anchorWrite!.fdTarget &&
          c.start > anchorWrite!.end &&
          c.end < anchorAnswer.start &&
          c.ret === '0',
      );
      expect(
        anchorSync,
        `anchors.log was not synced between its write and the anchor's 201\n${show(calls, after, anchorAnswer.end)}`,
      ).toBeDefined();
    }, 60_000);
  },
);
