/**
 * `/console` and `GET /vcp/search` over HTTP on a real sidecar: off by
 * default; the Host rule of the API (no token: localhost only); with a
 * token, the data-free shell is served and every API call needs the token;
 * search parameters bounded and refused by name; newest first, windows and
 * `next_before`; time ranges.
 */
import { request } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SEARCH_MAX_LIMIT } from '../../src/sidecar/routes/search.ts';
import { startSidecar } from '../../src/sidecar/server.ts';
import { type ConsoleFixture, startConsoleFixture } from '../ui/fixture.ts';
import { tempDir, testConfig } from './helpers.ts';

/** GET with a chosen Host header (fetch cannot set one). */
function get(
  url: string,
  headers: Record<string, string> = {},
): Promise<{ status: number; headers: Record<string, unknown>; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(url, { headers }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c) => {
        body += c;
      });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

describe('console route', () => {
  let fx: ConsoleFixture;
  beforeAll(async () => {
    fx = await startConsoleFixture({ traces: 4 });
  }, 60_000);
  afterAll(() => fx?.close());

  it('serves the shell and its assets with a strict CSP, no data in them', async () => {
    const page = await get(`${fx.sidecar.url}/console`);
    expect(page.status).toBe(200);
    expect(page.headers['content-security-policy']).toContain("default-src 'none'");
    expect(page.headers['content-security-policy']).toContain("script-src 'self'");
    expect(page.headers['x-content-type-options']).toBe('nosniff');
    expect(page.body).toContain(fx.sidecar.context.signer.exportPublicKey('hex'));
    expect(page.body).not.toContain(fx.traces[0]);
    const js = await get(`${fx.sidecar.url}/console/app.js`);
    expect(js.status).toBe(200);
    expect(js.headers['content-type']).toContain('text/javascript');
    expect((await get(`${fx.sidecar.url}/console/../vcp/anchors`)).status).not.toBe(500);
    expect((await get(`${fx.sidecar.url}/console/secret.txt`)).status).toBe(404);
  });

  it('without a token, answers only requests addressed to localhost (DNS rebinding), like the API', async () => {
    const url = new URL(fx.sidecar.url);
    for (const path of ['/console', '/console/app.js', '/vcp/search?symbol=EURUSD']) {
      const r = await get(`${fx.sidecar.url}${path}`, { host: `evil.example:${url.port}` });
      expect(r.status, path).toBe(403);
    }
  });

  it('search: by trace, order, symbol, type and time, newest first', async () => {
    const s = async (q: string) => JSON.parse((await get(`${fx.sidecar.url}/vcp/search?${q}`)).body);
    const byTrace = await s(`trace_id=${fx.traces[2]}`);
    expect(byTrace.events.map((e: { event_type: string }) => e.event_type)).toEqual([
      'EXE',
      'ACK',
      'ORD',
      'SIG',
    ]);
    expect((await s('order_id=ORD-3')).events).toHaveLength(3);
    expect((await s('event_type=EXE')).events).toHaveLength(fx.traces.length);
    expect(
      (await s('symbol=GBPUSD&event_type=ORD')).events.every(
        (e: { symbol: string }) => e.symbol === 'GBPUSD',
      ),
    ).toBe(true);
    const first = fx.events[0]!.header.timestamp_iso;
    const few = await s(`until=${encodeURIComponent(first)}`);
    expect(few.events.map((e: { event_id: string }) => e.event_id)).toEqual([fx.events[0]!.header.event_id]);
    expect((await s('since=2999-01-01T00:00:00Z')).events).toHaveLength(0);
    const paged = await s('limit=3');
    expect(paged.events.map((e: { index: number }) => e.index)).toEqual([
      fx.events.length - 1,
      fx.events.length - 2,
      fx.events.length - 3,
    ]);
    expect(paged.next_before).toBe(fx.events.length - 3);
    const next = await s(`limit=3&before=${paged.next_before}`);
    expect(next.events[0].index).toBe(fx.events.length - 4);
  });

  it('search: every bad parameter is refused with 400 naming it', async () => {
    for (const [q, path] of [
      [`limit=${SEARCH_MAX_LIMIT + 1}`, 'limit'],
      ['limit=0', 'limit'],
      ['limit=-1', 'limit'],
      ['before=x', 'before'],
      ['since=yesterday', 'since'],
      ['since=2026-02-01T00:00:00Z&until=2026-01-01T00:00:00Z', 'since'],
      [`trace_id=${'a'.repeat(129)}`, 'trace_id'],
    ] as const) {
      const r = await get(`${fx.sidecar.url}/vcp/search?${q}`);
      expect(r.status, q).toBe(400);
      expect(JSON.parse(r.body).errors[0].path, q).toBe(path);
    }
    expect((await get(`${fx.sidecar.url}/vcp/search`)).status).toBe(200);
  });
});

describe('console route: off by default, and with a token', () => {
  it('is 404 unless --console', async () => {
    const folder = tempDir('vcp-console-off-');
    const sidecar = await startSidecar({ config: testConfig(folder.dir), log: () => {} });
    try {
      const r = await get(`${sidecar.url}/console`);
      expect(r.status).toBe(404);
      expect(r.body).toContain('--console');
    } finally {
      await sidecar.close();
      folder.cleanup();
    }
  }, 60_000);

  it('with a token: the shell (no data) is served, the API needs the token', async () => {
    const token = 'console-route-token-0123456789';
    const fx = await startConsoleFixture({ traces: 1, flags: { token } });
    try {
      const url = new URL(fx.sidecar.url);
      expect((await get(`${fx.sidecar.url}/console`, { host: `audit.example:${url.port}` })).status).toBe(
        200,
      );
      expect((await get(`${fx.sidecar.url}/vcp/search`)).status).toBe(401);
      expect((await get(`${fx.sidecar.url}/vcp/search`, { authorization: `Bearer ${token}` })).status).toBe(
        200,
      );
      expect((await get(`${fx.sidecar.url}/console`)).body).toContain('"tokenRequired":true');
    } finally {
      await fx.close();
    }
  }, 60_000);

  it('--console-pubkey pins the given key in the page', async () => {
    const { generateSigningKey } = await import('../../src/integrity/sign.ts');
    const { writeFileSync } = await import('node:fs');
    const folder = tempDir('vcp-console-pin-');
    const other = generateSigningKey();
    writeFileSync(`${folder.dir}/auditor.pub`, other.exportPublicKey('pem'));
    const sidecar = await startSidecar({
      config: testConfig(folder.dir, { console: true, 'console-pubkey': 'auditor.pub' }),
      log: () => {},
    });
    try {
      const body = (await get(`${sidecar.url}/console`)).body;
      expect(body).toContain(other.exportPublicKey('hex'));
      expect(body).toContain('"pinnedKeySource":"console-pubkey"');
    } finally {
      await sidecar.close();
      folder.cleanup();
    }
    expect(() => testConfig(folder.dir, { console: true, 'console-pubkey': 'missing.pub' })).toThrow(
      /--console-pubkey/,
    );
  }, 60_000);
});
