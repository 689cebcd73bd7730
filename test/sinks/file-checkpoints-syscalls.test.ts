/**
 * "A checkpoint never covers events that are not durable", shown by the
 * kernel's own record: a FileSink with a signer runs in a child process
 * under strace, and for every checkpoint line the trace must show, in this
 * order,
 *
 *   1. the write of the last event line the checkpoint covers, complete;
 *   2. an fdatasync of that file, returning 0;
 *   3. the write of the checkpoint line.
 *
 * A kill -9 test cannot show this (the page cache keeps unsynced writes), so
 * it would pass with checkpoints written before the fsync; this one fails.
 *
 * Needs strace (Debian package `strace`); skips with a message without it.
 */
import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { readStrace, type Syscall, straceArgs, straceUnavailable, wroteAll } from '../helpers/strace.ts';
import { tempDir } from './_helpers.ts';

const SRC = join(import.meta.dirname, '../../src');
const unavailable = straceUnavailable();
if (unavailable)
  console.warn(`FileSink checkpoint syscall-order test skipped: ${unavailable} (apt-get install strace)`);

const t = tempDir('vcp-file-cp-strace-');
afterAll(() => t.cleanup());

const WRITES = new Set(['write', 'writev', 'pwrite64', 'pwritev', 'pwritev2']);

describe.skipIf(unavailable !== undefined)('FileSink checkpoints: the kernel’s order', () => {
  it('every checkpoint line is written after an fdatasync that followed the events it covers', () => {
    const file = join(t.dir, 'vcp.jsonl');
    const script = join(t.dir, 'child.ts');
    writeFileSync(
      script,
      `
      import { FileSink } from '${SRC}/sinks/file.ts';
      import { generateSigningKey } from '${SRC}/integrity/sign.ts';
      import { sealEvent } from '${SRC}/integrity/seal.ts';
      import { draftEvent } from '${SRC}/core/builder.ts';
      import { createPolicy } from '${SRC}/core/policy.ts';
      const policy = createPolicy({ policyId: 'local:test:strace' });
      const sink = new FileSink({ path: ${JSON.stringify(file)}, signer: generateSigningKey(), checkpointEvery: 50, checkpointIntervalMs: 3600000 });
      for (let b = 0; b < 8; b++) {
        const batch = [];
        for (let i = 0; i < 25; i++)
          batch.push(sealEvent(draftEvent('ORD', { trade_data: { order_id: 'O-' + (b * 25 + i), symbol: 'EURUSD', side: 'BUY', price: '1.0850', quantity: '100000' } }, { policy, venueId: 'XLON', accountId: 'ACC-1' })));
        await sink.write(batch);
      }
      await sink.close();
      `,
    );
    const trace = join(t.dir, 'trace.txt');
    const r = spawnSync('strace', [...straceArgs(trace), process.execPath, script], {
      env: { ...process.env, UV_USE_IO_URING: '0' },
      encoding: 'utf8',
      timeout: 60_000,
    });
    expect(r.status, r.stderr).toBe(0);

    const onFile = readStrace(trace).filter((c) => c.fdTarget === file);
    const writes = onFile.filter((c) => WRITES.has(c.name));
    const isCheckpoint = (c: Syscall) => c.args.includes('{\\"vcp_checkpoint\\"');
    const hasEvents = (c: Syscall) => c.args.includes('{\\"header\\"');
    const checkpoints = writes.filter(isCheckpoint);
    // 200 events, one every 50, and none at close (200 is already covered).
    expect(checkpoints.length).toBe(4);
    expect(
      readFileSync(file, 'utf8')
        .split('\n')
        .filter((l) => l.startsWith('{"vcp_checkpoint"')).length,
    ).toBe(4);
    for (const cp of checkpoints) {
      expect(wroteAll(cp)).toBe(true);
      const lastEvents = writes.filter((w) => hasEvents(w) && w.end < cp.start).at(-1);
      expect(lastEvents, 'a checkpoint before any event').toBeDefined();
      expect(wroteAll(lastEvents!)).toBe(true);
      const synced = onFile.find(
        (c) =>
          (c.name === 'fdatasync' || c.name === 'fsync') &&
          c.ret === '0' &&
          c.start > lastEvents!.end &&
          c.end < cp.start,
      );
      expect(
        synced,
        `no fdatasync between the events (line ${lastEvents!.start}) and the checkpoint (line ${cp.start})`,
      ).toBeDefined();
    }
  });
});
