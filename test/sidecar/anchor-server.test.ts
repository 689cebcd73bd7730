/**
 * The anchoring service plugged into the real sidecar server
 * (`createAnchoringFactory`): POST /vcp/anchor reaches a real TSA, a TSA
 * that is down leaves a local record and a queued retry visible in /health,
 * and (with VCP_TEST_PG_URL) the PostgreSQL store plus the DATABASE target
 * run behind the same HTTP API.
 */
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AnchorRecord } from '../../src/core/types.ts';
import { sealEvent } from '../../src/integrity/seal.ts';
import { verifyTimestampToken } from '../../src/integrity/tsa-token.ts';
import { createAnchoringFactory } from '../../src/sidecar/anchor/server-adapter.ts';
import { type Sidecar, startSidecar } from '../../src/sidecar/server.ts';
import { createPostgresStore } from '../../src/sidecar/store/postgres-store.ts';
import { startTestTsa, type TestTsa } from '../fixtures/tsa.ts';
import { postgresUrl, skipReason } from '../helpers/env.ts';
import { tempDir, testConfig, v11Event } from './helpers.ts';

async function post(url: string, body?: unknown): Promise<{ status: number; json: Record<string, unknown> }> {
  const res = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  return { status: res.status, json: (await res.json()) as Record<string, unknown> };
}
async function get(url: string): Promise<Record<string, unknown>> {
  return (await (await fetch(url)).json()) as Record<string, unknown>;
}
const events = (n: number, from = 0) => Array.from({ length: n }, (_, i) => sealEvent(v11Event(from + i)));

describe('sidecar server with the anchoring service', () => {
  let tsa: TestTsa;
  let sidecar: Sidecar;
  let folder: ReturnType<typeof tempDir>;
  const lines: string[] = [];

  beforeAll(async () => {
    tsa = await startTestTsa();
    folder = tempDir('vcp-anchor-server-');
    sidecar = await startSidecar({
      config: testConfig(folder.dir),
      anchoring: createAnchoringFactory({
        targets: [`tsa:${tsa.url}`, 'file'],
        tsaCaCertPem: tsa.caCertPem,
        retry: { initialMs: 20, maxMs: 100, factor: 2, jitter: 0 },
      }),
      log: (line) => lines.push(line),
    });
  });
  afterAll(async () => {
    await sidecar?.close();
    await tsa?.close();
    folder?.cleanup();
  });

  it('POST /vcp/anchor returns a record anchored to the TSA and the file; the token verifies', async () => {
    expect((await post(`${sidecar.url}/vcp/log`, events(5))).status).toBe(201);
    const { status, json } = await post(`${sidecar.url}/vcp/anchor`);
    expect(status).toBe(201);
    const record = json as unknown as AnchorRecord;
    expect(record).toMatchObject({
      tree_size: 5,
      event_count: 5,
      anchor_target: { type: 'TSA', identifier: tsa.url },
    });
    expect(record.anchor_targets!.map((t) => t.type)).toEqual(['TSA', 'LOCAL_FILE']);
    const v = await verifyTimestampToken(record.anchor_target.proof, record.merkle_root, {
      caCertPem: tsa.caCertPem,
    });
    expect(v).toMatchObject({ ok: true, trusted: true });
    expect((await post(`${sidecar.url}/vcp/anchor`)).json).toMatchObject({
      unchanged: true,
      anchor_id: record.anchor_id,
    });
    const anchors = (await get(`${sidecar.url}/vcp/anchors`)).anchors as AnchorRecord[];
    expect(anchors.at(-1)!.anchor_targets).toHaveLength(2);
    expect(lines.join('\n')).toMatch(/LOCAL_FILE .* is NOT an external anchor/);
  });

  it('TSA down: the record is still made and stored, /health shows the queued retry, then the token arrives', async () => {
    tsa.failNext(2);
    await post(`${sidecar.url}/vcp/log`, events(3, 100));
    const { status, json } = await post(`${sidecar.url}/vcp/anchor`);
    expect(status).toBe(201);
    expect(json).toMatchObject({ tree_size: 8, anchor_target: { type: 'LOCAL_FILE' } });
    const health = await get(`${sidecar.url}/health`);
    expect(health).toMatchObject({ anchoring: { service: 'anchor-service' } });
    const deadline = Date.now() + 15_000;
    let last: AnchorRecord | undefined;
    while (Date.now() < deadline) {
      last = ((await get(`${sidecar.url}/vcp/anchors`)).anchors as AnchorRecord[]).at(-1);
      if (last?.anchor_target.type === 'TSA') break;
      await new Promise((r) => setTimeout(r, 20));
    }
    expect(last).toMatchObject({ anchor_id: json.anchor_id, anchor_target: { type: 'TSA' } });
    expect((await get(`${sidecar.url}/health`)).anchoring).toMatchObject({ pending_targets: [] });
    expect(lines.join('\n')).toMatch(/TSA .* failed .*HTTP 503/);
  });
});

const url = postgresUrl();
if (!url)
  console.warn(
    skipReason('sidecar on PostgreSQL', 'VCP_TEST_PG_URL', 'e.g. postgres://postgres@127.0.0.1:5432/test'),
  );

describe.skipIf(!url)('sidecar server on the PostgreSQL store with the DATABASE target', () => {
  const schema = `vcp_srv_${process.pid}_${randomBytes(4).toString('hex')}`;
  let admin: pg.Pool;
  beforeAll(() => {
    admin = new pg.Pool({ connectionString: url, max: 2 });
  });
  afterAll(async () => {
    await admin.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
    await admin.end();
  });

  it('ingests, anchors into the hash-chained table, and comes back after a restart with the same log', async () => {
    const folder = tempDir('vcp-anchor-pg-');
    const start = () =>
      startSidecar({
        config: testConfig(folder.dir),
        store: createPostgresStore({ connectionString: url!, schema }),
        anchoring: createAnchoringFactory({ targets: [url!], postgresSchema: schema }),
        log: () => {},
      });
    try {
      let sidecar = await start();
      const batch = events(20, 500);
      expect((await post(`${sidecar.url}/vcp/log`, batch)).status).toBe(201);
      const first = (await post(`${sidecar.url}/vcp/anchor`)).json as unknown as AnchorRecord;
      expect(first).toMatchObject({
        tree_size: 20,
        anchor_target: { type: 'DATABASE', identifier: `postgres:${schema}.vcp_anchor_records` },
      });
      await sidecar.close();

      sidecar = await start();
      try {
        // Same event twice across a restart: stored once.
        const again = await post(`${sidecar.url}/vcp/log`, batch[3]);
        expect(again.json).toMatchObject({ duplicate: true, merkle_index: 3 });
        expect((await post(`${sidecar.url}/vcp/log`, events(2, 900))).status).toBe(201);
        const second = (await post(`${sidecar.url}/vcp/anchor`)).json as unknown as AnchorRecord;
        expect(second).toMatchObject({ tree_size: 22, event_count: 2, prev_anchor_id: first.anchor_id });
      } finally {
        await sidecar.close();
      }
      const { rows } = await admin.query(
        `SELECT seq::int, tree_size::int FROM "${schema}".vcp_anchor_records ORDER BY seq`,
      );
      expect(rows).toEqual([
        { seq: 1, tree_size: 20 },
        { seq: 2, tree_size: 22 },
      ]);
    } finally {
      folder.cleanup();
    }
  });
});
