import { readFileSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { verifyCommand } from '../../src/cli/verify-command.ts';
import { verifyAnchorSignature } from '../../src/integrity/anchor-record.ts';
import { computeEventHash } from '../../src/integrity/event-hash.ts';
import { verifyConsistency, verifyInclusion } from '../../src/integrity/merkle/index.ts';
import { type Sidecar, startSidecar } from '../../src/sidecar/server.ts';
import { FileEventStore } from '../../src/sidecar/store/file-store.ts';
import type { EventStore } from '../../src/sidecar/store/store.ts';
import { get, guideEvent, post, tempDir, testConfig, v11Event } from './helpers.ts';

const TOKEN = 'test-token-0123456789abcdef';
const running: Sidecar[] = [];
const cleanups: (() => void)[] = [];
const logs: string[] = [];

afterEach(async () => {
  for (const s of running.splice(0)) await s.close();
  for (const c of cleanups.splice(0)) c();
  logs.length = 0;
});

function folder(): string {
  const t = tempDir();
  cleanups.push(t.cleanup);
  return t.dir;
}

async function start(
  dir = folder(),
  flags: Record<string, string | boolean> = {},
  extra: { store?: EventStore } = {},
): Promise<Sidecar> {
  const s = await startSidecar({ config: testConfig(dir, flags), log: (l) => logs.push(l), ...extra });
  running.push(s);
  return s;
}

async function stop(s: Sidecar): Promise<void> {
  running.splice(running.indexOf(s), 1);
  await s.close();
}

/** A raw HTTP request (for chunked bodies, lying headers and the like). */
function raw(
  url: string,
  opts: { method?: string; headers?: Record<string, string | number>; chunks?: (string | Buffer)[] },
): Promise<{ status: number; body: any }> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method: opts.method ?? 'POST', headers: opts.headers ?? {} }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (c) => {
        text += c;
      });
      res.on('end', () => resolve({ status: res.statusCode!, body: text ? JSON.parse(text) : undefined }));
    });
    req.on('error', reject);
    for (const c of opts.chunks ?? []) req.write(c);
    req.end();
  });
}

/** The file store, with hooks around append (a gate, or a failure) — the real store does the work. */
class HookedStore extends FileEventStore {
  gate: Promise<void> | undefined;
  failNext = false;
  failReads = false;
  override async append(batch: Parameters<EventStore['append']>[0]): Promise<void> {
    if (this.gate) await this.gate;
    if (this.failNext) {
      this.failNext = false;
      throw new Error('disk full (simulated)');
    }
    return super.append(batch);
  }
  override async getById(id: string) {
    if (this.failReads) throw new Error('read failed at /secret/path/segment.log');
    return super.getById(id);
  }
}

describe('POST /vcp/log', () => {
  it('stores a v1.1 event and answers 201 with its hash and Merkle index, without warnings', async () => {
    const s = await start();
    const e = v11Event();
    const r = await post(`${s.url}/vcp/log`, e);
    expect(r.status).toBe(201);
    expect(r.body).toEqual({
      status: 'ok',
      event_id: e.header.event_id,
      event_hash: computeEventHash(e),
      merkle_index: 0,
    });
    const back = await get(`${s.url}/vcp/events/${e.header.event_id}`);
    expect(back.status).toBe(200);
    expect(back.body.header).toEqual(e.header);
    expect(back.body.security).toEqual({
      event_hash: computeEventHash(e),
      hash_algo: 'SHA256',
      merkle_index: 0,
    });
  });

  it("accepts the guide's client unchanged, reporting v1.1 gaps as warnings; --strict refuses with 400", async () => {
    const s = await start();
    const r = await post(`${s.url}/vcp/log`, guideEvent());
    expect(r.status).toBe(201);
    expect(r.body.warnings.map((w: { rule: string }) => w.rule)).toContain('uuidv7');
    const strict = await start(folder(), { strict: true });
    const refused = await post(`${strict.url}/vcp/log`, guideEvent());
    expect(refused.status).toBe(400);
    expect(refused.body).toMatchObject({ status: 'error', error: 'validation' });
    expect(refused.body.errors.some((i: { path: string }) => i.path === 'header.event_id')).toBe(true);
    expect(strict.context.tree.size).toBe(0);
  });

  it('takes batches as a JSON array and as NDJSON, with per-item results and contiguous indexes', async () => {
    const s = await start();
    const batch = [v11Event(1), v11Event(2), v11Event(3)];
    const r = await post(`${s.url}/vcp/log`, batch);
    expect(r.status).toBe(201);
    expect(r.body.count).toBe(3);
    expect(r.body.results.map((x: { merkle_index: number }) => x.merkle_index)).toEqual([0, 1, 2]);
    expect(r.body.results.map((x: { event_id: string }) => x.event_id)).toEqual(
      batch.map((e) => e.header.event_id),
    );
    const nd = [v11Event(4), v11Event(5)].map((e) => JSON.stringify(e)).join('\n');
    const r2 = await post(`${s.url}/vcp/log`, `${nd}\n`, { 'content-type': 'application/x-ndjson' });
    expect(r2.status).toBe(201);
    expect(r2.body.results.map((x: { merkle_index: number }) => x.merkle_index)).toEqual([3, 4]);
  });

  it('is idempotent by event_id: same content → same answer + duplicate:true; other content → 409, nothing stored', async () => {
    const s = await start();
    const e = v11Event();
    const first = await post(`${s.url}/vcp/log`, e);
    const again = await post(`${s.url}/vcp/log`, e);
    expect(again.status).toBe(201);
    expect(again.body).toEqual({ ...first.body, duplicate: true });

    const changed = { ...e, payload: { trade_data: { ...e.payload.trade_data, price: '9.9999' } } };
    const conflict = await post(`${s.url}/vcp/log`, changed);
    expect(conflict.status).toBe(409);
    expect(conflict.body).toMatchObject({ status: 'error', error: 'conflict' });
    expect(conflict.body.errors[0]).toMatchObject({ path: 'header.event_id', rule: 'conflict' });

    // A batch mixing a duplicate and a new event stores the new one only…
    const fresh = v11Event(9);
    const mixed = await post(`${s.url}/vcp/log`, [e, fresh]);
    expect(mixed.body.results).toEqual([
      { ...first.body, duplicate: true },
      { status: 'ok', event_id: fresh.header.event_id, event_hash: computeEventHash(fresh), merkle_index: 1 },
    ]);
    // …and a batch holding a conflict is refused whole.
    const other = v11Event(10);
    const refused = await post(`${s.url}/vcp/log`, [other, changed]);
    expect(refused.status).toBe(409);
    expect(refused.body.errors[0].path).toBe('[1].header.event_id');
    expect((await get(`${s.url}/vcp/events/${other.header.event_id}`)).status).toBe(404);
    expect(s.context.tree.size).toBe(2);
  });

  it('treats event ids as UUIDs: a case variant of a stored id with other content is a conflict', async () => {
    const s = await start();
    const e = v11Event();
    const upper = { ...e, header: { ...e.header, event_id: e.header.event_id.toUpperCase() } };
    const first = await post(`${s.url}/vcp/log`, upper);
    expect(first.status).toBe(201);
    expect((await post(`${s.url}/vcp/log`, upper)).body.duplicate).toBe(true);
    expect((await post(`${s.url}/vcp/log`, e)).status).toBe(409);
    expect((await get(`${s.url}/vcp/events/${e.header.event_id}`)).body.header.event_id).toBe(
      upper.header.event_id,
    );
    expect(s.context.tree.size).toBe(1);
  });

  it('stays idempotent across a restart on the same data folder', async () => {
    const dir = folder();
    const s1 = await start(dir);
    const e = v11Event();
    const first = await post(`${s1.url}/vcp/log`, e);
    await stop(s1);
    const s2 = await start(dir);
    expect(s2.context.tree.size).toBe(1);
    const again = await post(`${s2.url}/vcp/log`, e);
    expect(again.body).toEqual({ ...first.body, duplicate: true });
    expect(s2.context.tree.size).toBe(1);
  });

  it('lets concurrent requests share fsyncs (group commit) and gives each a distinct, contiguous index', async () => {
    const s = await start();
    const events = Array.from({ length: 200 }, (_, i) => v11Event(i));
    const answers = await Promise.all(events.map((e) => post(`${s.url}/vcp/log`, e)));
    expect(answers.every((a) => a.status === 201)).toBe(true);
    const indexes = answers.map((a) => a.body.merkle_index as number).sort((a, b) => a - b);
    expect(indexes).toEqual([...Array(200).keys()]);
    const groups = s.context.metrics.groupSize.count;
    expect(groups).toBeGreaterThan(0);
    expect(groups).toBeLessThan(200);
    // The tree matches the hashes in index order.
    for (const a of answers) expect(s.context.tree.tree.leaf(a.body.merkle_index)).toBeTruthy();
  });

  it('refuses hostile bodies with clear 4xx answers, stores nothing of them, and keeps serving', async () => {
    const s = await start();
    const e = JSON.stringify(v11Event());
    const bodies: [string, number, string][] = [
      ['{"header": {', 400, 'json'],
      ['{"header": NaN}', 400, 'json'],
      [e.replace('"payload":{', '"payload":{"x":1,"x":2,'), 400, 'duplicate-key'],
      [e.replace('"1.0850"', '1.085'), 400, 'decimal-string'],
      [e.replace('"ORD-0"', '"\\ud800"'), 400, 'canonical-json'],
      [e.replace('"event_type":"ORD"', '"event_type":["ORD"]'), 400, 'event-type'],
      [`[${e},${e}]`, 400, 'duplicate-in-batch'],
      ['"just a string"', 400, 'object'],
      ['[]', 400, 'non-empty'],
      // A double cannot hold it: refused, never stored rounded (12345678901234567000).
      [e.replace('"trade_data":{', '"trade_data":{"ref_no":12345678901234567890,'), 400, 'number-precision'],
      [e.replace('"trade_data":{', '"trade_data":{"__proto__":{"admin":true},'), 400, 'forbidden-key'],
      [
        e.replace('"payload":{', '"payload":{"constructor":{"prototype":{"admin":true}},'),
        400,
        'forbidden-key',
      ],
    ];
    for (const [body, status, rule] of bodies) {
      const r = await post(`${s.url}/vcp/log`, body);
      expect(r.status, body.slice(0, 60)).toBe(status);
      expect(r.body.status).toBe('error');
      expect(
        r.body.errors.map((i: { rule: string }) => i.rule),
        body.slice(0, 60),
      ).toContain(rule);
      expect(r.text).not.toMatch(/\n\s+at /);
    }
    expect(({} as Record<string, unknown>).admin).toBeUndefined();
    expect(s.context.tree.size).toBe(0);
    expect((await post(`${s.url}/vcp/log`, v11Event(1))).status).toBe(201);
  });

  it('answers 413 for a body over the limit (declared or chunked) without buffering it, and keeps serving', async () => {
    const s = await start(folder(), { 'max-body': '64KiB', 'max-batch': '5', 'max-event': '2KiB' });
    const declared = await raw(`${s.url}/vcp/log`, {
      headers: { 'content-type': 'application/json', 'content-length': 10_000_000 },
      chunks: ['{'],
    });
    expect(declared.status).toBe(413);
    expect(declared.body).toMatchObject({ error: 'payload_too_large', limit: 65536 });
    const chunk = Buffer.alloc(16 * 1024, 0x20);
    const chunked = await raw(`${s.url}/vcp/log`, {
      headers: { 'content-type': 'application/json', 'transfer-encoding': 'chunked' },
      chunks: Array.from({ length: 8 }, () => chunk),
    });
    expect(chunked.status).toBe(413);
    expect(chunked.body).toMatchObject({ error: 'payload_too_large', limit: 65536, what: 'body' });
    const tooMany = await post(
      `${s.url}/vcp/log`,
      Array.from({ length: 6 }, (_, i) => v11Event(i)),
    );
    expect(tooMany.status).toBe(413);
    expect(tooMany.body).toMatchObject({ what: 'batch', limit: 5 });
    const big = v11Event() as any;
    big.payload.note = 'x'.repeat(3000);
    const tooBig = await post(`${s.url}/vcp/log`, big);
    expect(tooBig.status).toBe(413);
    expect(tooBig.body).toMatchObject({ what: 'event', limit: 2048 });
    expect((await post(`${s.url}/vcp/log`, v11Event())).status).toBe(201);
    expect(s.context.tree.size).toBe(1);
  });

  it('answers 415, 405 and 404 with JSON bodies; refuses the content types a browser may send cross-site', async () => {
    const s = await start();
    for (const type of [
      'text/plain',
      'application/x-www-form-urlencoded',
      'multipart/form-data; boundary=x',
    ]) {
      const r = await post(`${s.url}/vcp/log`, JSON.stringify(v11Event()), { 'content-type': type });
      expect(r.status, type).toBe(415);
    }
    const r415 = await post(`${s.url}/vcp/log`, 'a=b', {
      'content-type': 'application/x-www-form-urlencoded',
    });
    expect(r415.status).toBe(415);
    expect(r415.body.error).toBe('unsupported_media_type');
    const gz = await post(`${s.url}/vcp/log`, '{}', { 'content-encoding': 'gzip' });
    expect(gz.status).toBe(415);
    const r405 = await get(`${s.url}/vcp/log`);
    expect(r405.status).toBe(405);
    expect(r405.headers.get('allow')).toBe('POST');
    const r404 = await get(`${s.url}/nope`);
    expect(r404.status).toBe(404);
    expect(r404.body.error).toBe('not_found');
  });

  it('answers 429 with Retry-After when the queue is full, and the queued events still commit', async () => {
    const dir = folder();
    const store = new HookedStore({ dir });
    const s = await start(dir, { 'max-queue': '10', 'max-batch': '10' }, { store });
    let open!: () => void;
    store.gate = new Promise((r) => {
      open = r;
    });
    const first = post(
      `${s.url}/vcp/log`,
      Array.from({ length: 8 }, (_, i) => v11Event(i)),
    );
    while (s.context.writer.depth < 8) await new Promise((r) => setTimeout(r, 5));
    const refused = await post(`${s.url}/vcp/log`, [v11Event(20), v11Event(21), v11Event(22)]);
    expect(refused.status).toBe(429);
    expect(refused.headers.get('retry-after')).toBe('1');
    expect(refused.body).toMatchObject({ error: 'too_many_requests', limit: 10 });
    open();
    expect((await first).status).toBe(201);
    expect(s.context.tree.size).toBe(8);
  });

  it('answers 503 when the store fails, keeps nothing of the request, and recovers', async () => {
    const dir = folder();
    const store = new HookedStore({ dir });
    const s = await start(dir, {}, { store });
    store.failNext = true;
    const failed = await post(`${s.url}/vcp/log`, [v11Event(1), v11Event(2)]);
    expect(failed.status).toBe(503);
    expect(failed.body.error).toBe('storage_unavailable');
    expect(failed.text).not.toContain('disk full');
    const ok = await post(`${s.url}/vcp/log`, v11Event(3));
    expect(ok.body.merkle_index).toBe(0);
  });

  it('never puts internal details in a 500 answer', async () => {
    const dir = folder();
    const store = new HookedStore({ dir });
    const s = await start(dir, {}, { store });
    store.failReads = true;
    const r = await get(`${s.url}/vcp/events/${v11Event().header.event_id}`);
    expect(r.status).toBe(500);
    expect(r.body).toEqual({
      status: 'error',
      error: 'internal',
      message: 'internal error; see the sidecar log',
    });
    expect(logs.join('\n')).toContain('/secret/path');
  });
});

describe('authentication', () => {
  it('without a token, only answers requests addressed to a loopback name (DNS-rebinding guard)', async () => {
    const s = await start();
    const evil = await raw(`${s.url}/vcp/log`, {
      headers: { host: 'attacker.example:8080', 'content-type': 'application/json' },
      chunks: [JSON.stringify(v11Event())],
    });
    expect(evil.status).toBe(403);
    expect(evil.body.error).toBe('forbidden_host');
    // /health answers a foreign Host too, but with the status only (no store path, tree or root).
    const evilHealth = await raw(`${s.url}/health`, { method: 'GET', headers: { host: 'attacker.example' } });
    expect(evilHealth).toEqual({ status: 200, body: { status: 'healthy' } });
    const ownHealth = await raw(`${s.url}/health`, { method: 'GET', headers: { host: 'localhost' } });
    expect(ownHealth.body).toMatchObject({ status: 'healthy', tree_size: 0, store: expect.any(String) });
    for (const host of [`localhost:${s.port}`, `127.0.0.1:${s.port}`, 'localhost']) {
      const ok = await raw(`${s.url}/vcp/log`, {
        headers: { host, 'content-type': 'application/json' },
        chunks: [JSON.stringify(v11Event())],
      });
      expect(ok.status, host).toBe(201);
    }
    expect(s.context.tree.size).toBe(3);
  });

  it('requires the bearer token on every route but /health, compared exactly', async () => {
    const s = await start(folder(), { token: TOKEN });
    const e = v11Event();
    const none = await post(`${s.url}/vcp/log`, e);
    expect(none.status).toBe(401);
    expect(none.body.error).toBe('unauthorized');
    expect(none.headers.get('www-authenticate')).toMatch(/^Bearer/);
    for (const bad of [
      `Bearer ${TOKEN}x`,
      `Bearer ${TOKEN.slice(0, -1)}`,
      `Basic ${TOKEN}`,
      TOKEN,
      'Bearer ',
    ]) {
      expect((await post(`${s.url}/vcp/log`, e, { authorization: bad })).status, bad).toBe(401);
    }
    expect((await get(`${s.url}/metrics`)).status).toBe(401);
    expect((await get(`${s.url}/vcp/export`)).status).toBe(401);
    // Without the token /health says only how it is.
    expect(await get(`${s.url}/health`)).toMatchObject({ status: 200, body: { status: 'healthy' } });
    expect(Object.keys((await get(`${s.url}/health`)).body)).toEqual(['status']);
    expect((await post(`${s.url}/vcp/log`, e, { authorization: `Bearer ${TOKEN}` })).status).toBe(201);
    expect((await get(`${s.url}/health`, { authorization: `Bearer ${TOKEN}` })).body).toMatchObject({
      status: 'healthy',
      tree_size: 1,
    });
    expect((await get(`${s.url}/metrics`, { authorization: `bearer ${TOKEN}` })).status).toBe(200);
  });
});

describe('anchoring, proofs and queries', () => {
  it('anchors on demand, never twice for the same tree, and proves inclusion and consistency', async () => {
    const s = await start();
    const empty = await post(`${s.url}/vcp/anchor`, '');
    expect(empty.status).toBe(200);
    expect(empty.body).toMatchObject({ unchanged: true, tree_size: 0 });

    const events = Array.from({ length: 5 }, (_, i) => v11Event(i));
    await post(`${s.url}/vcp/log`, events);
    const a1 = await post(`${s.url}/vcp/anchor`, '');
    expect(a1.status).toBe(201);
    expect(a1.body).toMatchObject({
      status: 'ok',
      tree_size: 5,
      event_count: 5,
      merkle_root: s.context.tree.root(5),
    });
    expect(a1.body.anchored_at).toMatch(/Z$/);
    expect(a1.body.first_event_id).toBe(events[0]!.header.event_id);
    expect(a1.body.last_event_id).toBe(events[4]!.header.event_id);
    expect(a1.body.anchor_target.type).toBe('LOCAL_FILE');
    expect(verifyAnchorSignature(a1.body, s.context.signer.publicKey)).toBe(true);
    const same = await post(`${s.url}/vcp/anchor`, '');
    expect(same.status).toBe(200);
    expect(same.body).toMatchObject({ unchanged: true, anchor_id: a1.body.anchor_id });

    await post(`${s.url}/vcp/log`, [v11Event(5), v11Event(6)]);
    const a2 = await post(`${s.url}/vcp/anchor`, '');
    expect(a2.body).toMatchObject({
      tree_size: 7,
      event_count: 2,
      first_index: 5,
      prev_anchor_id: a1.body.anchor_id,
    });
    expect(
      (await get(`${s.url}/vcp/anchors`)).body.anchors.map((a: { anchor_id: string }) => a.anchor_id),
    ).toEqual([a1.body.anchor_id, a2.body.anchor_id]);

    // The event shows the anchor that covers it.
    const ev = await get(`${s.url}/vcp/events/${events[2]!.header.event_id}`);
    expect(ev.body.security).toMatchObject({
      merkle_index: 2,
      merkle_root: a1.body.merkle_root,
      anchor_reference: a1.body.anchor_id,
    });

    // Inclusion against the latest anchor, and at a chosen size.
    const p = await get(`${s.url}/vcp/events/${events[2]!.header.event_id}/proof`);
    expect(p.body).toMatchObject({
      merkle_index: 2,
      tree_size: 7,
      anchored: true,
      anchor_id: a2.body.anchor_id,
      merkle_mode: 'rfc6962',
    });
    expect(verifyInclusion(p.body.event_hash, 2, 7, p.body.proof, a2.body.merkle_root)).toBe(true);
    const p5 = await get(`${s.url}/vcp/events/${events[2]!.header.event_id}/proof?size=5`);
    expect(p5.body.anchor_id).toBe(a1.body.anchor_id);
    expect(verifyInclusion(p5.body.event_hash, 2, 5, p5.body.proof, a1.body.merkle_root)).toBe(true);
    expect((await get(`${s.url}/vcp/events/${events[2]!.header.event_id}/proof?size=2`)).status).toBe(400);
    expect((await get(`${s.url}/vcp/events/${events[2]!.header.event_id}/proof?size=-1`)).status).toBe(400);
    expect((await get(`${s.url}/vcp/events/${events[2]!.header.event_id}/proof?size=99`)).status).toBe(400);
    expect((await get(`${s.url}/vcp/events/${crypto.randomUUID()}/proof`)).status).toBe(404);
    expect((await get(`${s.url}/vcp/events/%E0%A4%A/proof`)).status).toBe(400);

    const c = await get(`${s.url}/vcp/consistency?from=5&to=7`);
    expect(c.body).toMatchObject({
      from: 5,
      to: 7,
      from_root: a1.body.merkle_root,
      to_root: a2.body.merkle_root,
    });
    expect(verifyConsistency(5, 7, c.body.from_root, c.body.to_root, c.body.proof)).toBe(true);
    for (const bad of ['from=0&to=7', 'from=6&to=5', 'from=1&to=8', 'to=3', 'from=x']) {
      expect((await get(`${s.url}/vcp/consistency?${bad}`)).status, bad).toBe(400);
    }
  });

  it('reports health (a superset of the guide) and Prometheus metrics', async () => {
    const s = await start(folder(), { tier: 'GOLD' });
    const e1 = v11Event(1);
    await post(`${s.url}/vcp/log`, [e1, v11Event(2)]);
    await post(`${s.url}/vcp/log`, e1);
    const h = await get(`${s.url}/health`);
    expect(h.status).toBe(200);
    expect(h.body).toMatchObject({
      status: 'healthy',
      pending_events: 2,
      tree_size: 2,
      current_root: s.context.tree.root(),
      last_anchor: null,
      anchor_lag_limit_ms: 3600_000,
      tier: 'GOLD',
      // The limits clients seal under (vcp tap --sidecar reads max_event_bytes).
      max_event_bytes: 128 * 1024,
      max_batch_events: 10_000,
    });
    expect(h.body.anchor_lag_ms).toBeGreaterThanOrEqual(0);
    await post(`${s.url}/vcp/anchor`, '');
    const h2 = await get(`${s.url}/health`);
    expect(h2.body).toMatchObject({ pending_events: 0, anchor_lag_ms: 0 });
    expect(h2.body.last_anchor.tree_size).toBe(2);
    const m = await fetch(`${s.url}/metrics`);
    expect(m.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
    const text = await m.text();
    expect(text).toContain('vcp_events_ingested_total 2');
    expect(text).toContain('vcp_events_duplicate_total 1');
    expect(text).toContain('vcp_tree_size 2');
    expect(text).toMatch(/vcp_fsync_seconds_count [1-9]/);
    expect(text).toContain('vcp_anchor_lag_seconds 0');
    expect(text).toContain('vcp_ingest_queue_depth 0');
  });

  it('exports JSONL that `vcp verify` passes, with the public key from the data folder; tampering fails it', async () => {
    const dir = folder();
    const s = await start(dir);
    await post(
      `${s.url}/vcp/log`,
      Array.from({ length: 20 }, (_, i) => v11Event(i)),
    );
    await post(`${s.url}/vcp/log`, guideEvent());
    await post(`${s.url}/vcp/anchor`, '');
    await post(
      `${s.url}/vcp/log`,
      Array.from({ length: 5 }, (_, i) => v11Event(100 + i)),
    );
    await post(`${s.url}/vcp/anchor`, '');
    await post(`${s.url}/vcp/log`, v11Event(200)); // not anchored yet
    const res = await fetch(`${s.url}/vcp/export`);
    expect(res.headers.get('content-type')).toMatch(/^application\/x-ndjson/);
    const text = await res.text();
    const lines = text
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    expect(lines[0].vcp_export).toMatchObject({
      format: 'vcp-export',
      version: 2,
      from: 0,
      to: 27,
      tree_size: 27,
      signing_key_id: s.context.signer.keyId,
    });
    expect(lines.at(-1).vcp_checkpoint.note).toMatch(/^vcp-instrument\/sidecar\/[0-9a-f]{16}\n27\n/);
    expect(lines.filter((l) => l.header).length).toBe(27);
    expect(lines.filter((l) => l.anchor_record).length).toBe(2);
    const file = join(dir, 'export.jsonl');
    writeFileSync(file, text);
    const out: string[] = [];
    const io = {
      out: (t: string) => out.push(t),
      err: (t: string) => out.push(t),
      errIsTty: false,
      env: {},
      cwd: dir,
    };
    // The sidecar's anchors are local-file ones here (development): accepted for this check only.
    const code = await verifyCommand(
      [file, '--pubkey', join(dir, 'signing.pub'), '--insecure-allow-local-anchors'],
      io,
    );
    expect(out.join(''), out.join('')).toMatch(/PROVEN: .*27 events, complete up to tree size 27/);
    expect(code).toBe(0);
    expect(out.join('')).toMatch(/2 anchors, 1 checkpoints/);

    const tampered = text.replace('"ORD-3"', '"ORD-4"');
    writeFileSync(file, tampered);
    expect(await verifyCommand([file, '--pubkey', join(dir, 'signing.pub')], { ...io, out: () => {} })).toBe(
      1,
    );

    const partial = await (await fetch(`${s.url}/vcp/export?from=0&to=10`)).text();
    expect(
      partial
        .trim()
        .split('\n')
        .filter((l) => l.includes('"header"')).length,
    ).toBe(10);
    expect((await get(`${s.url}/vcp/export?from=5&to=99`)).status).toBe(400);
  });

  it('keeps the signing key across restarts (data-folder key, mode 0600)', async () => {
    const dir = folder();
    const s1 = await start(dir);
    const id = s1.context.signer.keyId;
    expect(s1.keySource).toBe('generated');
    await stop(s1);
    const s2 = await start(dir);
    expect(s2.context.signer.keyId).toBe(id);
    expect(s2.keySource).toBe('data-dir');
    const { statSync } = await import('node:fs');
    expect(statSync(join(dir, 'signing.key')).mode & 0o777).toBe(0o600);
    expect(readFileSync(join(dir, 'signing.pub'), 'utf8')).toMatch(/BEGIN PUBLIC KEY/);
    expect(logs.join('\n')).not.toMatch(/PRIVATE KEY/);
  });
});

describe('graceful shutdown', () => {
  it('finishes in-flight requests, refuses new ones, optionally anchors, and keeps everything for the next start', async () => {
    const dir = folder();
    const store = new HookedStore({ dir });
    const s = await start(dir, {}, { store });
    let open!: () => void;
    store.gate = new Promise((r) => {
      open = r;
    });
    const inflight = [
      post(`${s.url}/vcp/log`, v11Event(1)),
      post(`${s.url}/vcp/log`, [v11Event(2), v11Event(3)]),
    ];
    while (s.context.writer.depth < 3) await new Promise((r) => setTimeout(r, 5));
    running.splice(running.indexOf(s), 1);
    const closing = s.close({ anchor: true });
    await new Promise((r) => setTimeout(r, 20));
    expect(s.context.shuttingDown).toBe(true);
    // A new request is refused: the listener is closed (or, on a reused connection, 503).
    const late = await post(`${s.url}/vcp/log`, v11Event(4)).catch(() => 'refused' as const);
    expect(late === 'refused' ? late : String(late.status)).toMatch(/^(refused|503)$/);
    open();
    const answers = await Promise.all(inflight);
    expect(answers.map((a) => a.status)).toEqual([201, 201]);
    await closing;
    await expect(fetch(`${s.url}/health`)).rejects.toThrow();

    const again = await start(dir);
    expect(again.context.tree.size).toBe(3);
    expect(again.context.tree.anchors).toHaveLength(1);
    expect(again.context.tree.anchors[0]!.tree_size).toBe(3);
  });
});

describe('embedding', () => {
  it('a postgres:// store in the config without a store passed is refused, not silently a file store', async () => {
    const d = tempDir();
    try {
      const config = { ...testConfig(d.dir), store: 'postgres://user:secret@127.0.0.1:5432/test' };
      const err = await startSidecar({ config, log: () => {} }).catch((e: Error) => e);
      expect(err).toBeInstanceOf(Error);
      expect((err as Error).message).toMatch(/no store was passed: open it with createPostgresStore/);
      expect((err as Error).message).not.toMatch(/secret/);
    } finally {
      d.cleanup();
    }
  });
});
