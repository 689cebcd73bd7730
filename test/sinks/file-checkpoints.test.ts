/**
 * The FileSink's signed checkpoints (export format v2): a signing recorder's
 * FileSink writes a META line per session (and per rotated file), its
 * events, and checkpoints every N events, every T ms and at close — each
 * over the RFC 6962 tree of the segment's events written before it.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { metaHash, verifyCheckpoint } from '../../src/integrity/checkpoint/index.ts';
import { CompactMerkleRange } from '../../src/integrity/merkle/compact.ts';
import { EMPTY_ROOT_HEX, MerkleTree } from '../../src/integrity/merkle/index.ts';
import { generateSigningKey } from '../../src/integrity/sign.ts';
import { createRecorder } from '../../src/recorder/recorder.ts';
import { withCircuitBreaker } from '../../src/sinks/circuit-breaker.ts';
import { FanoutSink } from '../../src/sinks/fanout.ts';
import { FileSink, listLogFiles } from '../../src/sinks/file.ts';
import { MemorySink } from '../../src/sinks/memory.ts';
import { withRetry } from '../../src/sinks/retry.ts';
import { withSpool } from '../../src/sinks/spool.ts';
import { sealedEvents, tempDir } from './_helpers.ts';

const cleanups: (() => void)[] = [];
afterEach(() => {
  for (const c of cleanups.splice(0)) c();
});
function dir(): string {
  const t = tempDir('vcp-file-cp-');
  cleanups.push(t.cleanup);
  return t.dir;
}

type Line = Record<string, any>;

function lines(file: string): Line[] {
  return fs
    .readFileSync(file, 'utf8')
    .split('\n')
    .filter((l) => l.length > 0)
    .map((l) => JSON.parse(l) as Line);
}

const ORIGIN_RE = /^vcp-instrument\/recorder\/[0-9a-f]{16}\/[0-9a-f-]{36}$/;

/**
 * Check one segment (META first) the way a verifier would, and return the
 * tree sizes its checkpoints state. Each checkpoint: signed by `key`, its
 * origin and META hash match, its root is that of the first `treeSize`
 * events, and all of those events come before it in the file.
 */
function checkSegment(segment: Line[], publicKey: import('node:crypto').KeyObject): number[] {
  const meta = segment[0]!.vcp_export;
  expect(meta).toBeDefined();
  const tree = new MerkleTree();
  const sizes: number[] = [];
  for (const line of segment.slice(1)) {
    if (line.header) {
      tree.append(line.security.event_hash);
      continue;
    }
    expect(Object.keys(line)).toEqual(['vcp_checkpoint']);
    const v = verifyCheckpoint(line.vcp_checkpoint.note, [publicKey]);
    if (!v.ok) throw new Error(v.reason);
    expect(v.checkpoint.origin).toBe(meta.origin);
    expect(v.checkpoint.metaHash).toBe(metaHash(meta));
    expect(v.checkpoint.treeSize).toBeLessThanOrEqual(tree.size); // never ahead of the events written
    expect(v.checkpoint.rootHex).toBe(tree.root(v.checkpoint.treeSize));
    sizes.push(v.checkpoint.treeSize);
  }
  return sizes;
}

/** Split a file's lines into segments at each META line. */
function segments(all: Line[]): Line[][] {
  const out: Line[][] = [];
  for (const l of all) {
    if (l.vcp_export) out.push([l]);
    else out.at(-1)!.push(l);
  }
  return out;
}

function order(i: number) {
  return {
    trade_data: { order_id: `O-${i}`, symbol: 'EURUSD', side: 'BUY', price: '1.0850', quantity: '100000' },
  };
}

describe('CompactMerkleRange', () => {
  it('gives the same root as MerkleTree at every size, in O(log n) state', () => {
    const compact = new CompactMerkleRange();
    const tree = new MerkleTree();
    expect(compact.root()).toBe(EMPTY_ROOT_HEX);
    for (const e of sealedEvents(300)) {
      expect(compact.append(e.security.event_hash)).toBe(tree.append(e.security.event_hash));
      expect(compact.root()).toBe(tree.root());
    }
    expect(() => compact.append('zz')).toThrow(/eventHash.*64 hex|hex32|32-byte/);
    expect(compact.size).toBe(300);
  });
});

describe('FileSink signed checkpoints', () => {
  it('a signing recorder: META, events, a checkpoint every N events and one at close', async () => {
    const file = path.join(dir(), 'vcp.jsonl');
    const signer = generateSigningKey();
    const sink = new FileSink({ path: file, checkpointEvery: 100, checkpointIntervalMs: 3_600_000 });
    const recorder = createRecorder({
      policyId: 'local:test:file-cp',
      signer,
      sink,
      batchSize: 50,
      exitHooks: false,
    });
    for (let i = 0; i < 350; i++) recorder.record('ORD', order(i));
    await recorder.close();

    const all = lines(file);
    const meta = all[0]!.vcp_export;
    expect(meta).toEqual({
      format: 'vcp-export',
      version: 2,
      origin: sink.origin,
      producer: 'vcp-instrument recorder',
      created_at: expect.any(String),
      merkle_mode: 'rfc6962',
      hash_algo: 'SHA256',
      policy_id: 'local:test:file-cp',
      signing_key_id: signer.keyId,
      signing_public_key: signer.exportPublicKey('hex'),
      from: 0,
    });
    expect(meta.origin).toMatch(ORIGIN_RE);
    expect(meta.origin).toContain(`/${signer.keyId.slice(0, 16)}/`);
    expect(segments(all).length).toBe(1);
    const sizes = checkSegment(all, signer.publicKey);
    // Batches of 50, each fsynced: count checkpoints at 100, 200, 300, and the closing one at 350.
    expect(sizes).toEqual([100, 200, 300, 350]);
    expect(all.at(-1)!.vcp_checkpoint).toBeDefined();
    expect(all.filter((l) => l.header).length).toBe(350);
  });

  it('a crash after the last checkpoint leaves the later events in the file, uncovered', async () => {
    const file = path.join(dir(), 'vcp.jsonl');
    const signer = generateSigningKey();
    const sink = new FileSink({ path: file, signer, checkpointEvery: 100, checkpointIntervalMs: 3_600_000 });
    const events = sealedEvents(250);
    for (let i = 0; i < events.length; i += 25) await sink.write(events.slice(i, i + 25));
    // No close: what a kill -9 leaves (every write was fsynced).
    const all = lines(file);
    const sizes = checkSegment(all, signer.publicKey);
    expect(sizes).toEqual([100, 200]);
    const lastCp = all.findLastIndex((l) => l.vcp_checkpoint);
    const after = all.slice(lastCp + 1);
    expect(after.length).toBe(50);
    expect(after.every((l) => l.header)).toBe(true);
    // Cutting the file right after the last checkpoint leaves a whole, checkable segment of 200.
    expect(checkSegment(all.slice(0, lastCp + 1), signer.publicKey)).toEqual([100, 200]);
    await sink.close();
    expect(checkSegment(lines(file), signer.publicKey)).toEqual([100, 200, 250]);
  });

  it('a checkpoint every T ms while events come (only when there are new ones)', async () => {
    const file = path.join(dir(), 'vcp.jsonl');
    const signer = generateSigningKey();
    const sink = new FileSink({ path: file, signer, checkpointEvery: 1_000_000, checkpointIntervalMs: 20 });
    await sink.write(sealedEvents(5));
    const seen = async (n: number) => {
      for (let i = 0; i < 250; i++) {
        if (lines(file).filter((l) => l.vcp_checkpoint).length >= n) return;
        await new Promise((r) => setTimeout(r, 20));
      }
      throw new Error(`no checkpoint #${n} after 5 s`);
    };
    await seen(1);
    await sink.write(sealedEvents(3, 5));
    await seen(2);
    await sink.close();
    const sizes = checkSegment(lines(file), signer.publicKey);
    expect(sizes.slice(0, 2)).toEqual([5, 8]);
    // The closing checkpoint is not repeated when nothing came after the last one.
    expect(sizes.at(-1)).toBe(8);
    expect(new Set(sizes).size).toBe(sizes.length);
  });

  it('rotation: each file is its own segment, closed by a checkpoint over all of it', async () => {
    const file = path.join(dir(), 'vcp.jsonl');
    const signer = generateSigningKey();
    const sink = new FileSink({
      path: file,
      signer,
      maxBytes: 40_000,
      checkpointEvery: 1_000_000,
      checkpointIntervalMs: 3_600_000,
    });
    const events = sealedEvents(200);
    for (let i = 0; i < events.length; i += 30) await sink.write(events.slice(i, i + 30));
    await sink.close();
    const files = listLogFiles(file);
    expect(files.length).toBeGreaterThan(2);
    const origins = new Set<string>();
    let total = 0;
    for (const f of files) {
      const all = lines(f);
      const segs = segments(all);
      expect(segs.length).toBe(1);
      origins.add(all[0]!.vcp_export.origin);
      const n = all.filter((l) => l.header).length;
      expect(checkSegment(all, signer.publicKey)).toEqual([n]);
      expect(all.at(-1)!.vcp_checkpoint).toBeDefined();
      total += n;
    }
    expect(total).toBe(200);
    expect(origins.size).toBe(files.length);
  });

  it('a new session on an existing file is a new segment with a new origin', async () => {
    const file = path.join(dir(), 'vcp.jsonl');
    const signer = generateSigningKey();
    for (const start of [0, 10]) {
      const sink = new FileSink({ path: file, signer });
      await sink.write(sealedEvents(10, start));
      await sink.close();
    }
    const segs = segments(lines(file));
    expect(segs.length).toBe(2);
    expect(segs[0]![0]!.vcp_export.origin).not.toBe(segs[1]![0]!.vcp_export.origin);
    for (const s of segs) expect(checkSegment(s, signer.publicKey)).toEqual([10]);
  });

  it("policies 'interval' and 'never' write checkpoints too; unsigned sinks write none", async () => {
    const d = dir();
    const signer = generateSigningKey();
    for (const fsync of ['interval', 'never'] as const) {
      const file = path.join(d, `${fsync}.jsonl`);
      const sink = new FileSink({ path: file, signer, fsync, fsyncIntervalMs: 10, checkpointEvery: 40 });
      const events = sealedEvents(100);
      for (let i = 0; i < 100; i += 20) await sink.write(events.slice(i, i + 20));
      await sink.close();
      const sizes = checkSegment(lines(file), signer.publicKey);
      expect(sizes.at(-1)).toBe(100);
    }
    const plain = path.join(d, 'plain.jsonl');
    const recorder = createRecorder({
      policyId: 'local:test:file-cp',
      sink: new FileSink({ path: plain }),
      exitHooks: false,
    });
    for (let i = 0; i < 20; i++) recorder.record('ORD', order(i));
    await recorder.close();
    expect(lines(plain).every((l) => l.header)).toBe(true);
  });

  it('refuses bad checkpoint settings, naming them', () => {
    const file = path.join(dir(), 'vcp.jsonl');
    expect(() => new FileSink({ path: file, checkpointEvery: 0 })).toThrow(
      /checkpointEvery must be a positive integer/,
    );
    expect(() => new FileSink({ path: file, checkpointEvery: 1.5 })).toThrow(/checkpointEvery/);
    expect(() => new FileSink({ path: file, checkpointIntervalMs: -1 })).toThrow(
      /checkpointIntervalMs must be positive/,
    );
    expect(() => new FileSink({ path: file, checkpointIntervalMs: Number.NaN })).toThrow(
      /checkpointIntervalMs/,
    );
  });

  it('a signer that fails to sign a checkpoint loses no event: the checkpoint comes at the next chance', async () => {
    const file = path.join(dir(), 'vcp.jsonl');
    const real = generateSigningKey();
    let failing = false;
    const flaky = {
      keyId: real.keyId,
      publicKey: real.publicKey,
      exportPublicKey: real.exportPublicKey.bind(real),
      signMessage(m: Uint8Array) {
        if (failing) throw new Error('HSM unavailable');
        return real.signMessage(m);
      },
    } as unknown as typeof real;
    const sink = new FileSink({
      path: file,
      signer: flaky,
      checkpointEvery: 10,
      checkpointIntervalMs: 3_600_000,
    });
    failing = true;
    await sink.write(sealedEvents(10));
    failing = false;
    await sink.write(sealedEvents(10, 10));
    await sink.close();
    const all = lines(file);
    expect(all.filter((l) => l.header).length).toBe(20);
    // No checkpoint at 10 (signing failed), one at 20 covering both batches.
    expect(checkSegment(all, real.publicKey)).toEqual([20]);
  });

  it('the signer reaches a FileSink through fan-out, spool, retry and circuit-breaker wrappers', async () => {
    const folder = dir();
    const file = path.join(folder, 'vcp.jsonl');
    const signer = generateSigningKey();
    const memory = new MemorySink();
    const spooled = withSpool(withCircuitBreaker(withRetry(new FileSink({ path: file }))), {
      dir: path.join(folder, 'spool'),
    });
    const sink = new FanoutSink([spooled, memory]);
    const recorder = createRecorder({ policyId: 'local:test:file-cp', signer, sink, exitHooks: false });
    for (let i = 0; i < 30; i++) recorder.record('ORD', order(i));
    await recorder.close();
    const all = lines(file);
    expect(all[0]!.vcp_export.signing_key_id).toBe(signer.keyId);
    expect(checkSegment(all, signer.publicKey)).toEqual([30]);
    expect(memory.events).toHaveLength(30); // the other sink gets events only
  });

  it('keeps its own signer when a recorder signs with another key', async () => {
    const file = path.join(dir(), 'vcp.jsonl');
    const own = generateSigningKey();
    const sink = new FileSink({ path: file, signer: own });
    const recorder = createRecorder({
      policyId: 'local:test:file-cp',
      signer: generateSigningKey(),
      sink,
      exitHooks: false,
    });
    recorder.record('ORD', order(1));
    await recorder.close();
    const all = lines(file);
    expect(all.filter((l) => l.vcp_export).length).toBe(1);
    expect(all[0]!.vcp_export.signing_key_id).toBe(own.keyId);
    expect(checkSegment(all, own.publicKey)).toEqual([1]);
  });
});
