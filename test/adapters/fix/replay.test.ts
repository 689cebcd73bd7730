import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { replayFixLog } from '../../../src/adapters/fix/replay.ts';
import type { CliIo } from '../../../src/cli/io.ts';
import { main } from '../../../src/cli/main.ts';
import { createPolicy } from '../../../src/core/policy.ts';
import type { VcpEvent } from '../../../src/core/types.ts';
import { metaHash, verifyCheckpoint } from '../../../src/integrity/checkpoint/index.ts';
import { exportPrivateKey, generateKeyPair, keyId, loadPublicKey } from '../../../src/integrity/keys.ts';
import { MerkleTree } from '../../../src/integrity/merkle/index.ts';
import { resolveSidecarConfig } from '../../../src/sidecar/config.ts';
import { startSidecar } from '../../../src/sidecar/server.ts';
import { buildFix } from './fix-builder.ts';

const FIXTURES = join(import.meta.dirname, 'fixtures');
const dir = mkdtempSync(join(tmpdir(), 'vcp-fix-replay-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Run the CLI in-process with captured output. */
async function vcp(args: string[], env: NodeJS.ProcessEnv = {}) {
  let out = '';
  let err = '';
  const io: CliIo = { out: (t) => (out += t), err: (t) => (err += t), errIsTty: false, env, cwd: dir };
  const code = await main(args, io);
  return { code, out, err };
}

const lines = (file: string) => readFileSync(file, 'utf8').split('\n').filter(Boolean);

describe('vcp fix-replay --out → vcp verify', () => {
  it('every fixture log replays into an export that verifies fully (signatures, chain, Merkle, anchor, checkpoint)', async () => {
    for (const log of ['quickfixj-fix44.log', 'quickfix-fix42.log', 'fixt11-fix50sp2.log']) {
      const out = join(dir, `${log}.jsonl`);
      const r = await vcp(['fix-replay', join(FIXTURES, log), '--out', out]);
      expect(r.code, r.err).toBe(0);
      expect(r.out).toMatch(/check it: vcp verify .* --pubkey .*\.pub/);
      // The anchor is in the file itself (local): accepted for this check only.
      const v = await vcp([
        'verify',
        out,
        '--pubkey',
        `${out}.pub`,
        '--strict',
        '--insecure-allow-local-anchors',
      ]);
      expect(v.code, v.out).toBe(0);
      expect(v.out).toMatch(/PROVEN: .*: \d+ events, complete up to tree size \d+/);
    }
  });

  it('writes format v2: META first, events, the anchor with its checkpoint, a closing checkpoint last', async () => {
    const out = join(dir, 'v2.jsonl');
    expect((await vcp(['fix-replay', join(FIXTURES, 'quickfixj-fix44.log'), '--out', out])).code).toBe(0);
    const all = lines(out).map((l) => JSON.parse(l));
    const key = loadPublicKey(readFileSync(`${out}.pub`, 'utf8'));
    const meta = all[0].vcp_export;
    expect(meta).toEqual({
      format: 'vcp-export',
      version: 2,
      origin: expect.stringMatching(/^vcp-instrument\/fix-replay\/[0-9a-f]{16}\/[0-9a-f-]{36}$/),
      producer: 'vcp fix-replay',
      created_at: expect.any(String),
      merkle_mode: 'rfc6962',
      policy_id: 'local:vcp-fix-replay:default',
      signing_key_id: keyId(key),
      signing_public_key: expect.stringMatching(/^[0-9a-f]{64}$/),
      from: 0,
    });
    expect(meta.origin).toContain(`/${keyId(key).slice(0, 16)}/`);
    const events = all.filter((l) => l.header);
    expect(events).toHaveLength(14);
    const tree = new MerkleTree();
    for (const e of events) tree.append(e.security.event_hash);
    const last = all.at(-1);
    expect(Object.keys(last)).toEqual(['vcp_checkpoint']);
    const v = verifyCheckpoint(last.vcp_checkpoint.note, [key]);
    expect(v.ok && v.checkpoint).toMatchObject({
      origin: meta.origin,
      treeSize: 14,
      rootHex: tree.root(),
      metaHash: metaHash(meta),
    });
    const anchor = all.at(-2).anchor_record;
    expect(anchor).toMatchObject({ tree_size: 14, merkle_root: tree.root() });
    expect(anchor.checkpoint).toBe(last.vcp_checkpoint.note);
    // Another key does not sign it; a file cut before its last line has no closing checkpoint.
    expect(verifyCheckpoint(last.vcp_checkpoint.note, [generateKeyPair().publicKey]).ok).toBe(false);
    const cut = join(dir, 'v2-cut.jsonl');
    writeFileSync(cut, `${lines(out).slice(0, -1).join('\n')}\n`);
    expect(lines(cut).some((l) => l.includes('"vcp_checkpoint"'))).toBe(false);
  });

  it('the 4.4 log gives the expected lifecycle, traces and errors', async () => {
    const out = join(dir, 'life.jsonl');
    const r = await vcp(['fix-replay', join(FIXTURES, 'quickfixj-fix44.log'), '--out', out, '--json']);
    const summary = JSON.parse(r.out);
    expect(summary).toMatchObject({
      lines: 20,
      messages: 20,
      parse_errors: 0,
      events: 14,
      sequence_gaps: 1,
      duplicate_resends: 1,
      orders: 3,
    });
    const events = lines(out)
      .map((l) => JSON.parse(l))
      .filter((x) => x.header) as VcpEvent[];
    expect(events.map((e) => e.header.event_type)).toEqual([
      'ORD',
      'ACK',
      'PRT',
      'MOD',
      'MOD',
      'EXE', // ORD-1001 replaced by ORD-1002, filled
      'ORD',
      'ACK',
      'CXL',
      'ERR_SYNC',
      'ERR_REJECT',
      'EXE', // ORD-1003: cancel too late; gap 7, resent
      'ORD',
      'REJ', // ORD-1005: unknown symbol
    ]);
    const traces = events.map((e) => e.header.trace_id);
    expect(new Set(traces.slice(0, 6)).size).toBe(1);
    expect(new Set([...traces.slice(6, 9), ...traces.slice(10, 12)]).size).toBe(1);
    expect(events[9]!.payload.error_details).toMatchObject({ missing_from: '7', missing_to: '7' });
    expect(events[10]!.payload.error_details?.correlated_event_id).toBe(events[8]!.header.event_id);
    // Times are the engine's log timestamps, at the precision written (ms).
    expect(events[0]!.header).toMatchObject({
      timestamp_iso: '2024-03-15T13:30:00.123Z',
      timestamp_precision: 'MILLISECOND',
    });
    expect(events[0]!.payload.fix).toMatchObject({ log: { source: 'quickfixj-fix44.log', line: 3 } });
    expect(events.every((e, i) => e.security.merkle_index === i)).toBe(true);
  });

  it('--keep-raw keeps each message; --comp-id tells directions; --heartbeats records HBT', async () => {
    const out = join(dir, 'raw.jsonl');
    const r = await vcp([
      'fix-replay',
      join(FIXTURES, 'quickfixj-fix44.log'),
      '--out',
      out,
      '--keep-raw',
      '--comp-id',
      'CLIENT12',
      '--heartbeats',
    ]);
    expect(r.code, r.err).toBe(0);
    const events = lines(out)
      .filter((l) => l.startsWith('{"header"'))
      .map((l) => JSON.parse(l) as VcpEvent);
    const ord = events[0]!.payload.fix as { raw: string; direction: string };
    expect(ord.raw).toMatch(/^8=FIX\.4\.4\|9=161\|35=D\|.*\|10=249\|$/);
    expect(ord.direction).toBe('out');
    expect((events[1]!.payload.fix as { direction: string }).direction).toBe('in');
    expect(events.filter((e) => e.header.event_type === 'HBT')).toHaveLength(1);
    expect(
      (await vcp(['verify', out, '--pubkey', `${out}.pub`, '--strict', '--insecure-allow-local-anchors']))
        .code,
    ).toBe(0);
  });

  it('tampering with one line makes verify fail and say where and why', async () => {
    const out = join(dir, 'tamper.jsonl');
    expect((await vcp(['fix-replay', join(FIXTURES, 'quickfixj-fix44.log'), '--out', out])).code).toBe(0);
    const text = readFileSync(out, 'utf8').split('\n');
    const at = text.findIndex((l) => l.includes('"price":"187.25"'));
    text[at] = text[at]!.replace('"price":"187.25"', '"price":"18.725"');
    writeFileSync(out, text.join('\n'));
    const v = await vcp(['verify', out, '--pubkey', `${out}.pub`]);
    expect(v.code).toBe(1);
    expect(v.out).toMatch(new RegExp(`✗ line ${at + 1} \\S+ \\[hash-mismatch\\]`));
    expect(v.out).toContain('INVALID');

    // Removing an event is caught too (chain gap, anchor coverage).
    const fresh = join(dir, 'drop.jsonl');
    await vcp(['fix-replay', join(FIXTURES, 'quickfixj-fix44.log'), '--out', fresh]);
    const kept = readFileSync(fresh, 'utf8').split('\n');
    kept.splice(5, 1);
    writeFileSync(fresh, kept.join('\n'));
    const v2 = await vcp(['verify', fresh, '--pubkey', `${fresh}.pub`]);
    expect(v2.code).toBe(1);
    expect(v2.out).toMatch(/gap/);
  });

  it('same log, same key → the same events byte for byte (ids, traces, hashes, signatures)', async () => {
    const keyFile = join(dir, 'replay.key');
    writeFileSync(keyFile, exportPrivateKey(generateKeyPair().privateKey, 'pem'));
    const a = join(dir, 'det-a.jsonl');
    const b = join(dir, 'det-b.jsonl');
    await vcp(['fix-replay', join(FIXTURES, 'quickfixj-fix44.log'), '--out', a, '--key', keyFile]);
    // The key may come from the environment too.
    await vcp(['fix-replay', join(FIXTURES, 'quickfixj-fix44.log'), '--out', b], {
      VCP_SIGNING_KEY_FILE: keyFile,
    });
    const events = (f: string) => lines(f).filter((l) => l.startsWith('{"header"'));
    expect(events(b)).toEqual(events(a));
    expect(events(a)).toHaveLength(14);
    expect(readFileSync(`${a}.pub`, 'utf8')).toBe(readFileSync(`${b}.pub`, 'utf8'));
  });

  it('--sign anchor: unsigned events, signed anchor, still verifies; --no-anchor: no anchor line', async () => {
    const out = join(dir, 'anchor-only.jsonl');
    expect(
      (await vcp(['fix-replay', join(FIXTURES, 'quickfix-fix42.log'), '--out', out, '--sign', 'anchor']))
        .code,
    ).toBe(0);
    const evs = lines(out).filter((l) => l.startsWith('{"header"'));
    expect(evs.every((l) => !l.includes('"signature"'))).toBe(true);
    const v = await vcp(['verify', out, '--pubkey', `${out}.pub`, '--insecure-allow-local-anchors']);
    expect(v.code, v.out).toBe(0);
    const bare = join(dir, 'no-anchor.jsonl');
    expect(
      (await vcp(['fix-replay', join(FIXTURES, 'quickfix-fix42.log'), '--out', bare, '--no-anchor'])).code,
    ).toBe(0);
    expect(lines(bare).some((l) => l.includes('anchor_record'))).toBe(false);
    // The closing checkpoint still binds every event.
    expect(lines(bare).at(-1)).toMatch(/^\{"vcp_checkpoint":\{"note":/);
    const vb = await vcp(['verify', bare, '--pubkey', `${bare}.pub`, '--insecure-allow-local-anchors']);
    expect(vb.code, vb.out).toBe(0);
  });

  it('a hostile log replays to the end: every bad line an ERR_PARSE event, the good ones mapped, the export valid', async () => {
    const good = (seq: number, id: string) =>
      buildFix('FIX.4.4', [
        [35, 'D'],
        [34, seq],
        [49, 'C'],
        [52, '20240101-10:00:00.000'],
        [56, 'B'],
        [11, id],
        [38, 1],
        [54, 1],
        [55, 'X'],
      ]);
    const log = join(dir, 'hostile.log');
    const body = [
      `20240101-10:00:00.000: ${good(1, 'a')}`,
      `20240101-10:00:00.001: ${good(2, 'b').slice(0, 30)}`, // truncated
      `20240101-10:00:00.002: ${good(3, 'c').replace(/10=\d{3}/, '10=999')}`, // bad checksum
      Buffer.from([0xde, 0xad, 0xbe, 0xef, 0x00, 0x01, 0x7f]).toString('latin1'), // binary garbage
      '',
      `20240101-10:00:00.003: 8=FIX.4.4\x019=9\x0135=D\x0158=${'q'.repeat(10 * 1024 * 1024)}\x0110=000\x01`, // 10 MB
      `20240101-10:00:00.004: ${good(4, 'd').replace('\x0149=', '|49=')}`, // mixed delimiters
      `20240101-10:00:00.005: ${good(5, 'e').replace('\x0155=X', '\x0155=X\x0155=Y')}`, // duplicate tag
      `20240101-10:00:00.006: ${good(6, 'f').replace('\x0155=', '\x01ab=')}`, // non-numeric tag
      `20240101-10:00:00.007: ${good(7, 'g')}`,
    ].join('\n');
    writeFileSync(log, `${body}\n`, 'latin1');
    const out = join(dir, 'hostile.jsonl');
    const r = await vcp(['fix-replay', log, '--out', out, '--json']);
    expect(r.code, r.err).toBe(0);
    const s = JSON.parse(r.out);
    expect(s).toMatchObject({ lines: 10, parse_errors: 7, messages: 2 });
    const events = lines(out)
      .filter((l) => l.startsWith('{"header"'))
      .map((l) => JSON.parse(l) as VcpEvent);
    const codes = events.map((e) => e.payload.error_details?.error_code ?? e.header.event_type);
    expect(codes).toEqual([
      'ORD',
      'FIX_TRUNCATED',
      'FIX_CHECKSUM',
      'FIX_NOT_FIX',
      'FIX_TOO_LARGE',
      'FIX_MIXED_DELIMITERS',
      'FIX_DUPLICATE_TAG',
      'FIX_BAD_TAG',
      'FIX_SEQUENCE_GAP', // 2..6 never arrived as readable messages
      'ORD',
    ]);
    const tooLarge = events[4]!;
    expect((tooLarge.payload.fix as { raw: string }).raw.length).toBeLessThanOrEqual(513);
    // An over-long line is not split (it is not held in memory): raw and raw_length are the whole line's.
    const hugeLine = body.split('\n')[5]!;
    expect(tooLarge.payload.fix).toMatchObject({ raw_length: hugeLine.length });
    expect(
      (tooLarge.payload.fix as { raw: string }).raw.startsWith(
        '20240101-10:00:00.003: 8=FIX.4.4|9=9|35=D|58=qqq',
      ),
    ).toBe(true);
    // The garbage line has no timestamp: it carries the previous line's.
    expect(events[3]!.header.timestamp_iso).toBe('2024-01-01T10:00:00.002Z');
    expect(
      (await vcp(['verify', out, '--pubkey', `${out}.pub`, '--strict', '--insecure-allow-local-anchors']))
        .code,
    ).toBe(0);

    const skipped = JSON.parse(
      (await vcp(['fix-replay', log, '--out', join(dir, 'skip.jsonl'), '--skip-non-fix', '--json'])).out,
    );
    expect(skipped).toMatchObject({ parse_errors: 6 });
  });

  it('usage errors: exit 2 with a reason; an existing output is not overwritten without --force', async () => {
    const log = join(FIXTURES, 'quickfix-fix42.log');
    expect((await vcp(['fix-replay', log])).err).toMatch(/exactly one of --out <file> or --sidecar <url>/);
    expect((await vcp(['fix-replay', join(dir, 'nope.log'), '--out', join(dir, 'x.jsonl')])).err).toMatch(
      /cannot read .*ENOENT/,
    );
    expect((await vcp(['fix-replay', log, '--out', join(dir, 'y.jsonl'), '--tier', 'BRONZE'])).code).toBe(2);
    expect((await vcp(['fix-replay', log, '--sidecar', 'http://127.0.0.1:1', '--sign', 'anchor'])).code).toBe(
      2,
    );
    const out = join(dir, 'exists.jsonl');
    writeFileSync(out, 'precious\n');
    const r = await vcp(['fix-replay', log, '--out', out]);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/already exists; .*--force/);
    expect(readFileSync(out, 'utf8')).toBe('precious\n');
    expect((await vcp(['fix-replay', log, '--out', out, '--force'])).code).toBe(0);
    expect((await vcp(['fix-replay', '--help'])).out).toMatch(/usage: vcp fix-replay/);
  });
});

describe('vcp fix-replay --sidecar', () => {
  it('sends the events to a real sidecar; a second replay is stored once (deterministic ids)', async () => {
    const data = join(dir, 'sidecar-data');
    const sidecar = await startSidecar({
      config: resolveSidecarConfig({ port: '0', 'data-dir': data }, {}, dir),
      log: () => {},
    });
    try {
      const log = join(FIXTURES, 'quickfixj-fix44.log');
      const keyFile = join(dir, 'sc.key');
      writeFileSync(keyFile, exportPrivateKey(generateKeyPair().privateKey, 'pem'));
      const first = await vcp(['fix-replay', log, '--sidecar', sidecar.url, '--key', keyFile, '--json']);
      expect(first.code, first.err).toBe(0);
      expect(JSON.parse(first.out)).toMatchObject({ events: 14, acknowledged: 14, duplicates: 0 });
      const again = await vcp(['fix-replay', log, '--sidecar', sidecar.url, '--key', keyFile, '--json']);
      expect(JSON.parse(again.out)).toMatchObject({ acknowledged: 14, duplicates: 14 });
      const health = (await (await fetch(`${sidecar.url}/health`)).json()) as { tree_size: number };
      expect(health.tree_size).toBe(14);
    } finally {
      await sidecar.close();
    }
  });

  it('an unreachable sidecar is a clear failure (exit 1), not a hang', async () => {
    const r = await vcp([
      'fix-replay',
      join(FIXTURES, 'fixt11-fix50sp2.log'),
      '--sidecar',
      'http://127.0.0.1:9',
    ]);
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/sending to http:\/\/127\.0\.0\.1:9 failed/);
  }, 60_000);
});

describe('replayFixLog (library)', () => {
  it('streams sealed, chained events in batches and reports every line', async () => {
    const batches: number[] = [];
    const stats = await replayFixLog(join(FIXTURES, 'quickfixj-fix44.log'), {
      policy: createPolicy({ policyId: 'local:test:replay' }),
      batchSize: 4,
      adapter: { heartbeats: true },
      write: (events) => {
        batches.push(events.length);
      },
    });
    expect(batches).toEqual([4, 4, 4, 3]);
    expect(stats).toMatchObject({ lines: 20, events: 15, adapter: { events: { HBT: 1 } } });
  });
});
