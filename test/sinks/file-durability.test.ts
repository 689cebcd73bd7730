/**
 * FileSink durability order: a write is acknowledged (its promise resolves)
 * only after an fdatasync that began after its bytes were written has
 * completed. The `node:fs` functions the sink calls are wrapped in place
 * (`module.syncBuiltinESMExports()` carries the wrappers into the ESM
 * namespace the sink imports), so the real calls still run and the test sees
 * their order, and can hold an fdatasync to show the ack waits for it.
 */
import fs from 'node:fs';
import { syncBuiltinESMExports } from 'node:module';
import * as path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { SinkError } from '../../src/sinks/errors.ts';
import { FileSink } from '../../src/sinks/file.ts';
import { sealedEvents, tempDir } from './_helpers.ts';

type Op = { op: 'write' | 'fdatasync-start' | 'fdatasync-done' | 'fsync' | 'ack'; fd?: number; tag?: string };

const log: Op[] = [];
/** While set, each async fdatasync waits for it before running. */
let hold: Promise<void> | undefined;
/** The next async fdatasync reports this error instead of syncing. */
let failNextSync: NodeJS.ErrnoException | undefined;
const original = {
  writeSync: fs.writeSync,
  fdatasync: fs.fdatasync,
  fdatasyncSync: fs.fdatasyncSync,
  fsync: fs.fsync,
  fsyncSync: fs.fsyncSync,
};

beforeEach(() => {
  log.length = 0;
  const patched = fs as unknown as Record<string, unknown>;
  patched.writeSync = (fd: number, ...rest: unknown[]) => {
    const n = (original.writeSync as (...a: unknown[]) => number)(fd, ...rest);
    const data = rest[0];
    const text = Buffer.isBuffer(data) ? data.toString('utf8') : String(data);
    log.push({ op: 'write', fd, tag: /"order_id":"(O-\d+)"/.exec(text)?.[1] });
    return n;
  };
  patched.fdatasync = (fd: number, cb: (err: NodeJS.ErrnoException | null) => void) => {
    log.push({ op: 'fdatasync-start', fd });
    const run = () => {
      if (failNextSync) {
        const err = failNextSync;
        failNextSync = undefined;
        log.push({ op: 'fdatasync-done', fd, tag: 'failed' });
        cb(err);
        return;
      }
      original.fdatasync(fd, (err) => {
        log.push({ op: 'fdatasync-done', fd });
        cb(err);
      });
    };
    if (hold) hold.then(run);
    else run();
  };
  patched.fdatasyncSync = (fd: number) => {
    log.push({ op: 'fdatasync-start', fd, tag: 'sync' });
    original.fdatasyncSync(fd);
    log.push({ op: 'fdatasync-done', fd, tag: 'sync' });
  };
  patched.fsync = (fd: number, cb: (err: NodeJS.ErrnoException | null) => void) => {
    log.push({ op: 'fsync', fd });
    original.fsync(fd, cb);
  };
  patched.fsyncSync = (fd: number) => {
    log.push({ op: 'fsync', fd, tag: 'sync' });
    original.fsyncSync(fd);
  };
  syncBuiltinESMExports();
});

afterEach(() => {
  Object.assign(fs, original);
  syncBuiltinESMExports();
  hold = undefined;
  failNextSync = undefined;
});

const turns = async (n = 20) => {
  for (let i = 0; i < n; i++) await new Promise((r) => setImmediate(r));
};

/** The log restricted to one file descriptor (plus the acks). */
function ofFd(fd: number): string[] {
  return log.filter((o) => o.op === 'ack' || o.fd === fd).map((o) => (o.tag ? `${o.op}:${o.tag}` : o.op));
}

function logFd(): number {
  const w = log.find((o) => o.op === 'write' && o.tag !== undefined);
  if (!w) throw new Error('no event write seen');
  return w.fd!;
}

describe('FileSink: fdatasync before acknowledging', () => {
  it("'every-write': the ack waits for an fdatasync that began after the bytes were written", async () => {
    const t = tempDir();
    try {
      const sink = new FileSink({ path: path.join(t.dir, 'vcp.jsonl') });
      let release!: () => void;
      hold = new Promise((r) => {
        release = r;
      });
      let acked = false;
      const p = sink.write(sealedEvents(3)).then(() => {
        acked = true;
        log.push({ op: 'ack' });
      });
      await turns();
      const fd = logFd();
      // The bytes are written and the fdatasync asked for, but it has not completed: no ack.
      expect(ofFd(fd)).toEqual(['write:O-0', 'fdatasync-start']);
      expect(acked).toBe(false);
      release();
      hold = undefined;
      await p;
      expect(ofFd(fd)).toEqual(['write:O-0', 'fdatasync-start', 'fdatasync-done', 'ack']);
      await sink.close();
    } finally {
      t.cleanup();
    }
  });

  it('group commit: every ack comes after a completed fdatasync that started after that write', async () => {
    const t = tempDir();
    try {
      const sink = new FileSink({ path: path.join(t.dir, 'vcp.jsonl') });
      const writes = Array.from({ length: 6 }, (_, i) =>
        sink.write(sealedEvents(1, i)).then(() => log.push({ op: 'ack', tag: `O-${i}` })),
      );
      await Promise.all(writes);
      const fd = logFd();
      const seq = log.filter((o) => o.fd === fd || o.op === 'ack');
      for (let i = 0; i < 6; i++) {
        const wrote = seq.findIndex((o) => o.op === 'write' && o.tag === `O-${i}`);
        const ack = seq.findIndex((o) => o.op === 'ack' && o.tag === `O-${i}`);
        expect(wrote).toBeGreaterThanOrEqual(0);
        expect(ack).toBeGreaterThan(wrote);
        // A sync that started after the write and completed before the ack.
        const starts = seq
          .map((o, k) => [o, k] as const)
          .filter(([o, k]) => o.op === 'fdatasync-start' && k > wrote && k < ack)
          .map(([, k]) => k);
        const covered = starts.some((s) => seq.slice(s + 1, ack).some((o) => o.op === 'fdatasync-done'));
        expect(covered, `O-${i} acknowledged without a covering fdatasync: ${JSON.stringify(seq)}`).toBe(
          true,
        );
      }
      // Fewer syncs than writes: they were shared.
      expect(seq.filter((o) => o.op === 'fdatasync-start').length).toBeLessThan(6);
      await sink.close();
    } finally {
      t.cleanup();
    }
  });

  it('a failed fdatasync is never acknowledged: the write rejects (retryable)', async () => {
    const t = tempDir();
    try {
      const sink = new FileSink({ path: path.join(t.dir, 'vcp.jsonl') });
      failNextSync = Object.assign(new Error('EIO: i/o error, fdatasync'), { code: 'EIO' });
      const err = await sink.write(sealedEvents(1)).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(SinkError);
      expect(err).toMatchObject({ retryable: true });
      expect((err as Error).message).toMatch(/fsync failed: EIO/);
      await sink.close();
    } finally {
      t.cleanup();
    }
  });

  it('writeSync (exit path, durability sync): fdatasync completes before it returns', () => {
    const t = tempDir();
    try {
      const sink = new FileSink({ path: path.join(t.dir, 'vcp.jsonl') });
      sink.writeSync(sealedEvents(2));
      log.push({ op: 'ack' });
      const fd = logFd();
      expect(ofFd(fd)).toEqual(['write:O-0', 'fdatasync-start:sync', 'fdatasync-done:sync', 'ack']);
      void sink.close();
    } finally {
      t.cleanup();
    }
  });

  it("'never' acknowledges without syncing (the documented trade-off), so the test above can fail", async () => {
    const t = tempDir();
    try {
      const sink = new FileSink({ path: path.join(t.dir, 'vcp.jsonl'), fsync: 'never' });
      await sink.write(sealedEvents(1));
      log.push({ op: 'ack' });
      expect(ofFd(logFd())).toEqual(['write:O-0', 'ack']);
      await sink.close();
    } finally {
      t.cleanup();
    }
  });
});
