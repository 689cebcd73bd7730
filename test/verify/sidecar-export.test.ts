/**
 * The contract over a real sidecar's export: a sidecar anchoring to a real
 * RFC 3161 TSA (openssl ts, test/fixtures/tsa.ts), events after the last
 * anchor, `GET /vcp/export` → `vcp verify` with the sidecar's key and the
 * TSA's CA: PROVEN, externally time-stamped up to the anchor. Then the
 * auditor's edits to that real file, and freshness with `--sidecar`.
 */
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { VcpEvent } from '../../src/core/types.ts';
import { computeEventHash } from '../../src/integrity/event-hash.ts';
import { sealEvent } from '../../src/integrity/seal.ts';
import { createAnchoringFactory } from '../../src/sidecar/anchor/server-adapter.ts';
import { type Sidecar, startSidecar } from '../../src/sidecar/server.ts';
import { startTestTsa, type TestTsa } from '../fixtures/tsa.ts';
import { runVcp } from '../helpers/cli.ts';
import { post, tempDir, testConfig, v11Event } from '../sidecar/helpers.ts';

let tsa: TestTsa;
let sidecar: Sidecar;
let folder: ReturnType<typeof tempDir>;
let exported: string[];
const events = (n: number, from: number) =>
  Array.from({ length: n }, (_, i) => sealEvent(v11Event(from + i)));

beforeAll(async () => {
  tsa = await startTestTsa();
  folder = tempDir('vcp-verify-real-');
  sidecar = await startSidecar({
    config: testConfig(folder.dir),
    anchoring: createAnchoringFactory({ targets: [`tsa:${tsa.url}`, 'file'], tsaCaCertPem: tsa.caCertPem }),
    log: () => {},
  });
  expect((await post(`${sidecar.url}/vcp/log`, events(20, 0))).status).toBe(201);
  expect((await post(`${sidecar.url}/vcp/anchor`, {})).status).toBe(201);
  expect((await post(`${sidecar.url}/vcp/log`, events(7, 20))).status).toBe(201); // after the last anchor
  exported = (await (await fetch(`${sidecar.url}/vcp/export`)).text()).trimEnd().split('\n');
  await writeFile(join(folder.dir, 'tsa-ca.pem'), tsa.caCertPem);
  await writeFile(join(folder.dir, 'sidecar.pub'), sidecar.context.signer.exportPublicKey('pem'));
  await writeFile(
    join(folder.dir, 'other.pub'),
    (await import('../../src/integrity/sign.ts')).generateSigningKey().exportPublicKey('pem'),
  );
}, 60_000);
afterAll(async () => {
  await sidecar?.close();
  await tsa?.close();
  folder?.cleanup();
});

async function verify(lines: string[], ...flags: string[]) {
  await writeFile(join(folder.dir, 'x.jsonl'), `${lines.join('\n')}\n`);
  const r = await runVcp(
    folder.dir,
    'verify',
    'x.jsonl',
    '--pubkey',
    'sidecar.pub',
    '--tsa-cert',
    'tsa-ca.pem',
    '--json',
    ...flags,
  );
  const report = JSON.parse(r.out);
  return {
    code: r.code,
    verdict: report.verdict as string,
    codes: report.findings.map((f: { code: string }) => f.code) as string[],
    report,
  };
}
const isEvent = (l: string) => l.startsWith('{"header"');
const editEvent = (lines: string[], k: number, f: (e: VcpEvent) => void) => {
  let seen = -1;
  return lines.map((l) => {
    if (!isEvent(l) || ++seen !== k) return l;
    const e = JSON.parse(l) as VcpEvent;
    f(e);
    return JSON.stringify(e);
  });
};

describe('a live sidecar export, anchored at a real TSA', () => {
  it('is PROVEN: complete up to 27 by the export checkpoint, externally time-stamped up to 20', async () => {
    const r = await verify(exported);
    expect(r.verdict, r.codes.join()).toBe('PROVEN');
    expect(r.code).toBe(0);
    const log = r.report.logs[0];
    expect(log.proven_up_to).toMatchObject({
      treeSize: 27,
      via: 'checkpoint',
      keyId: sidecar.context.signer.keyId,
    });
    expect(log.external_anchor).toMatchObject({ treeSize: 20 });
    expect(Date.parse(log.external_anchor.genTime)).toBeGreaterThan(Date.now() - 120_000);
    expect(r.report.summary).toMatch(
      /complete up to tree size 27, checkpoint signed at .* externally time-stamped up to 20/,
    );
  });

  it('a trust file can pin the key and the TSA instead of --pubkey and --tsa-cert', async () => {
    const trust = {
      public_keys: [sidecar.context.signer.exportPublicKey('pem')],
      tsa_certs: [tsa.caCertPem],
    };
    await writeFile(join(folder.dir, 'trust.json'), JSON.stringify(trust));
    await writeFile(join(folder.dir, 't.jsonl'), `${exported.join('\n')}\n`);
    const r = await runVcp(folder.dir, 'verify', 't.jsonl', '--trust', 'trust.json');
    expect(r.code, r.out).toBe(0);
    await writeFile(join(folder.dir, 'bad-trust.json'), JSON.stringify({ public_key: 'typo' }));
    expect((await runVcp(folder.dir, 'verify', 't.jsonl', '--trust', 'bad-trust.json')).code).toBe(2);
  });

  it('without --tsa-cert the token is unchecked and the verdict UNPROVEN (exit 3)', async () => {
    await writeFile(join(folder.dir, 'y.jsonl'), `${exported.join('\n')}\n`);
    const r = await runVcp(folder.dir, 'verify', 'y.jsonl', '--pubkey', 'sidecar.pub');
    expect(r.code).toBe(3);
    expect(r.out).toMatch(/\[tsa-token-unchecked\]/);
    expect(r.out).toMatch(/\[external-anchor-missing\]/);
  });

  it('a TSA the auditor does not trust does not count', async () => {
    const other = await startTestTsa();
    try {
      await writeFile(join(folder.dir, 'other-ca.pem'), other.caCertPem);
      await writeFile(join(folder.dir, 'z.jsonl'), `${exported.join('\n')}\n`);
      const r = await runVcp(
        folder.dir,
        'verify',
        'z.jsonl',
        '--pubkey',
        'sidecar.pub',
        '--tsa-cert',
        'other-ca.pem',
      );
      expect(r.code).not.toBe(0);
    } finally {
      await other.close();
    }
  }, 30_000);

  it('the trusted key must be the sidecar’s: another key makes it INVALID', async () => {
    await writeFile(join(folder.dir, 'w.jsonl'), `${exported.join('\n')}\n`);
    const r = await runVcp(
      folder.dir,
      'verify',
      'w.jsonl',
      '--pubkey',
      'other.pub',
      '--tsa-cert',
      'tsa-ca.pem',
    );
    expect(r.code).toBe(1);
  });

  const tampered: [string, (l: string[]) => string[], string][] = [
    [
      'price of an anchored event changed and rehashed',
      (l) =>
        editEvent(l, 3, (e) => {
          e.payload = { ...e.payload, vcp_x: 'changed' } as never;
          e.security.event_hash = computeEventHash(
            e,
            e.security.prev_hash ? { prevHash: e.security.prev_hash } : {},
          );
        }),
      'checkpoint-root-mismatch',
    ],
    [
      'an event after the last anchor changed and rehashed',
      (l) =>
        editEvent(l, 25, (e) => {
          e.payload = { ...e.payload, vcp_x: 'changed' } as never;
          e.security.event_hash = computeEventHash(
            e,
            e.security.prev_hash ? { prevHash: e.security.prev_hash } : {},
          );
        }),
      'checkpoint-root-mismatch',
    ],
    [
      'the 7 events after the last anchor deleted',
      (l) => l.filter((x, i) => !(isEvent(x) && i > 20)),
      'checkpoint-beyond-events',
    ],
    [
      'the tail and the closing checkpoint deleted',
      (l) => l.filter((x, i) => !(isEvent(x) && i > 20) && !x.startsWith('{"vcp_checkpoint"')),
      'events-missing-in-range',
    ],
    [
      'an event appended after the checkpoint',
      (l) => [...l, l[1]!.replace(/"event_id":"[^"]*"/, '"event_id":"01930000-0000-7000-8000-00000000abcd"')],
      'events-after-range',
    ],
    [
      'the anchor deleted',
      (l) => l.filter((x) => !x.startsWith('{"anchor_record"')),
      'anchor-reference-missing',
    ],
    [
      'the metadata line edited',
      (l) => [l[0]!.replace('"from":0', '"from":0,"note":"x"'), ...l.slice(1)],
      'checkpoint-metadata-mismatch',
    ],
    [
      'the TSA token swapped for garbage',
      (l) =>
        l.map((x) =>
          x.startsWith('{"anchor_record"')
            ? x.replace(/"proof":"[A-Za-z0-9+/]{40}/, (m) => `${m.slice(0, -8)}AAAAAAAA`)
            : x,
        ),
      'tsa-token-invalid',
    ],
  ];
  for (const [name, edit, code] of tampered) {
    it(`${name} → INVALID (${code})`, async () => {
      const r = await verify(edit(exported));
      expect(r.verdict, r.codes.join()).toBe('INVALID');
      expect(r.code).toBe(1);
      expect(r.codes).toContain(code);
    });
  }

  it('--sidecar: a newer log is a consistent extension of the export; a cut export against it is INVALID', async () => {
    expect((await post(`${sidecar.url}/vcp/log`, events(5, 100))).status).toBe(201);
    expect((await post(`${sidecar.url}/vcp/anchor`, {})).status).toBe(201);
    const r = await verify(exported, '--sidecar', sidecar.url);
    expect(r.verdict, r.codes.join()).toBe('PROVEN');
    expect(r.report.logs[0].consistent_with_external).toBe(32);
    // An older checkpoint kept by the auditor, against an export cut back below it.
    const cp = await (await fetch(`${sidecar.url}/vcp/checkpoint`)).text();
    await writeFile(join(folder.dir, 'kept-checkpoint.json'), cp);
    const r2 = await verify(exported, '--checkpoint', 'kept-checkpoint.json');
    expect(r2.codes).toContain('truncated');
    expect(r2.verdict).toBe('INVALID');
  }, 30_000);

  it('the exported file itself reads back byte for byte (no CRLF or BOM surprises)', async () => {
    const text = await readFile(join(folder.dir, 'x.jsonl'), 'utf8');
    expect(text.startsWith('{"vcp_export"')).toBe(true);
  });
});
