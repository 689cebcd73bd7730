import { appendFileSync, existsSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { AnchorRecord, VcpEvent } from '../../src/core/types.ts';
import { computeEventHash } from '../../src/integrity/event-hash.ts';
import { decodeRecords, encodeRecords } from '../../src/sidecar/store/file/record.ts';
import { FileEventStore } from '../../src/sidecar/store/file-store.ts';
import type { StoredEvent } from '../../src/sidecar/store/store.ts';
import { tempDir, v11Event } from './helpers.ts';

const cleanups: (() => void)[] = [];
afterEach(() => {
  for (const c of cleanups.splice(0)) c();
});

function dir(): string {
  const t = tempDir('vcp-file-store-');
  cleanups.push(t.cleanup);
  return t.dir;
}

function stored(index: number, n = index): StoredEvent {
  const draft = v11Event(n);
  const eventHash = computeEventHash(draft);
  const event = {
    ...draft,
    security: { event_hash: eventHash, hash_algo: 'SHA256', merkle_index: index },
  } as VcpEvent;
  return { index, eventId: draft.header.event_id, eventHash, event, receivedAt: new Date().toISOString() };
}

function anchor(id: string, size: number, proof = ''): AnchorRecord {
  return {
    anchor_id: id,
    merkle_root: 'ab'.repeat(32),
    tree_size: size,
    merkle_mode: 'rfc6962',
    event_count: size,
    first_event_id: 'x',
    last_event_id: 'y',
    timestamp: '1',
    anchored_at: '1970-01-01T00:00:00.000000001Z',
    policy_id: 'local:a:b',
    signature: 's',
    sign_algo: 'ED25519',
    signing_key_id: 'k',
    anchor_target: { type: 'LOCAL_FILE', identifier: 'f', proof },
  };
}

async function openStore(d: string, segmentBytes?: number) {
  const store = new FileEventStore({ dir: d, ...(segmentBytes ? { segmentBytes } : {}) });
  const state = await store.open();
  return { store, state };
}

const segment = (d: string, n = 1) => join(d, 'segments', `${String(n).padStart(8, '0')}.log`);

describe('record framing', () => {
  it('round-trips records and stops at the first damaged one, counting valid ones after it', () => {
    const { buffer, lengths } = encodeRecords(['{"a":1}', '{"b":"ü"}', '{"c":3}']);
    expect(lengths.reduce((a, b) => a + b)).toBe(buffer.length);
    const seen: string[] = [];
    expect(decodeRecords(buffer, (r) => seen.push(r.json.toString())).problem).toBeUndefined();
    expect(seen).toEqual(['{"a":1}', '{"b":"ü"}', '{"c":3}']);

    const damaged = Buffer.from(buffer);
    damaged[lengths[0]! + 12]! ^= 0x01; // flip a bit inside the second record
    const out = decodeRecords(damaged, () => {});
    expect(out.validEnd).toBe(lengths[0]);
    expect(out.problem).toMatch(/checksum/);
    expect(out.validAfterProblem).toBe(1);

    const torn = buffer.subarray(0, buffer.length - 4);
    const t = decodeRecords(torn, () => {});
    expect(t.validEnd).toBe(lengths[0]! + lengths[1]!);
    expect(t.problem).toMatch(/incomplete/);
  });
});

describe('FileEventStore', () => {
  it('appends, finds by id and index (ids case-insensitively), scans in order, and reopens to the same state', async () => {
    const d = dir();
    const { store, state } = await openStore(d);
    expect(state).toMatchObject({ size: 0, anchors: [], recovery: [] });
    expect(state.leaves.length).toBe(0);
    const batch = [stored(0), stored(1), stored(2)];
    await store.append(batch);
    await store.append([stored(3)]);
    expect(store.size).toBe(4);
    expect((await store.getById(batch[1]!.eventId))?.index).toBe(1);
    expect((await store.getById(batch[1]!.eventId.toUpperCase()))?.eventHash).toBe(batch[1]!.eventHash);
    expect(await store.getById('nope')).toBeUndefined();
    expect(await store.getByIndex(4)).toBeUndefined();
    expect(await store.getByIndex(-1)).toBeUndefined();
    const got = (await store.getByIndex(2))!;
    expect(got.event).toEqual(batch[2]!.event);
    const scanned: number[] = [];
    for await (const e of store.scan(1, 10)) scanned.push(e.index);
    expect(scanned).toEqual([1, 2, 3]);
    await store.putAnchor(anchor('a1', 4));
    await store.close();

    const again = await openStore(d);
    expect(again.state.size).toBe(4);
    expect([...again.state.leaves]).toEqual([
      ...batch.map((b) => b.eventHash),
      (await again.store.getByIndex(3))!.eventHash,
    ]);
    expect(again.state.anchors.map((a) => a.anchor_id)).toEqual(['a1']);
    expect(again.state.recovery).toEqual([]);
    expect((await again.store.getById(batch[0]!.eventId))?.index).toBe(0);
    await again.store.close();
  });

  it('refuses appends that do not continue the log exactly, storing nothing of them', async () => {
    const { store } = await openStore(dir());
    await expect(store.append([stored(1)])).rejects.toThrow(/out of order/);
    await expect(store.append([stored(0), stored(2)])).rejects.toThrow(/expected 1/);
    expect(store.size).toBe(0);
    await store.append([stored(0)]);
    expect(store.size).toBe(1);
    await store.close();
  });

  it('rotates segments at the configured size and reads across them', async () => {
    const d = dir();
    const { store } = await openStore(d, 4096);
    for (let i = 0; i < 12; i++) await store.append([stored(i)]);
    await store.close();
    const segs = readdirSync(join(d, 'segments')).filter((n) => n.endsWith('.log'));
    expect(segs.length).toBeGreaterThan(2);
    for (const s of segs) expect(statSync(join(d, 'segments', s)).size).toBeLessThanOrEqual(4096);
    const again = await openStore(d, 4096);
    expect(again.state.size).toBe(12);
    const all: number[] = [];
    for await (const e of again.store.scan(0, 12)) all.push(e.index);
    expect(all).toEqual([...Array(12).keys()]);
    await again.store.close();
  });

  it('recovers from a torn tail: truncates after the last complete record and keeps the torn bytes aside', async () => {
    const d = dir();
    const { store } = await openStore(d);
    await store.append([stored(0), stored(1)]);
    await store.close();
    const good = statSync(segment(d)).size;
    // A crash in the middle of writing the next group: a record cut short.
    const { buffer } = encodeRecords([JSON.stringify({ i: 2, id: 'x', h: '0'.repeat(64) })]);
    appendFileSync(segment(d), buffer.subarray(0, buffer.length - 7));

    const again = await openStore(d);
    expect(again.state.size).toBe(2);
    expect(again.state.recovery).toHaveLength(1);
    expect(again.state.recovery[0]).toMatch(/torn tail of \d+ bytes at offset/);
    expect(statSync(segment(d)).size).toBe(good);
    expect(existsSync(`${segment(d)}.torn-${good}`)).toBe(true);
    // The log continues cleanly after recovery.
    await again.store.append([stored(2)]);
    await again.store.close();
    const third = await openStore(d);
    expect(third.state.size).toBe(3);
    expect(third.state.recovery).toEqual([]);
    await third.store.close();
  });

  it('refuses damage inside the last segment that checksum-valid records follow (bit rot, not a torn end), naming them', async () => {
    const d = dir();
    const { store } = await openStore(d);
    await store.append([stored(0), stored(1), stored(2)]);
    await store.close();
    const bytes = readFileSync(segment(d));
    const firstEnd = bytes.indexOf(0x0a) + 1;
    bytes[firstEnd + 40]! ^= 0xff; // damage record 1; record 2 stays intact
    writeFileSync(segment(d), bytes);
    await expect(openStore(d)).rejects.toThrow(
      /at byte offset \d+: record checksum mismatch; the record there should hold merkle_index 1.*1 checksum-valid record\(s\) follow it.*merkle_index 2 .*will not start|will not start.*merkle_index 1/,
    );
    // Nothing was changed on disk by the refusal.
    expect(readFileSync(segment(d))).toEqual(bytes);
  });

  it('recovers from garbage and zero-filled blocks at the end (what a power cut can leave)', async () => {
    const d = dir();
    const { store } = await openStore(d);
    await store.append([stored(0)]);
    await store.close();
    appendFileSync(segment(d), Buffer.alloc(4096));
    const again = await openStore(d);
    expect(again.state.size).toBe(1);
    expect(again.state.recovery).toHaveLength(1);
    await again.store.close();
  });

  it('refuses to open when an earlier segment is damaged (that is not a crash artefact)', async () => {
    const d = dir();
    const { store } = await openStore(d, 4096);
    for (let i = 0; i < 8; i++) await store.append([stored(i)]);
    await store.close();
    const bytes = readFileSync(segment(d, 1));
    bytes[30]! ^= 0x01;
    writeFileSync(segment(d, 1), bytes);
    await expect(openStore(d, 4096)).rejects.toThrow(
      /will not start: .*00000001\.log at byte offset 0.*not in the newest segment/,
    );
    // The refusal released the lock: after a repair the store opens.
    bytes[30]! ^= 0x01;
    writeFileSync(segment(d, 1), bytes);
    const again = await openStore(d, 4096);
    expect(again.state.size).toBe(8);
    await again.store.close();
  });

  it('refuses a log whose leaf indexes are not contiguous', async () => {
    const d = dir();
    const { store } = await openStore(d);
    await store.append([stored(0)]);
    await store.close();
    const rec = stored(5);
    const json = `{"i":5,"id":"${rec.eventId}","h":"${rec.eventHash}","t":"x","e":{}}`;
    appendFileSync(segment(d), encodeRecords([json]).buffer);
    await expect(openStore(d)).rejects.toThrow(/leaf index 5, expected 1/);
  });

  it('keeps anchors in order, replaces a record by anchor_id, and survives a torn anchors file', async () => {
    const d = dir();
    const { store } = await openStore(d);
    await store.append([stored(0), stored(1)]);
    await store.putAnchor(anchor('a1', 1));
    await store.putAnchor(anchor('a2', 2));
    await store.putAnchor(anchor('a1', 1, 'proof-arrived'));
    expect((await store.anchors()).map((a) => [a.anchor_id, a.anchor_target.proof])).toEqual([
      ['a1', 'proof-arrived'],
      ['a2', ''],
    ]);
    await store.close();
    appendFileSync(join(d, 'anchors.log'), '1234abcd {"anchor_id":"a3"');
    const again = await openStore(d);
    expect(again.state.anchors.map((a) => [a.anchor_id, a.anchor_target.proof])).toEqual([
      ['a1', 'proof-arrived'],
      ['a2', ''],
    ]);
    expect(again.state.recovery[0]).toMatch(/anchors\.log: dropped a torn tail/);
    await again.store.close();
  });

  it('lets one store own a folder at a time, and takes over a lock left by a dead process', async () => {
    const d = dir();
    const { store } = await openStore(d);
    await expect(openStore(d)).rejects.toThrow(/already open in this process/);
    await store.close();
    // A lock left by a process that no longer exists (pid 2^22 + 1 is above Linux's pid_max default).
    writeFileSync(join(d, 'LOCK'), '4194305\n');
    const again = await openStore(d);
    expect(readFileSync(join(d, 'LOCK'), 'utf8').trim()).toBe(String(process.pid));
    await again.store.close();
    expect(existsSync(join(d, 'LOCK'))).toBe(false);
    // A live owner (this test's parent process) is respected.
    writeFileSync(join(d, 'LOCK'), `${process.ppid}\n`);
    await expect(openStore(d)).rejects.toThrow(/in use by process/);
  });

  it('refuses writes after close', async () => {
    const { store } = await openStore(dir());
    await store.close();
    await expect(store.append([stored(0)])).rejects.toThrow(/not open/);
  });
});
