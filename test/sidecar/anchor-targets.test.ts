/**
 * The three anchor targets, each against the real thing: the local file on
 * disk, the TSA on loopback, and the hash-chained table in PostgreSQL
 * (VCP_TEST_PG_URL; skipped with a message when unset).
 */
import { createHash, randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createFixedClock } from '../../src/core/clock.ts';
import { VcpConfigError } from '../../src/core/errors.ts';
import type { AnchorRecord } from '../../src/core/types.ts';
import { anchorRecordHash, createAnchorRecord } from '../../src/integrity/anchor-record.ts';
import { generateSigningKey } from '../../src/integrity/sign.ts';
import { createLocalFileTarget, LOCAL_ANCHOR_FILE } from '../../src/sidecar/anchor/file-target.ts';
import { createAnchorTargets } from '../../src/sidecar/anchor/index.ts';
import {
  createPostgresAnchorTarget,
  GENESIS_ROW_HASH,
  rowHash,
} from '../../src/sidecar/anchor/postgres-target.ts';
import { createTsaTarget } from '../../src/sidecar/anchor/tsa-target.ts';
import { startTestTsa, type TestTsa } from '../fixtures/tsa.ts';
import { postgresUrl, skipReason } from '../helpers/env.ts';

const signer = generateSigningKey();
let seq = 0;
/** A real signed record over a made-up root. */
function record(treeSize = 10, prev?: AnchorRecord): AnchorRecord {
  const n = ++seq;
  return createAnchorRecord(
    {
      merkle_root: createHash('sha256').update(`root ${n}`).digest('hex'),
      tree_size: treeSize,
      merkle_mode: 'rfc6962',
      event_count: treeSize - (prev?.tree_size ?? 0),
      first_event_id: `first-${n}`,
      last_event_id: `last-${n}`,
      first_index: prev?.tree_size ?? 0,
      policy_id: 'com.example.tests:anchors',
      ...(prev ? { prev_anchor_id: prev.anchor_id } : {}),
    },
    { signer, clock: createFixedClock(new Date()) },
  );
}

describe('local file target', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'vcp-anchor-file-'));
  });
  afterEach(() => rm(dir, { recursive: true, force: true }));

  it('appends one JSON line per record and says it is not external', async () => {
    const t = createLocalFileTarget({ dataDir: dir });
    expect(t).toMatchObject({
      type: 'LOCAL_FILE',
      external: false,
      identifier: path.join(dir, LOCAL_ANCHOR_FILE),
    });
    const a = record();
    const b = record(20, a);
    const pa = await t.anchor(a);
    const pb = await t.anchor(b);
    expect(pa.proof).toBe(`not-external:local-file:line=1:sha256=${anchorRecordHash(a)}`);
    expect(pb.proof).toMatch(/^not-external:local-file:line=2:/);
    const lines = (await readFile(t.identifier, 'utf8')).trimEnd().split('\n');
    expect(lines.map((l) => JSON.parse(l).record.anchor_id)).toEqual([a.anchor_id, b.anchor_id]);
    expect(JSON.parse(lines[0]!).external).toBe(false);
    expect(await t.verify!(a, pa)).toMatchObject({
      ok: true,
      reason: expect.stringMatching(/not an external anchor/),
    });
    expect((await t.verify!(a, pb)).ok).toBe(false);
    expect((await t.verify!({ ...a, merkle_root: '0'.repeat(64) }, pa)).ok).toBe(false);
  });

  it('is idempotent per anchor_id, and keeps counting lines after a restart and a torn tail', async () => {
    const a = record();
    const b = record(20, a);
    const first = createLocalFileTarget({ dataDir: dir });
    const pa = await first.anchor(a);
    expect(await first.anchor(a)).toEqual(pa);
    // A crash mid-write leaves half a line.
    await writeFile(first.identifier, '{"record_hash":"ab', { flag: 'a' });
    const second = createLocalFileTarget({ dataDir: dir });
    expect(await second.anchor(a)).toEqual(pa);
    const pb = await second.anchor(b);
    expect(pb.proof).toMatch(/line=2:/);
    expect((await second.verify!(b, pb)).ok).toBe(true);
    await expect(second.anchor({ ...a, tree_size: 99 })).rejects.toThrow(/different record/);
  });

  it('detects an edited line', async () => {
    const t = createLocalFileTarget({ dataDir: dir });
    const a = record();
    const pa = await t.anchor(a);
    const text = await readFile(t.identifier, 'utf8');
    await writeFile(t.identifier, text.replace(/"tree_size":10/, '"tree_size":11'));
    expect(await t.verify!(a, pa)).toMatchObject({
      ok: false,
      reason: expect.stringMatching(/does not hold this record/),
    });
    expect((await t.verify!(a, { ...pa, proof: 'garbage' })).ok).toBe(false);
  });
});

describe('TSA target', () => {
  let tsa: TestTsa;
  beforeAll(async () => {
    tsa = await startTestTsa({ keyType: 'ec' });
  });
  afterAll(() => tsa?.close());

  it('anchors a record: the proof is a base64 token over its root, checkable offline', async () => {
    const t = createTsaTarget({ url: tsa.url, caCertPem: tsa.caCertPem });
    expect(t).toMatchObject({ type: 'TSA', identifier: tsa.url, external: true });
    const r = record();
    const proof = await t.anchor(r);
    expect(proof).toMatchObject({ type: 'TSA', identifier: tsa.url });
    expect(Buffer.from(proof.proof, 'base64').toString('base64')).toBe(proof.proof);
    expect(await t.verify!(r, proof)).toEqual({ ok: true });
    const other = record();
    expect(await t.verify!(other, proof)).toMatchObject({
      ok: false,
      reason: expect.stringMatching(/not the root/),
    });
    const flipped = Buffer.from(proof.proof, 'base64');
    flipped[flipped.length - 5]! ^= 0xff;
    expect((await t.verify!(r, { ...proof, proof: flipped.toString('base64') })).ok).toBe(false);
  });

  it('a token older than the record (beyond the allowed skew) does not verify', async () => {
    const t = createTsaTarget({ url: tsa.url, tsaCertPem: tsa.tsaCertPem, maxSkewMs: 1000 });
    const r = record();
    const proof = await t.anchor(r);
    const later = { ...r, timestamp: String(BigInt(r.timestamp) + 3_600_000_000_000n) };
    expect(await t.verify!(later, proof)).toMatchObject({
      ok: false,
      reason: expect.stringMatching(/before the record/),
    });
  });

  it('without a trust anchor: anchors, and verify says the certificate was not checked', async () => {
    const t = createTsaTarget({ url: tsa.url });
    const r = record();
    const proof = await t.anchor(r);
    expect(await t.verify!(r, proof)).toMatchObject({
      ok: true,
      reason: expect.stringMatching(/not checked/),
    });
  });

  it('refuses bad URLs at configuration time', () => {
    expect(() => createTsaTarget({ url: 'not a url' })).toThrow(VcpConfigError);
    expect(() => createTsaTarget({ url: 'ftp://tsa.example' })).toThrow(/http/);
    expect(() => createTsaTarget({ url: 'https://user:secret@tsa.example/' })).toThrow(/credentials/);
  });
});

describe('createAnchorTargets', () => {
  it('defaults to the local file, and maps specs to targets', () => {
    expect(createAnchorTargets({ dataDir: '/tmp/x' }).map((t) => [t.type, t.external])).toEqual([
      ['LOCAL_FILE', false],
    ]);
    const ts = createAnchorTargets({
      dataDir: '/tmp/x',
      targets: ['tsa:https://freetsa.org/tsr', 'postgres://u@h/db', 'file'],
    });
    expect(ts.map((t) => [t.type, t.identifier])).toEqual([
      ['TSA', 'https://freetsa.org/tsr'],
      ['DATABASE', 'postgres:public.vcp_anchor_records'],
      ['LOCAL_FILE', '/tmp/x/anchors-local.jsonl'],
    ]);
    expect(() => createAnchorTargets({ dataDir: '/x', targets: ['mysql://u:pw@h/db'] })).toThrow(
      /unknown anchor target/,
    );
    expect(() => createAnchorTargets({ dataDir: '/x', targets: ['mysql://u:pw@h/db'] })).not.toThrow(/pw/);
  });
});

const url = postgresUrl();
if (!url)
  console.warn(
    skipReason('PostgreSQL anchor target', 'VCP_TEST_PG_URL', 'e.g. postgres://postgres@127.0.0.1:5432/test'),
  );

describe.skipIf(!url)('PostgreSQL (DATABASE) target', () => {
  const schema = `vcp_anchor_${process.pid}_${randomBytes(4).toString('hex')}`;
  let admin: pg.Pool;
  const made: { close(): Promise<void> }[] = [];
  const target = (table = 'vcp_anchor_records') => {
    const t = createPostgresAnchorTarget({ connectionString: url!, schema, table });
    made.push(t);
    return t;
  };

  beforeAll(() => {
    admin = new pg.Pool({ connectionString: url, max: 2 });
  });
  afterAll(async () => {
    for (const t of made) await t.close();
    await admin.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
    await admin.end();
  });

  it('creates the table and chains rows by hash; the proof is the row hash', async () => {
    const t = target('chain');
    expect(t).toMatchObject({ type: 'DATABASE', external: true, identifier: `postgres:${schema}.chain` });
    const a = record();
    const b = record(20, a);
    const pa = await t.anchor(a);
    const pb = await t.anchor(b);
    expect(pa.proof).toBe(rowHash(GENESIS_ROW_HASH, anchorRecordHash(a)));
    expect(pb.proof).toBe(rowHash(pa.proof, anchorRecordHash(b)));
    const { rows } = await admin.query(
      `SELECT seq::int, anchor_id, prev_row_hash, row_hash FROM "${schema}".chain ORDER BY seq`,
    );
    expect(rows).toEqual([
      { seq: 1, anchor_id: a.anchor_id, prev_row_hash: GENESIS_ROW_HASH, row_hash: pa.proof },
      { seq: 2, anchor_id: b.anchor_id, prev_row_hash: pa.proof, row_hash: pb.proof },
    ]);
    expect(await t.verify!(b, pb)).toEqual({ ok: true });
    expect(await t.verifyChain()).toEqual({ ok: true, rows: 2 });
    // Same record again (a retry after a lost acknowledgement): same proof, no new row.
    expect(await t.anchor(a)).toEqual(pa);
    await expect(t.anchor({ ...a, tree_size: 11 })).rejects.toThrow(/different record/);
  });

  it('the documented SQL re-check agrees', async () => {
    const t = target('sqlcheck');
    let prev: AnchorRecord | undefined;
    for (let i = 1; i <= 4; i++) {
      prev = record(i * 5, prev);
      await t.anchor(prev);
    }
    const { rows } = await admin.query(`
      SELECT seq, row_hash = encode(sha256(decode(prev_row_hash,'hex') || decode(record_hash,'hex')),'hex')
             AND prev_row_hash = coalesce(lag(row_hash) OVER (ORDER BY seq), repeat('0',64)) AS ok
      FROM "${schema}".sqlcheck ORDER BY seq`);
    expect(rows.map((r) => r.ok)).toEqual([true, true, true, true]);
  });

  it('refuses UPDATE, DELETE and TRUNCATE (append-only trigger)', async () => {
    const t = target('locked');
    await t.anchor(record());
    await expect(admin.query(`UPDATE "${schema}".locked SET tree_size = 1`)).rejects.toThrow(/append-only/);
    await expect(admin.query(`DELETE FROM "${schema}".locked`)).rejects.toThrow(/append-only/);
    await expect(admin.query(`TRUNCATE "${schema}".locked`)).rejects.toThrow(/append-only/);
  });

  it('detects a rewritten record or a removed row (once the trigger is dropped by someone who can)', async () => {
    const t = target('tamper');
    const a = record();
    const b = record(20, a);
    const c = record(30, b);
    const [, pb] = [await t.anchor(a), await t.anchor(b), await t.anchor(c)];
    await admin.query(`ALTER TABLE "${schema}".tamper DISABLE TRIGGER USER`);
    await admin.query(
      `UPDATE "${schema}".tamper SET record = jsonb_set(record, '{tree_size}', '21') WHERE seq = 2`,
    );
    expect(await t.verifyChain()).toMatchObject({
      ok: false,
      reason: expect.stringMatching(/row 2 .*record altered/),
    });
    expect(await t.verify!(b, pb!)).toMatchObject({ ok: false });
    await admin.query(
      `UPDATE "${schema}".tamper SET record = jsonb_set(record, '{tree_size}', '20') WHERE seq = 2`,
    );
    expect((await t.verifyChain()).ok).toBe(true);
    await admin.query(`DELETE FROM "${schema}".tamper WHERE seq = 2`);
    expect(await t.verifyChain()).toMatchObject({ ok: false, reason: expect.stringMatching(/missing/) });
  });

  it('two sidecars anchoring at once still build one chain', async () => {
    const t1 = target('shared');
    const t2 = target('shared');
    const records = Array.from({ length: 30 }, () => record());
    await Promise.all(records.map((r, i) => (i % 2 ? t1 : t2).anchor(r)));
    expect(await t1.verifyChain()).toEqual({ ok: true, rows: 30 });
    const { rows } = await admin.query(
      `SELECT count(DISTINCT prev_row_hash)::int AS n FROM "${schema}".shared`,
    );
    expect(rows[0].n).toBe(30);
  });

  it('database down: anchor rejects with VcpIoError (to be retried), verify says why', async () => {
    const t = createPostgresAnchorTarget({
      connectionString: 'postgres://postgres@127.0.0.1:1/none',
      schema,
    });
    const r = record();
    await expect(t.anchor(r)).rejects.toThrow(/unavailable/);
    expect(await t.verify!(r, { type: 'DATABASE', identifier: t.identifier, proof: 'x' })).toMatchObject({
      ok: false,
    });
    await t.close();
    expect(() => createPostgresAnchorTarget({ connectionString: url!, table: 'x; DROP' })).toThrow(
      VcpConfigError,
    );
  });
});
