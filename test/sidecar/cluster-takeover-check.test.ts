/**
 * The parts of a partition takeover that need no broker: the decision table
 * (open, rebuild or refuse), the check of a rebuilt tree against signed
 * anchors, the offset marker a folder keeps, the read-only lease
 * inspection, and the group view that names the partitions nobody serves.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { AnchorRecord } from '../../src/core/types.ts';
import { MerkleTree } from '../../src/integrity/merkle/index.ts';
import type { GroupSnapshot } from '../../src/sidecar/cluster/group-admin.ts';
import { GroupHealth } from '../../src/sidecar/cluster/group-health.ts';
import {
  OFFSET_MARKER_FILE,
  readOffsetMarker,
  writeOffsetMarker,
} from '../../src/sidecar/cluster/offset-marker.ts';
import { inspectLease, OWNER_FILE, tryAcquireLease } from '../../src/sidecar/cluster/partition-lease.ts';
import {
  checkAnchors,
  decideTakeover,
  type TakeoverFacts,
} from '../../src/sidecar/cluster/takeover-check.ts';
import { tempDir } from './helpers.ts';

const cleanups: (() => void)[] = [];
afterEach(() => {
  for (const c of cleanups.splice(0)) c();
});
function folder(): string {
  const t = tempDir('vcp-takeover-unit-');
  cleanups.push(t.cleanup);
  return t.dir;
}

const base: TakeoverFacts = {
  topic: 'vcp.events',
  partition: 2,
  storeSize: 0,
  folderStore: true,
  marker: undefined,
  committed: 500n,
  earliest: 0n,
  startFrom: 'earliest',
};

describe('decideTakeover', () => {
  it('opens when the group committed nothing yet, whatever the store holds', () => {
    // An empty store starting from the topic's start must see the group's stream start there.
    expect(decideTakeover({ ...base, committed: -1n, earliest: 7n })).toEqual({
      action: 'open',
      covered: 7n,
    });
    expect(decideTakeover({ ...base, committed: -1n, startFrom: 'latest' })).toEqual({
      action: 'open',
      covered: undefined,
    });
    expect(decideTakeover({ ...base, committed: 0n, storeSize: 10 })).toEqual({
      action: 'open',
      covered: undefined,
    });
    const marker = { topic: 'vcp.events', partition: 2, offset: 33n };
    expect(decideTakeover({ ...base, committed: 0n, storeSize: 10, marker })).toEqual({
      action: 'open',
      covered: 33n,
    });
  });

  it('opens a folder whose marker covers the committed offset (a shared folder, or its own)', () => {
    const marker = { topic: 'vcp.events', partition: 2, offset: 500n };
    expect(decideTakeover({ ...base, storeSize: 900, marker })).toEqual({ action: 'open', covered: 500n });
    expect(decideTakeover({ ...base, storeSize: 900, marker: { ...marker, offset: 640n } })).toEqual({
      action: 'open',
      covered: 640n,
    });
  });

  it('opens a shared store (PostgreSQL) that holds events: every member writes that one store', () => {
    expect(decideTakeover({ ...base, folderStore: false, storeSize: 3 })).toEqual({
      action: 'open',
      covered: undefined,
    });
  });

  it('rebuilds an empty store from offset 0 when the topic still holds every record', () => {
    const d = decideTakeover(base);
    expect(d).toMatchObject({ action: 'rebuild', from: 0n, to: 500n });
    expect(d.action === 'rebuild' && d.why).toMatch(
      /local store is empty, but the group already committed offset 500/,
    );
    // A new PostgreSQL database under an old group: the same.
    expect(decideTakeover({ ...base, folderStore: false })).toMatchObject({ action: 'rebuild', from: 0n });
  });

  it('catches a store that fell behind up from where its marker stops', () => {
    const marker = { topic: 'vcp.events', partition: 2, offset: 120n };
    expect(decideTakeover({ ...base, storeSize: 300, marker, earliest: 100n })).toMatchObject({
      action: 'rebuild',
      from: 120n,
      to: 500n,
    });
  });

  it('replays a store with events but no marker from 0 (its events come back as duplicates)', () => {
    const d = decideTakeover({ ...base, storeSize: 40 });
    expect(d).toMatchObject({ action: 'rebuild', from: 0n });
    expect(d.action === 'rebuild' && d.why).toMatch(/no record of the offset they reach/);
  });

  it('refuses when the topic no longer holds the records the store lacks', () => {
    const d = decideTakeover({ ...base, earliest: 1n });
    expect(d).toMatchObject({ action: 'refuse', localOffset: 0n });
    expect(d.action === 'refuse' && d.reason).toMatch(/no longer holds offsets 0–0 \(it starts at 1\)/);
    const marker = { topic: 'vcp.events', partition: 2, offset: 120n };
    expect(decideTakeover({ ...base, marker, storeSize: 9, earliest: 121n })).toMatchObject({
      action: 'refuse',
      localOffset: 120n,
    });
  });

  it('refuses an empty store when new partitions start at the latest offset (where the tree began is unknown)', () => {
    const d = decideTakeover({ ...base, startFrom: 'latest' });
    expect(d.action === 'refuse' && d.reason).toMatch(/start=latest/);
  });

  it('refuses a folder whose marker names another topic or partition', () => {
    for (const marker of [
      { topic: 'other.events', partition: 2, offset: 900n },
      { topic: 'vcp.events', partition: 3, offset: 900n },
    ]) {
      const d = decideTakeover({ ...base, committed: -1n, marker, storeSize: 5 });
      expect(d.action === 'refuse' && d.reason).toMatch(/the data folder holds partition \d of topic/);
    }
  });
});

describe('checkAnchors', () => {
  const leaves = Array.from({ length: 9 }, (_, i) => i.toString(16).padStart(64, '0'));
  const tree = MerkleTree.fromLeaves(leaves);
  const anchor = (size: number, root = tree.root(size)) =>
    ({ anchor_id: `a-${size}`, tree_size: size, merkle_root: root }) as AnchorRecord;

  it('accepts every anchor the rebuilt tree reproduces', () => {
    expect(checkAnchors(tree, [anchor(1), anchor(5), anchor(9)])).toEqual([]);
  });

  it('names an anchor over another root, and one beyond the rebuilt tree', () => {
    const forked = MerkleTree.fromLeaves([...leaves.slice(0, 4), 'f'.repeat(64)]).root(5);
    expect(checkAnchors(tree, [anchor(4), anchor(5, forked), anchor(12, 'a'.repeat(64))])).toEqual([
      { anchor_id: 'a-5', tree_size: 5, merkle_root: forked, rebuilt_root: tree.root(5) },
      { anchor_id: 'a-12', tree_size: 12, merkle_root: 'a'.repeat(64), rebuilt_root: undefined },
    ]);
  });
});

describe('offset marker', () => {
  it('round-trips, replaces atomically and leaves no temporary file', async () => {
    const dir = folder();
    expect(readOffsetMarker(dir)).toBeUndefined();
    await writeOffsetMarker(dir, { topic: 't', partition: 1, offset: 7n });
    await writeOffsetMarker(dir, { topic: 't', partition: 1, offset: 9007199254740993n });
    expect(readOffsetMarker(dir)).toEqual({ topic: 't', partition: 1, offset: 9007199254740993n });
    expect(readdirSync(dir)).toEqual([OFFSET_MARKER_FILE]);
    expect(readFileSync(join(dir, OFFSET_MARKER_FILE), 'utf8')).toBe(
      '{"topic":"t","partition":1,"offset":"9007199254740993"}\n',
    );
  });

  it('refuses malformed content, naming the field and the rule', () => {
    const dir = folder();
    const cases: [string, RegExp][] = [
      ['{"topic":"t","partition":1,', /is not JSON/],
      ['{"topic":"","partition":1,"offset":"3"}', /topic must be a non-empty string/],
      ['{"topic":"t","partition":-1,"offset":"3"}', /partition must be a non-negative integer/],
      ['{"topic":"t","partition":1,"offset":3}', /offset must be a decimal string/],
      ['{"topic":"t","partition":1,"offset":"03"}', /offset must be a decimal string/],
      ['{"topic":"t","partition":1,"offset":"-3"}', /offset must be a decimal string/],
    ];
    for (const [text, rule] of cases) {
      writeFileSync(join(dir, OFFSET_MARKER_FILE), text);
      expect(() => readOffsetMarker(dir)).toThrow(rule);
    }
  });
});

describe('inspectLease', () => {
  it('reads a lease without taking it: alive while its holder is, dead once its pid is gone', () => {
    const dir = folder();
    expect(inspectLease(dir, {}, {})).toBeUndefined();
    const lease = tryAcquireLease(dir, {}, {});
    if ('busy' in lease) throw new Error(lease.busy);
    const seen = inspectLease(dir, {}, {});
    expect(seen).toMatchObject({ owner: { pid: process.pid }, alive: true });
    lease.release();
    expect(existsSync(join(dir, OWNER_FILE))).toBe(false);
    // A lease left by a process that is gone (a pid that existed and exited).
    const dead = spawnSync(process.execPath, ['-e', '0']).pid!;
    writeFileSync(
      join(dir, OWNER_FILE),
      JSON.stringify({ host: 'this-host', pid: dead, member: 'm-1', token: 'x', beat: 3 }),
    );
    expect(inspectLease(dir, { host: 'this-host' }, {})).toMatchObject({
      alive: false,
      owner: { member: 'm-1' },
    });
  });

  it('counts a lease of another host dead once it stayed unchanged for the stale time', () => {
    const dir = folder();
    writeFileSync(
      join(dir, OWNER_FILE),
      JSON.stringify({ host: 'far', pid: 1, member: null, token: 'x', beat: 1 }),
    );
    const watch = {};
    expect(inspectLease(dir, { staleMs: 1000 }, watch, 10_000)).toMatchObject({
      alive: true,
      unchangedMs: 0,
    });
    expect(inspectLease(dir, { staleMs: 1000 }, watch, 10_999)).toMatchObject({ alive: true });
    expect(inspectLease(dir, { staleMs: 1000 }, watch, 11_000)).toMatchObject({
      alive: false,
      unchangedMs: 1000,
    });
    // It beats again: alive, and the clock starts over.
    writeFileSync(
      join(dir, OWNER_FILE),
      JSON.stringify({ host: 'far', pid: 1, member: null, token: 'x', beat: 2 }),
    );
    expect(inspectLease(dir, { staleMs: 1000 }, watch, 11_500)).toMatchObject({
      alive: true,
      unchangedMs: 0,
    });
  });
});

describe('GroupHealth', () => {
  const snapshot = (at: number, parts: [number, bigint, bigint, string | null][]): GroupSnapshot => ({
    state: 'Stable',
    members: [],
    at,
    partitions: parts.map(([partition, committed, high, member]) => ({
      partition,
      low: 0n,
      high,
      committed,
      lag: Number(high - (committed < 0n ? 0n : committed)),
      member,
    })),
  });

  it('names every partition no live member serves, with the reason, and no other', () => {
    const dirs = folder();
    const gh = new GroupHealth({
      partitionFolder: (p) => join(dirs, `p${p}`),
      leaseStaleMs: 30_000,
      stallMs: 3000,
    });
    // p3's owner left a lease naming a process that is gone.
    const dead = spawnSync(process.execPath, ['-e', '0']).pid!;
    mkdirSync(join(dirs, 'p3'));
    writeFileSync(
      join(dirs, 'p3', OWNER_FILE),
      JSON.stringify({ host: hostname(), pid: dead, member: 'm-b', token: 'x', beat: 9 }),
    );
    const own = new Map([
      [0, { state: 'active' }],
      [1, { state: 'refused', refusal: 'the topic no longer holds offsets 0–4' }],
    ]);
    const first = gh.view(
      snapshot(1000, [
        [0, 10n, 12n, 'm-a'],
        [1, 40n, 90n, 'm-a'],
        [2, 5n, 5n, null],
        [3, 7n, 20n, 'm-b'],
        [4, 7n, 20n, 'm-c'],
      ]),
      'm-a',
      own,
    );
    expect(first.unserved).toEqual([
      { partition: 1, owner: 'm-a', reason: 'refused by this member: the topic no longer holds offsets 0–4' },
      {
        partition: 2,
        owner: null,
        reason: 'no member of the group holds it (rebalancing, or no member left)',
      },
      expect.objectContaining({ partition: 3, owner: 'm-b', reason: expect.stringMatching(/lease is dead/) }),
    ]);
    expect(first.partitions.map((p) => [p.partition, p.mine, p.lag, p.committed])).toEqual([
      [0, true, 2, '10'],
      [1, true, 50, '40'],
      [2, false, 0, '5'],
      [3, false, 13, '7'],
      [4, false, 13, '7'],
    ]);
    // 3 s later: p0 moved on, p4 did not while records wait: its owner is not storing them.
    const later = gh.view(
      snapshot(4000, [
        [0, 12n, 15n, 'm-a'],
        [1, 40n, 90n, 'm-a'],
        [2, 5n, 5n, 'm-a'],
        [3, 7n, 20n, 'm-b'],
        [4, 7n, 25n, 'm-c'],
      ]),
      'm-a',
      own,
    );
    expect(later.unserved.map((u) => u.partition)).toEqual([1, 3, 4]);
    expect(later.unserved[2]!.reason).toBe(
      'committed offset 7 has not moved for 3 s while 18 record(s) wait',
    );
    expect(later.partitions.find((p) => p.partition === 0)!.stalled_ms).toBeUndefined();
    expect(later.partitions.find((p) => p.partition === 4)!.stalled_ms).toBe(3000);
  });
});
