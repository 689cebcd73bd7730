/**
 * Evidence certificates (`vcp-certificate` v1): what `vcp verify` proves
 * from a few events, their inclusion proofs, one checkpoint and its anchor
 * records — and each way an attacker who edits the file is caught. Then a
 * certificate built from a real sidecar's API answers (as the console does)
 * whose anchor is time-stamped at a real RFC 3161 TSA: PROVEN with
 * --tsa-cert and no local-anchor allowance.
 */
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AnchorRecord } from '../../src/core/types.ts';
import { signCheckpoint } from '../../src/integrity/checkpoint/index.ts';
import { sealEvent } from '../../src/integrity/seal.ts';
import { generateSigningKey } from '../../src/integrity/sign.ts';
import { createAnchoringFactory } from '../../src/sidecar/anchor/server-adapter.ts';
import { type Sidecar, startSidecar } from '../../src/sidecar/server.ts';
import { CertificateVerifier } from '../../src/verify/certificate.ts';
import type { VerifyOptions } from '../../src/verify/index.ts';
import { buildCertificate } from '../../ui/lib/certificate.ts';
import { parseCheckpointText } from '../../ui/lib/checkpoint.ts';
import { startTestTsa, type TestTsa } from '../fixtures/tsa.ts';
import { runVcp } from '../helpers/cli.ts';
import { makeSignedExport } from '../helpers/signed-export.ts';
import { post, tempDir, testConfig, v11Event } from '../sidecar/helpers.ts';

const ex = makeSignedExport({ n: 16, anchorEvery: 8 });
const anchor = ex.anchors[0] as AnchorRecord & { checkpoint: string };
const note = anchor.checkpoint;
const cp = parseCheckpointText(note.slice(0, note.lastIndexOf('\n\n') + 1));
const picked = [1, 4, 6];

function certificate(): string[] {
  return buildCertificate({
    subject: { kind: 'trace', id: ex.events[0]!.header.trace_id },
    checkpointNote: note,
    checkpoint: cp,
    items: picked.map((i) => ({
      event: JSON.parse(JSON.stringify(ex.events[i])),
      leafIndex: i,
      proof: ex.tree.inclusionProof(i, anchor.tree_size) as string[],
    })),
    anchors: [anchor],
    createdAt: '2026-12-06T00:00:00.000Z',
  })
    .trimEnd()
    .split('\n');
}

async function verify(lines: string[], opts: VerifyOptions = {}) {
  const v = new CertificateVerifier({ publicKeys: [ex.signer.publicKey], allowLocalAnchors: true, ...opts });
  lines.forEach((text, i) => {
    v.push({ line: i + 1, text });
  });
  const r = await v.finish();
  return {
    verdict: r.verdict,
    codes: r.findings.filter((f) => f.code !== 'not-hashed').map((f) => f.code),
    r,
  };
}

const edit = (lines: string[], at: number, fn: (v: Record<string, any>) => void) => {
  const out = [...lines];
  const v = JSON.parse(out[at]!);
  fn(v);
  out[at] = JSON.stringify(v);
  return out;
};

describe('evidence certificate', () => {
  it('PROVEN: the events are in the log the trusted checkpoint signs (inclusion, not completeness, says the summary)', async () => {
    const { verdict, r, codes } = await verify(certificate());
    expect(verdict).toBe('PROVEN');
    expect(codes).toEqual(['local-anchor-accepted']);
    expect(r.summary).toContain('not that no other events exist');
    expect(r.checks.inclusion.passed).toBe(3);
    expect(r.logs[0]!.proven_up_to?.treeSize).toBe(8);
  });

  it('UNPROVEN without a trusted key, or without accepting a local anchor', async () => {
    expect((await verify(certificate(), { publicKeys: [] })).verdict).toBe('UNPROVEN');
    const strict = await verify(certificate(), { allowLocalAnchors: false });
    expect(strict.verdict).toBe('UNPROVEN');
    expect(strict.codes).toContain('external-anchor-missing');
  });

  const cases: [string, (l: string[]) => string[], string][] = [
    ['an edited event', (l) => edit(l, 2, (v) => (v.payload.trade_data.price = '9.9999')), 'hash-mismatch'],
    [
      'an edited event whose hash was recomputed too',
      (l) =>
        edit(l, 2, (v) => {
          const resealed = sealEvent({ header: v.header, payload: { ...v.payload, x: 1 } } as never);
          v.payload = resealed.payload;
          v.security.event_hash = resealed.security.event_hash;
          delete v.security.signature;
        }),
      'inclusion-proof-invalid',
    ],
    [
      'a flipped proof hash',
      (l) =>
        edit(l, 3, (v) => {
          // Always a different first digit: replacing it with a fixed '0' changed nothing when it was '0' already.
          const p0: string = v.vcp_inclusion.proof[0];
          v.vcp_inclusion.proof[0] = `${p0[0] === '0' ? '1' : '0'}${p0.slice(1)}`;
        }),
      'inclusion-proof-invalid',
    ],
    ['a removed proof', (l) => l.filter((_, i) => i !== 3), 'inclusion-proof-missing'],
    [
      'proofs swapped between events',
      (l) => {
        const o = [...l];
        [o[3], o[5]] = [o[5]!, o[3]!];
        return o;
      },
      'inclusion-proof-missing',
    ],
    [
      'another leaf index',
      (l) => edit(l, 3, (v) => (v.vcp_inclusion.leaf_index = 2)),
      'merkle-index-mismatch',
    ],
    [
      'a proof to another tree size',
      (l) => edit(l, 3, (v) => (v.vcp_inclusion.tree_size = 9)),
      'inclusion-proof-invalid',
    ],
    [
      'a checkpoint re-signed by another key',
      (l) =>
        edit(
          l,
          1,
          (v) =>
            (v.vcp_checkpoint.note = signCheckpoint(
              { origin: cp.origin, treeSize: 8, rootHex: cp.rootHex },
              generateSigningKey(),
            )),
        ),
      'checkpoint-untrusted',
    ],
    ['two checkpoints', (l) => [l[0]!, l[1]!, l[1]!, ...l.slice(2)], 'bad-metadata'],
    [
      'another origin in the metadata',
      (l) => edit(l, 0, (v) => (v.vcp_certificate.origin = 'elsewhere')),
      'checkpoint-origin-mismatch',
    ],
    [
      'another tree size in the metadata',
      (l) => edit(l, 0, (v) => (v.vcp_certificate.tree_size = 16)),
      'checkpoint-metadata-mismatch',
    ],
    [
      'an anchor over another root',
      (l) => edit(l, l.length - 1, (v) => (v.anchor_record.merkle_root = 'ab'.repeat(32))),
      'anchor-root-mismatch',
    ],
    [
      'a duplicated event with its proof',
      (l) => [...l.slice(0, 4), l[2]!, l[3]!, ...l.slice(4)],
      'duplicate-event-id',
    ],
    [
      'an export metadata line inside',
      (l) => [...l.slice(0, 2), JSON.stringify({ vcp_export: ex.meta }), ...l.slice(2)],
      'bad-metadata',
    ],
    ['a proof line with nothing before it', (l) => [l[0]!, l[3]!, l[1]!, ...l.slice(2)], 'unknown-line'],
    ['the metadata line not first', (l) => [l[1]!, l[0]!, ...l.slice(2)], 'bad-metadata'],
    [
      'a non-canonical number',
      (l) => [l[0]!, l[1]!, l[2]!, l[3]!.replace(/"leaf_index":(\d+)/, '"leaf_index":$1.0'), ...l.slice(4)],
      'unreadable-line',
    ],
  ];
  for (const [what, change, code] of cases)
    it(`INVALID: ${what} (${code})`, async () => {
      const { verdict, codes } = await verify(change(certificate()));
      expect(codes).toContain(code);
      expect(verdict).toBe('INVALID');
    });

  it('no checkpoint at all: the events are bound to nothing (UNPROVEN), never PROVEN', async () => {
    const { verdict, codes } = await verify(certificate().filter((l) => !l.startsWith('{"vcp_checkpoint"')));
    expect(verdict).toBe('UNPROVEN');
    expect(codes).toContain('no-checkpoint');
  });
});

describe('evidence certificate from a real sidecar anchored at a real RFC 3161 TSA', () => {
  let tsa: TestTsa;
  let sidecar: Sidecar;
  let folder: ReturnType<typeof tempDir>;
  beforeAll(async () => {
    tsa = await startTestTsa();
    folder = tempDir('vcp-cert-tsa-');
    sidecar = await startSidecar({
      config: testConfig(folder.dir),
      anchoring: createAnchoringFactory({ targets: [`tsa:${tsa.url}`, 'file'], tsaCaCertPem: tsa.caCertPem }),
      log: () => {},
    });
    expect(
      (
        await post(
          `${sidecar.url}/vcp/log`,
          Array.from({ length: 10 }, (_, i) => sealEvent(v11Event(i))),
        )
      ).status,
    ).toBe(201);
    expect((await post(`${sidecar.url}/vcp/anchor`, {})).status).toBe(201);
    await writeFile(join(folder.dir, 'tsa-ca.pem'), tsa.caCertPem);
    await writeFile(join(folder.dir, 'sidecar.pub'), sidecar.context.signer.exportPublicKey('pem'));
  }, 60_000);
  afterAll(async () => {
    await sidecar?.close();
    await tsa?.close();
    folder?.cleanup();
  });

  it('built from the API answers as the console builds it: PROVEN with --tsa-cert, externally time-stamped', async () => {
    // biome-ignore lint/suspicious/noExplicitAny: API answers, read as the browser reads them
    const get = async (p: string): Promise<any> => (await fetch(`${sidecar.url}${p}`)).json();
    const checkpoint = await get('/vcp/checkpoint');
    const { anchors } = await get('/vcp/anchors');
    const items = [];
    for (const i of [2, 7]) {
      const stored = await sidecar.context.store.getByIndex(i);
      const id = stored!.eventId;
      const event = await get(`/vcp/events/${id}`);
      const proof = await get(`/vcp/events/${id}/proof?size=${checkpoint.tree_size}`);
      items.push({ event, leafIndex: proof.merkle_index, proof: proof.proof });
    }
    const text = buildCertificate({
      subject: { kind: 'event', id: 'two' },
      checkpointNote: checkpoint.note,
      checkpoint: parseCheckpointText(checkpoint.note.slice(0, checkpoint.note.lastIndexOf('\n\n') + 1)),
      items,
      anchors: anchors.filter((a: AnchorRecord) => a.tree_size === checkpoint.tree_size),
      createdAt: new Date().toISOString(),
    });
    await writeFile(join(folder.dir, 'cert.jsonl'), text);
    const ok = await runVcp(
      folder.dir,
      'verify',
      'cert.jsonl',
      '--pubkey',
      'sidecar.pub',
      '--tsa-cert',
      'tsa-ca.pem',
    );
    expect(ok.out).toContain('externally time-stamped');
    expect(ok.code).toBe(0);
    const html = await runVcp(
      folder.dir,
      'verify',
      'cert.jsonl',
      '--pubkey',
      'sidecar.pub',
      '--tsa-cert',
      'tsa-ca.pem',
      '--html',
      'cert.html',
    );
    expect(html.code).toBe(0);
    const noTsa = await runVcp(folder.dir, 'verify', 'cert.jsonl', '--pubkey', 'sidecar.pub');
    expect(noTsa.code).toBe(3);
    const usage = await runVcp(
      folder.dir,
      'verify',
      'cert.jsonl',
      '--pubkey',
      'sidecar.pub',
      '--checkpoint',
      'cert.jsonl',
    );
    expect(usage.code).toBe(2);
  });
});
