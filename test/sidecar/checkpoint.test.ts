/**
 * The sidecar's signed checkpoints (export format v2): one in every anchor
 * record (kept across restarts), `GET /vcp/checkpoint` before and after the
 * first anchor, and the export's last line — signed at export time over
 * exactly the exported range and binding the META line.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { AnchorRecord } from '../../src/core/types.ts';
import { metaHash, verifyCheckpoint } from '../../src/integrity/checkpoint/index.ts';
import { sidecarOrigin } from '../../src/integrity/export-meta.ts';
import { generateKeyPair } from '../../src/integrity/keys.ts';
import { EMPTY_ROOT_HEX, MerkleTree } from '../../src/integrity/merkle/index.ts';
import { createAnchoringFactory } from '../../src/sidecar/anchor/server-adapter.ts';
import type { AnchoringFactory } from '../../src/sidecar/anchoring.ts';
import { newestCheckpoint } from '../../src/sidecar/routes/checkpoint.ts';
import { type Sidecar, startSidecar } from '../../src/sidecar/server.ts';
import { FileEventStore } from '../../src/sidecar/store/file-store.ts';
import type { EventStore } from '../../src/sidecar/store/store.ts';
import { get, post, tempDir, testConfig, v11Event } from './helpers.ts';

const running: Sidecar[] = [];
const cleanups: (() => void)[] = [];

afterEach(async () => {
  for (const s of running.splice(0)) await s.close();
  for (const c of cleanups.splice(0)) c();
});

function folder(): string {
  const t = tempDir('vcp-checkpoint-');
  cleanups.push(t.cleanup);
  return t.dir;
}

async function start(
  dir: string,
  extra: { anchoring?: AnchoringFactory; store?: EventStore } = {},
): Promise<Sidecar> {
  const s = await startSidecar({ config: testConfig(dir), log: () => {}, ...extra });
  running.push(s);
  return s;
}

async function stop(s: Sidecar): Promise<void> {
  running.splice(running.indexOf(s), 1);
  await s.close({ anchor: false });
}

async function logEvents(s: Sidecar, first: number, n: number): Promise<void> {
  const res = await post(
    `${s.url}/vcp/log`,
    Array.from({ length: n }, (_, i) => v11Event(first + i)),
  );
  expect(res.status).toBe(201);
}

function jsonLines(text: string): any[] {
  return text
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l));
}

/** Check a note with the sidecar's key only and return its fields. */
function trusted(s: Sidecar, note: unknown) {
  const v = verifyCheckpoint(note, [s.context.signer.publicKey]);
  if (!v.ok) throw new Error(`checkpoint not accepted: ${v.reason}`);
  return v.checkpoint;
}

describe('GET /vcp/checkpoint', () => {
  it('signs the empty tree, then the growing tree (cached per size), then serves the newest anchor’s', async () => {
    const s = await start(folder());
    const origin = sidecarOrigin(s.context.signer.keyId);
    expect(origin).toMatch(/^vcp-instrument\/sidecar\/[0-9a-f]{16}$/);

    const empty = await get(`${s.url}/vcp/checkpoint`);
    expect(empty.status).toBe(200);
    expect(empty.body).toMatchObject({ origin, tree_size: 0, root: EMPTY_ROOT_HEX, merkle_mode: 'rfc6962' });
    expect(trusted(s, empty.body.note)).toMatchObject({ origin, treeSize: 0, rootHex: EMPTY_ROOT_HEX });

    await logEvents(s, 0, 7);
    // The empty-tree checkpoint may be served for up to a second (rate limit); wait it out without sleeping blindly.
    let before = (await get(`${s.url}/vcp/checkpoint`)).body;
    for (let i = 0; before.tree_size !== 7 && i < 40; i++) {
      await new Promise((r) => setTimeout(r, 50));
      before = (await get(`${s.url}/vcp/checkpoint`)).body;
    }
    expect(before).toMatchObject({ origin, tree_size: 7, root: s.context.tree.root(7) });
    expect(trusted(s, before.note)).toMatchObject({ treeSize: 7, rootHex: s.context.tree.root(7) });
    // Same tree size: the same note, not a new signature.
    expect((await get(`${s.url}/vcp/checkpoint`)).body.note).toBe(before.note);

    // The rate limit, on explicit clocks: a grown tree is signed again only a second after the last one.
    const t0 = Date.parse(before.signed_at) + 5000;
    expect(newestCheckpoint(s.context, t0).tree_size).toBe(7);
    await logEvents(s, 100, 1);
    expect(newestCheckpoint(s.context, t0 + 999).note).toBe(newestCheckpoint(s.context, t0).note);
    expect(newestCheckpoint(s.context, t0 + 1000)).toMatchObject({
      tree_size: 8,
      root: s.context.tree.root(8),
    });

    const anchored = await post(`${s.url}/vcp/anchor`, '');
    expect(anchored.status).toBe(201);
    expect(typeof anchored.body.checkpoint).toBe('string');
    await logEvents(s, 7, 3); // newer events: the newest checkpoint is still the anchor's
    const after = (await get(`${s.url}/vcp/checkpoint`)).body;
    expect(after.note).toBe(anchored.body.checkpoint);
    expect(after).toMatchObject({ tree_size: 8, root: anchored.body.merkle_root });
    expect(after.signed_at).toBe(new Date(anchored.body.anchored_at).toISOString());

    // Another key's signature is not accepted.
    const other = verifyCheckpoint(after.note, [generateKeyPair().publicKey]);
    expect(other.ok).toBe(false);
    expect((await fetch(`${s.url}/vcp/checkpoint`, { method: 'POST' })).status).toBe(405);
  });
});

describe('anchor records carry checkpoints', () => {
  for (const [name, anchoring] of [
    ['built-in local anchoring', undefined],
    ['the anchoring service', createAnchoringFactory({})],
  ] as const) {
    it(`${name}: each record's checkpoint states its size and root, and survives a restart`, async () => {
      const dir = folder();
      const s1 = await start(dir, anchoring ? { anchoring } : {});
      await logEvents(s1, 0, 5);
      const a1 = (await post(`${s1.url}/vcp/anchor`, '')).body as AnchorRecord;
      await logEvents(s1, 5, 4);
      const a2 = (await post(`${s1.url}/vcp/anchor`, '')).body as AnchorRecord;
      for (const a of [a1, a2]) {
        const cp = trusted(s1, a.checkpoint);
        expect(cp).toMatchObject({
          origin: sidecarOrigin(s1.context.signer.keyId),
          treeSize: a.tree_size,
          rootHex: a.merkle_root,
          mode: a.merkle_mode,
        });
        expect(cp.partition).toBeUndefined();
      }
      await stop(s1);
      const s2 = await start(dir, anchoring ? { anchoring } : {});
      const listed = (await get(`${s2.url}/vcp/anchors`)).body.anchors as AnchorRecord[];
      expect(listed.map((a) => a.checkpoint)).toEqual([a1.checkpoint, a2.checkpoint]);
      expect((await get(`${s2.url}/vcp/checkpoint`)).body.note).toBe(a2.checkpoint);
    });
  }
});

describe('GET /vcp/export (format v2)', () => {
  it('writes META v2 first and ends with a checkpoint over exactly the exported range, binding META', async () => {
    const s = await start(folder());
    await logEvents(s, 0, 12);
    await post(`${s.url}/vcp/anchor`, '');
    await logEvents(s, 12, 5); // not anchored

    const lines = jsonLines(await (await fetch(`${s.url}/vcp/export`)).text());
    const meta = lines[0].vcp_export;
    expect(meta).toEqual({
      format: 'vcp-export',
      version: 2,
      origin: sidecarOrigin(s.context.signer.keyId),
      producer: 'vcp-instrument sidecar',
      created_at: expect.any(String),
      merkle_mode: 'rfc6962',
      policy_id: s.context.config.policyId,
      signing_key_id: s.context.signer.keyId,
      signing_public_key: s.context.signer.exportPublicKey('hex'),
      from: 0,
      to: 17,
      tree_size: 17,
    });
    const last = lines.at(-1);
    expect(Object.keys(last)).toEqual(['vcp_checkpoint']);
    const cp = trusted(s, last.vcp_checkpoint.note);
    const events = lines.filter((l) => l.header);
    expect(events.length).toBe(17);
    const rebuilt = new MerkleTree();
    for (const e of events) rebuilt.append(e.security.event_hash);
    expect(cp).toMatchObject({ origin: meta.origin, treeSize: 17, rootHex: rebuilt.root(), mode: 'rfc6962' });
    expect(cp.rootHex).toBe(s.context.tree.root(17));
    expect(cp.metaHash).toBe(metaHash(meta));
    // The anchor line carries its own checkpoint.
    const anchors = lines.filter((l) => l.anchor_record).map((l) => l.anchor_record);
    expect(anchors.length).toBe(1);
    expect(trusted(s, anchors[0].checkpoint)).toMatchObject({ treeSize: 12 });
    // Order: META, events, anchors, checkpoint.
    expect(lines.findIndex((l) => l.anchor_record)).toBe(18);
    // Any edit of META breaks the binding.
    expect(metaHash({ ...meta, to: 16 })).not.toBe(cp.metaHash);
    expect(metaHash({ ...meta, from: 1 })).not.toBe(cp.metaHash);
  });

  it('a partial export states from/to and its checkpoint covers leaves 0..to-1', async () => {
    const s = await start(folder());
    await logEvents(s, 0, 20);
    await post(`${s.url}/vcp/anchor`, '');
    const lines = jsonLines(await (await fetch(`${s.url}/vcp/export?from=5&to=11`)).text());
    const meta = lines[0].vcp_export;
    expect(meta).toMatchObject({ from: 5, to: 11, tree_size: 11 });
    const events = lines.filter((l) => l.header);
    expect(events.map((e) => e.security.merkle_index)).toEqual([5, 6, 7, 8, 9, 10]);
    // The anchor over 20 leaves cannot be rebuilt from leaves up to 11: not exported.
    expect(lines.some((l) => l.anchor_record)).toBe(false);
    const cp = trusted(s, lines.at(-1).vcp_checkpoint.note);
    expect(cp).toMatchObject({ treeSize: 11, rootHex: s.context.tree.root(11), metaHash: metaHash(meta) });
  });

  it('an empty log exports META and a checkpoint of the empty tree', async () => {
    const s = await start(folder());
    const lines = jsonLines(await (await fetch(`${s.url}/vcp/export`)).text());
    expect(lines.length).toBe(2);
    expect(lines[0].vcp_export).toMatchObject({ from: 0, to: 0, tree_size: 0 });
    expect(trusted(s, lines[1].vcp_checkpoint.note)).toMatchObject({ treeSize: 0, rootHex: EMPTY_ROOT_HEX });
  });

  it('never signs over events the store did not give: a store that skips one aborts the export', async () => {
    const dir = folder();
    const inner = new FileEventStore({ dir });
    // Fault injection around the real store: its scan loses index 3.
    const lossy: EventStore = {
      name: inner.name,
      open: () => inner.open(),
      append: (batch) => inner.append(batch),
      getById: (id) => inner.getById(id),
      getByIndex: (i) => inner.getByIndex(i),
      async *scan(from, to) {
        for await (const ev of inner.scan(from, to)) if (ev.index !== 3) yield ev;
      },
      putAnchor: (r) => inner.putAnchor(r),
      anchors: () => inner.anchors(),
      close: () => inner.close(),
    };
    const s = await start(dir, { store: lossy });
    await logEvents(s, 0, 6);
    // The client sees a broken response (no headers yet, or a cut body), never a signed one.
    const text = await fetch(`${s.url}/vcp/export`)
      .then((r) => r.text())
      .catch((e: Error) => `ERROR ${e.message}`);
    expect(text).toMatch(/^ERROR/);
    expect(text).not.toContain('vcp_checkpoint');
  });
});
