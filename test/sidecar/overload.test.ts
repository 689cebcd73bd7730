/**
 * Hostile request bodies past authentication: 8 MiB of nesting, 830 000 keys
 * in one object, 830 000 keys spread over 83 000 objects, one giant string,
 * and bodies of unknown length (chunked), 32 at once. Each gets a JSON 400,
 * 413 or 503; `/health` keeps answering 200 meanwhile; nothing is stored; and
 * the sidecar serves normally afterwards. Functional assertions only: the
 * latency and memory figures are measured in bench/sidecar-soak.ts.
 */
import { request } from 'node:http';
import { afterEach, describe, expect, it } from 'vitest';
import { type Sidecar, startSidecar } from '../../src/sidecar/server.ts';
import { get, post, tempDir, testConfig, v11Event } from './helpers.ts';

const MiB = 1024 * 1024;
const running: Sidecar[] = [];
const cleanups: (() => void)[] = [];

afterEach(async () => {
  for (const s of running.splice(0)) await s.close();
  for (const c of cleanups.splice(0)) c();
});

/** The hostile bodies, each about 8 MiB (under the default 8 MiB body limit). */
function hostileBodies(): { name: string; body: Buffer }[] {
  const deep = Buffer.alloc(8 * MiB - 16, 0x5b); // [[[[…, never closed
  const keys: string[] = [];
  for (let i = 0; keys.length < 830_000; i++) keys.push(`"${i.toString(36)}":1`);
  const oneObject = Buffer.from(`{${keys.join(',')}}`);
  const spread: string[] = [];
  for (let i = 0; i < 83_000; i++)
    spread.push(`{${keys.slice((i % 8000) * 10, (i % 8000) * 10 + 10).join(',')}}`);
  const manyObjects = Buffer.from(`[${spread.join(',')}]`);
  const giantString = Buffer.from(`{"header":{},"payload":{"s":"${'x'.repeat(8 * MiB - 64)}"}}`);
  const deepObjects = Buffer.from(`${'{"a":'.repeat(1_300_000)}1${'}'.repeat(1_300_000)}`);
  for (const b of [deep, oneObject, manyObjects, giantString, deepObjects])
    expect(b.length).toBeLessThanOrEqual(8 * MiB);
  return [
    { name: 'deep arrays', body: deep },
    { name: '830k keys, one object', body: oneObject },
    { name: '830k keys, 83k objects', body: manyObjects },
    { name: 'one 8 MiB string', body: giantString },
    { name: 'deep objects', body: deepObjects },
  ];
}

interface Reply {
  status: number;
  json: Record<string, unknown> | undefined;
  headers: Record<string, string | string[] | undefined>;
  error?: string;
}

/** POST a body with node:http, declared (Content-Length) or chunked. */
function send(url: string, body: Buffer, chunked: boolean): Promise<Reply> {
  return new Promise((resolve) => {
    const headers: Record<string, string | number> = { 'content-type': 'application/json' };
    if (chunked) headers['transfer-encoding'] = 'chunked';
    else headers['content-length'] = body.length;
    const req = request(`${url}/vcp/log`, { method: 'POST', headers, agent: false }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => {
        text += c;
      });
      res.on('end', () => {
        let json: Record<string, unknown> | undefined;
        try {
          json = JSON.parse(text);
        } catch {
          json = undefined;
        }
        resolve({ status: res.statusCode!, json, headers: res.headers });
      });
    });
    req.on('error', (e) => resolve({ status: 0, json: undefined, headers: {}, error: e.message }));
    if (chunked) {
      for (let at = 0; at < body.length; at += 256 * 1024) req.write(body.subarray(at, at + 256 * 1024));
      req.end();
    } else req.end(body);
  });
}

describe('overload protection', () => {
  it('answers 32 concurrent hostile 8 MiB bodies with JSON 400/413/503 while /health keeps answering 200', async () => {
    const t = tempDir();
    cleanups.push(t.cleanup);
    const s = await startSidecar({ config: testConfig(t.dir), log: () => {} });
    running.push(s);
    const hostile = hostileBodies();

    let storming = true;
    const health: number[] = [];
    const healthLoop = (async () => {
      while (storming) {
        const h = await get(`${s.url}/health`);
        health.push(h.status);
        expect(h.body.status).toBe('healthy');
        await new Promise((r) => setTimeout(r, 5));
      }
    })();

    const replies = await Promise.all(
      Array.from({ length: 32 }, (_, i) => {
        const h = hostile[i % hostile.length]!;
        return send(s.url, h.body, i % 4 === 3).then((r) => ({ ...r, name: h.name, chunked: i % 4 === 3 }));
      }),
    );
    storming = false;
    await healthLoop;

    for (const r of replies) {
      const what = `${r.name}${r.chunked ? ' (chunked)' : ''}: ${r.error ?? JSON.stringify(r.json).slice(0, 200)}`;
      expect(r.error, what).toBeUndefined();
      expect([400, 413, 503], what).toContain(r.status);
      expect(r.json, what).toMatchObject({
        status: 'error',
        error: expect.any(String),
        message: expect.any(String),
      });
      if (r.status === 503) {
        expect(r.json!.error, what).toBe('overloaded');
        expect(r.headers['retry-after'], what).toBe('1');
      }
      if (r.status === 400) {
        const rules = (r.json!.errors as { rule: string }[]).map((e) => e.rule);
        expect(
          rules.some((x) => ['depth', 'max-keys', 'max-string-length'].includes(x)),
          what,
        ).toBe(true);
      }
    }
    // The ones that were parsed were refused by a limit, not by JSON.parse after building them.
    expect(replies.filter((r) => r.status === 400 || r.status === 413).length).toBeGreaterThan(0);
    expect(health.length).toBeGreaterThan(0);
    expect(health.every((c) => c === 200)).toBe(true);

    expect(s.context.tree.size).toBe(0);
    expect((await post(`${s.url}/vcp/log`, v11Event(1))).status).toBe(201);
    expect(s.context.tree.size).toBe(1);
  });

  it('queues large bodies beyond the cap briefly, and refuses with 503 + Retry-After beyond the queue', async () => {
    const t = tempDir();
    cleanups.push(t.cleanup);
    const s = await startSidecar({
      config: testConfig(t.dir),
      log: () => {},
      bodyGate: { thresholdBytes: 64 * 1024, maxConcurrent: 1, maxWaiting: 2, maxWaitMs: 5000 },
    });
    running.push(s);
    // Valid batches just over the threshold: the first runs, two wait and succeed, the rest are refused at once.
    const batches = Array.from({ length: 6 }, (_, k) =>
      Buffer.from(JSON.stringify(Array.from({ length: 120 }, (_, i) => v11Event(k * 1000 + i)))),
    );
    expect(batches[0]!.length).toBeGreaterThan(64 * 1024);
    const replies = await Promise.all(batches.map((b) => send(s.url, b, false)));
    const statuses = replies.map((r) => r.status).sort();
    expect(statuses.filter((c) => c === 201).length).toBeGreaterThanOrEqual(3);
    for (const r of replies.filter((x) => x.status !== 201)) {
      expect(r.status).toBe(503);
      expect(r.json).toMatchObject({ status: 'error', error: 'overloaded' });
      expect(r.headers['retry-after']).toBe('1');
    }
    // Small bodies never wait for a permit.
    expect((await post(`${s.url}/vcp/log`, v11Event(99_999))).status).toBe(201);
    expect(s.context.tree.size).toBe(120 * statuses.filter((c) => c === 201).length + 1);
  });
});
