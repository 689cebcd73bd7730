/**
 * The verification contract, attacked: each variant edits a signed export as
 * someone holding the files (but not the trusted key) could, and must end in
 * the verdict docs/verification.md gives. Exports come from real sealed,
 * signed, chained events (test/helpers/signed-export.ts builds them the way
 * the sidecar does; test/verify/real-exports.test.ts does the same over
 * exports of a running sidecar, the recorder and fix-replay).
 */
import { describe, expect, it } from 'vitest';
import type { VcpEvent } from '../../src/core/types.ts';
import { signCheckpoint } from '../../src/integrity/checkpoint/index.ts';
import { computeEventHash } from '../../src/integrity/event-hash.ts';
import { generateSigningKey, type Signer } from '../../src/integrity/sign.ts';
import { classifyLine } from '../../src/verify/classify.ts';
import {
  linesOf,
  readLineBatches,
  readLines,
  SEVERITY,
  type Verdict,
  Verifier,
  type VerifyOptions,
  verifyRecords,
} from '../../src/verify/index.ts';
import { makeSignedExport, type SignedExport } from '../helpers/signed-export.ts';

const attacker = generateSigningKey();

type Edit = (x: SignedExport) => string[];
const isEvent = (l: string) => l.startsWith('{"header"');
const eventIdx = (lines: string[], k: number) =>
  lines.findIndex((l, i) => isEvent(l) && lines.slice(0, i + 1).filter(isEvent).length === k + 1);
const mapEvent = (lines: string[], k: number, f: (e: VcpEvent) => void) =>
  lines.map((l, i) => {
    if (i !== eventIdx(lines, k)) return l;
    const e = JSON.parse(l) as VcpEvent;
    f(e);
    return JSON.stringify(e);
  });
const rehash = (e: VcpEvent) => {
  e.security.event_hash = computeEventHash(e, e.security.prev_hash ? { prevHash: e.security.prev_hash } : {});
};
const resign = (e: VcpEvent, s: Signer) => {
  e.security.signature = s.sign(e.security.event_hash);
  e.security.signing_key_id = s.keyId;
};
const drop = (lines: string[], pred: (l: string, i: number) => boolean) =>
  lines.filter((l, i) => !pred(l, i));
const setPrice = (e: VcpEvent) => {
  (e.payload.trade_data as Record<string, unknown>).price = '9.9999';
};

async function verdictOf(
  lines: string[],
  opts: VerifyOptions,
): Promise<{ verdict: Verdict; codes: string[] }> {
  const r = await verifyRecords(lines, opts);
  return { verdict: r.verdict, codes: [...new Set(r.findings.map((f) => f.code))] };
}

interface Variant {
  name: string;
  edit: Edit;
  expect: Verdict;
  code?: string;
  opts?: (x: SignedExport) => VerifyOptions;
  build?: Parameters<typeof makeSignedExport>[0];
}

const trusted = (x: SignedExport): VerifyOptions => ({
  publicKeys: [x.signer.publicKey],
  allowLocalAnchors: true,
});

const variants: Variant[] = [
  { name: 'honest export', edit: (x) => x.lines, expect: 'PROVEN' },
  {
    name: 'honest, external anchoring required (default)',
    edit: (x) => x.lines,
    expect: 'UNPROVEN',
    code: 'external-anchor-missing',
    opts: (x) => ({ publicKeys: [x.signer.publicKey] }),
  },
  {
    name: 'honest, no --pubkey',
    edit: (x) => x.lines,
    expect: 'UNPROVEN',
    code: 'no-trusted-key',
    opts: () => ({ allowLocalAnchors: true }),
  },
  {
    name: 'honest, but the trusted key is another one',
    edit: (x) => x.lines,
    expect: 'INVALID',
    code: 'checkpoint-untrusted',
    opts: () => ({ publicKeys: [attacker.publicKey], allowLocalAnchors: true }),
  },
  {
    name: 'price changed, hash kept',
    edit: (x) => mapEvent(x.lines, 3, setPrice),
    expect: 'INVALID',
    code: 'hash-mismatch',
  },
  {
    name: 'price changed and rehashed',
    edit: (x) =>
      mapEvent(x.lines, 3, (e) => {
        setPrice(e);
        rehash(e);
      }),
    expect: 'INVALID',
    code: 'signature-invalid',
  },
  {
    name: 'price changed, rehashed and re-signed by another key',
    edit: (x) =>
      mapEvent(x.lines, 3, (e) => {
        setPrice(e);
        rehash(e);
        resign(e, attacker);
      }),
    expect: 'INVALID',
    code: 'unsigned-among-signed',
  },
  {
    name: 'anchors deleted, price changed, rehashed, signature removed',
    edit: (x) =>
      mapEvent(
        drop(x.lines, (l) => l.startsWith('{"anchor_record"')),
        3,
        (e) => {
          setPrice(e);
          rehash(e);
          delete e.security.signature;
        },
      ),
    expect: 'INVALID',
  },
  {
    name: 'unsigned events: anchors and checkpoint deleted, price changed and rehashed (nothing signed is left)',
    build: { eventSigner: null },
    edit: (x) =>
      mapEvent(
        drop(x.lines, (l) => !isEvent(l) && !l.startsWith('{"vcp_export"')).map((l) =>
          l.replace(/,"merkle_root":"[0-9a-f]*","anchor_reference":"[^"]*"/, ''),
        ),
        11,
        (e) => {
          setPrice(e);
          rehash(e);
        },
      ),
    expect: 'UNPROVEN',
    code: 'unauthenticated',
  },
  {
    name: 'unsigned events: price changed and rehashed, checkpoint kept',
    build: { eventSigner: null },
    edit: (x) =>
      mapEvent(x.lines, 9, (e) => {
        setPrice(e);
        rehash(e);
      }),
    expect: 'INVALID',
    code: 'checkpoint-root-mismatch',
  },
  {
    name: 'unsigned events, honest: bound by the checkpoint',
    build: { eventSigner: null },
    edit: (x) => x.lines,
    expect: 'PROVEN',
  },
  {
    name: 'forged event appended after the closing checkpoint',
    edit: (x) => {
      const e = JSON.parse(x.lines.find(isEvent)!) as VcpEvent;
      e.header.event_id = '01930000-0000-7000-8000-000000000001';
      delete e.security.prev_hash;
      rehash(e);
      resign(e, x.signer === attacker ? x.signer : attacker);
      return [...x.lines, JSON.stringify(e)];
    },
    expect: 'INVALID',
  },
  {
    name: 'event inserted in the middle with security.partition 7',
    edit: (x) => {
      const e = JSON.parse(x.lines[2]!) as VcpEvent;
      e.header.event_id = '01930000-0000-7000-8000-000000000002';
      e.security.partition = 7;
      delete e.security.merkle_index;
      return [...x.lines.slice(0, 5), JSON.stringify(e), ...x.lines.slice(5)];
    },
    expect: 'INVALID',
    code: 'undeclared-partition',
  },
  {
    name: 'events after the last anchor deleted',
    edit: (x) => drop(x.lines, (l, i) => isEvent(l) && i > eventIdx(x.lines, 8)),
    expect: 'INVALID',
    code: 'checkpoint-beyond-events',
  },
  {
    name: 'tail and closing checkpoint deleted',
    edit: (x) =>
      drop(x.lines, (l, i) => (isEvent(l) && i > eventIdx(x.lines, 8)) || l.startsWith('{"vcp_checkpoint"')),
    expect: 'INVALID',
    code: 'events-missing-in-range',
  },
  {
    name: 'tail, closing checkpoint and metadata deleted',
    edit: (x) =>
      drop(
        x.lines,
        (l, i) =>
          (isEvent(l) && i > eventIdx(x.lines, 8)) ||
          l.startsWith('{"vcp_checkpoint"') ||
          l.startsWith('{"vcp_export"'),
      ),
    expect: 'INVALID',
    code: 'checkpoint-origin-mismatch',
  },
  {
    name: 'two events swapped',
    edit: (x) => {
      const l = [...x.lines];
      [l[3], l[4]] = [l[4]!, l[3]!];
      return l;
    },
    expect: 'INVALID',
    code: 'merkle-index-mismatch',
  },
  {
    name: 'an event duplicated',
    edit: (x) => [...x.lines.slice(0, 4), x.lines[3]!, ...x.lines.slice(4)],
    expect: 'INVALID',
    code: 'duplicate-event-id',
  },
  {
    name: 'shadow Header/Payload beside header/payload',
    edit: (x) =>
      mapEvent(x.lines, 3, (e) =>
        Object.assign(e, { Header: e.header, Payload: { trade_data: { price: '9.9' } } }),
      ),
    expect: 'INVALID',
    code: 'shadow-keys',
  },
  {
    name: 'number text 2.0 in the payload',
    edit: (x) =>
      x.lines.map((l, i) =>
        i === eventIdx(x.lines, 3) ? l.replace('"trade_data":{', '"trade_data":{"n":2.0,') : l,
      ),
    expect: 'INVALID',
    code: 'non-canonical-number',
  },
  {
    name: 'integer beyond 2^53',
    edit: (x) =>
      x.lines.map((l, i) =>
        i === eventIdx(x.lines, 3)
          ? l.replace('"trade_data":{', '"trade_data":{"ref_no":12345678901234567001,')
          : l,
      ),
    expect: 'INVALID',
    code: 'non-canonical-number',
  },
  {
    name: '__proto__ key',
    edit: (x) =>
      x.lines.map((l, i) =>
        i === eventIdx(x.lines, 3) ? l.replace('"trade_data":{', '"trade_data":{"__proto__":{"x":1},') : l,
      ),
    expect: 'INVALID',
    code: 'forbidden-key',
  },
  {
    name: 'metadata edited (policy_id)',
    edit: (x) => x.lines.map((l, i) => (i === 0 ? l.replace('verify-test', 'other') : l)),
    expect: 'INVALID',
    code: 'checkpoint-metadata-mismatch',
  },
  {
    name: 'metadata range widened (to)',
    edit: (x) => x.lines.map((l, i) => (i === 0 ? l.replace('"to":12', '"to":13') : l)),
    expect: 'INVALID',
  },
  {
    name: 'closing checkpoint tree size edited',
    edit: (x) =>
      x.lines.map((l) => (l.startsWith('{"vcp_checkpoint"') ? l.replace('\\n12\\n', '\\n11\\n') : l)),
    expect: 'INVALID',
    code: 'checkpoint-untrusted',
  },
  {
    name: 'checkpoint of another log by the same key',
    edit: (x) => {
      const other = makeSignedExport({ signer: x.signer, origin: 'vcp-instrument/test/other' });
      return [...x.lines.slice(0, -1), other.lines.at(-1)!];
    },
    expect: 'INVALID',
    code: 'checkpoint-origin-mismatch',
  },
  {
    name: 'anchor root edited',
    edit: (x) =>
      x.lines.map((l) =>
        l.startsWith('{"anchor_record"')
          ? l.replace(/"merkle_root":"[0-9a-f]{64}"/, `"merkle_root":"${'ab'.repeat(32)}"`)
          : l,
      ),
    expect: 'INVALID',
  },
  {
    name: 'anchor deleted, references left',
    edit: (x) => drop(x.lines, (l) => l.startsWith('{"anchor_record"')),
    expect: 'INVALID',
    code: 'anchor-reference-missing',
  },
  {
    name: "an event's merkle_root edited",
    edit: (x) =>
      mapEvent(x.lines, 1, (e) => {
        e.security.merkle_root = 'cd'.repeat(32);
      }),
    expect: 'INVALID',
    code: 'anchor-event-mismatch',
  },
  {
    name: 'one signature stripped',
    edit: (x) => mapEvent(x.lines, 2, (e) => delete e.security.signature),
    expect: 'INVALID',
    code: 'unsigned-among-signed',
  },
  {
    name: 'all event signatures stripped, checkpoint kept',
    edit: (x) => x.lines.map((l) => (isEvent(l) ? l.replace(/,"signature":"[^"]*"/, '') : l)),
    expect: 'PROVEN',
  },
  {
    name: 'a garbled line',
    edit: (x) => [...x.lines.slice(0, 3), '{"header": ', ...x.lines.slice(3)],
    expect: 'INVALID',
    code: 'unreadable-line',
  },
  {
    name: 'an unknown line',
    edit: (x) => [...x.lines.slice(0, 3), '{"note":"trust me"}', ...x.lines.slice(3)],
    expect: 'INVALID',
    code: 'unknown-line',
  },
  {
    name: 'hash chain cut: an event removed and the chain relinked, checkpoint kept',
    edit: (x) => drop(x.lines, (_l, i) => i === eventIdx(x.lines, 5)),
    expect: 'INVALID',
  },
  { name: 'vcp-dup tree, honest', build: { mode: 'vcp-dup' }, edit: (x) => x.lines, expect: 'PROVEN' },
  {
    name: 'vcp-dup tree, last event duplicated',
    build: { mode: 'vcp-dup' },
    edit: (x) => [...x.lines.slice(0, 13), x.lines[12]!, ...x.lines.slice(13)],
    expect: 'INVALID',
  },
  {
    name: 'stream (FileSink): honest, last checkpoint after every event',
    build: { kind: 'stream', anchorEvery: 4 },
    edit: (x) => x.lines,
    expect: 'PROVEN',
  },
  {
    name: 'stream: cut after the last checkpoint leaves earlier events proven, the rest uncovered',
    build: { kind: 'stream', anchorEvery: 5 },
    edit: (x) => x.lines,
    expect: 'UNPROVEN',
    code: 'uncovered-tail',
  },
  {
    name: 'stream: last checkpoint kept, events it covers cut',
    build: { kind: 'stream', anchorEvery: 4 },
    edit: (x) => drop(x.lines, (_l, i) => i === x.lines.length - 2),
    expect: 'INVALID',
    code: 'checkpoint-beyond-events',
  },
  {
    name: 'stream: event appended after the last checkpoint',
    build: { kind: 'stream', anchorEvery: 4 },
    edit: (x) => [
      ...x.lines,
      x.lines[1]!.replace(/"event_id":"[^"]*"/, '"event_id":"01930000-0000-7000-8000-000000000003"'),
    ],
    expect: 'INVALID',
  },
];

describe('tamper suite: each edit ends in the verdict the contract gives', () => {
  it('has at least 30 variants', () => expect(variants.length).toBeGreaterThanOrEqual(30));
  // Both line forms: the builder's key order (hashed after RFC 8785 serialization), and the sinks' RFC 8785
  // texts, which the verifier hashes in place (canonical-span.ts); an edit must not slip through either path.
  for (const lineForm of ['builder', 'sinks'] as const) {
    for (const v of variants) {
      it(`${v.name} → ${v.expect}${v.code ? ` (${v.code})` : ''} [${lineForm} lines]`, async () => {
        const x = makeSignedExport({ ...v.build, lineForm });
        if (lineForm === 'sinks') {
          const rec = classifyLine(x.lines.find(isEvent)!, 2);
          expect('kind' in rec && rec.kind === 'event' && rec.canonical !== undefined).toBe(true);
        }
        const got = await verdictOf(v.edit(x), (v.opts ?? trusted)(x));
        expect(got.verdict, JSON.stringify(got.codes)).toBe(v.expect);
        if (v.code) expect(got.codes).toContain(v.code);
      });
    }
  }
});

describe('tamper suite on worker threads: the same report, finding for finding', () => {
  // Batches of 3 lines and threads from the first batch on: most events of each variant are analysed
  // on a worker and applied in order here; the report must equal the one-thread report exactly.
  for (const v of variants) {
    it(v.name, async () => {
      const x = makeSignedExport(v.build);
      const text = v.edit(x).join('\n');
      const opts = (v.opts ?? trusted)(x);
      const one = new Verifier({ ...opts, threads: 0 });
      await one.pushAll(readLines([text]));
      const many = new Verifier({ ...opts, threads: 2, threadsAfterLines: 0 });
      await many.pushBatches(readLineBatches([text], undefined, 3));
      expect(await many.finish()).toEqual(await one.finish());
      expect(many.threadFailure).toBeUndefined();
      expect(many.linesOnThreads).toBeGreaterThan(0);
    });
  }
});

describe('freshness from outside the export', () => {
  it('a newer trusted checkpoint makes a truncated export INVALID; the same size is consistent; another root is a fork', async () => {
    const x = makeSignedExport({ n: 12 });
    const cut = makeSignedExport({ n: 12, signer: x.signer });
    const note = (size: number, root = x.tree.root(size)) =>
      signCheckpoint({ origin: x.origin, treeSize: size, rootHex: root }, x.signer);
    const opts = (n: string): VerifyOptions => ({
      ...trusted(x),
      externalCheckpoints: [{ source: 'out-of-band', note: n }],
    });
    expect((await verdictOf(x.lines, opts(note(12)))).verdict).toBe('PROVEN');
    const r = await verifyRecords(x.lines, opts(note(10)));
    expect(r.verdict).toBe('PROVEN');
    expect(r.logs[0]!.consistent_with_external).toBe(10);
    expect(await verdictOf(x.lines, opts(note(20, 'ab'.repeat(32))))).toMatchObject({
      verdict: 'INVALID',
      codes: expect.arrayContaining(['truncated']),
    });
    expect(await verdictOf(x.lines, opts(note(12, cut.tree.root(12))))).toMatchObject({
      verdict: 'INVALID',
      codes: expect.arrayContaining(['external-checkpoint-mismatch']),
    });
    const forged = signCheckpoint({ origin: x.origin, treeSize: 12, rootHex: x.tree.root(12) }, attacker);
    expect((await verdictOf(x.lines, opts(forged))).codes).toContain('external-checkpoint-untrusted');
  });
});

describe('line reader', () => {
  it('refuses an over-long line without buffering it, and keeps reading after it', async () => {
    const x = makeSignedExport();
    const huge = `{"header":"${'x'.repeat(3 * 1024 * 1024)}"}`;
    const v = new Verifier(trusted(x));
    const chunks = [
      x.lines.slice(0, 3).join('\n'),
      '\n',
      huge.slice(0, 1e6),
      huge.slice(1e6),
      '\n',
      x.lines.slice(3).join('\n'),
    ];
    await v.pushAll(readLines(chunks, 1024 * 1024));
    const r = await v.finish();
    expect(r.verdict).toBe('INVALID');
    expect(r.findings.filter((f) => SEVERITY[f.code] !== 'note').map((f) => f.code)).toEqual([
      'line-too-long',
    ]);
    expect(r.findings[0]!.line).toBe(4);
    expect(r.input.events).toBe(12);
  });

  it('reads CRLF files and a last line without a newline', async () => {
    const x = makeSignedExport();
    const lines: string[] = [];
    for await (const l of readLines([x.lines.join('\r\n')])) if ('text' in l) lines.push(l.text);
    expect(lines).toEqual(x.lines);
  });
});

async function collect<T>(it: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const x of it) out.push(x);
  return out;
}

describe('line batches', () => {
  it('give the same lines whatever the chunking and batch size (UTF-8 split across chunks, CRLF, over-long lines)', async () => {
    const text = `{"a":"é€😀"}\r\n\n${'x'.repeat(2000)}\n{"b":1}\r\n{"c":"\u00ff"}`;
    const bytes = Buffer.from(text, 'utf8');
    const want = await collect(readLines([bytes], 1024));
    expect(want.map((l) => ('text' in l ? l.text : l.tooLong))).toEqual([
      '{"a":"é€😀"}',
      '',
      2000,
      '{"b":1}',
      '{"c":"ÿ"}',
    ]);
    for (let cut = 1; cut < bytes.length; cut++) {
      const chunks = [bytes.subarray(0, cut), bytes.subarray(cut)];
      for (const size of [1, 2, 5]) {
        const got = (await collect(readLineBatches(chunks, 1024, size))).flatMap(linesOf);
        expect(got).toEqual(want);
      }
    }
  });
});

describe('analysis threads', () => {
  it('a thread that cannot start fails its batches with the reason (the verifier then analyses them itself)', async () => {
    const { AnalysisPool } = await import('../../src/verify/parallel.ts');
    const { PROFILES } = await import('../../src/verify/profiles.ts');
    const broken = { ...PROFILES[0]!, name: 'no-such-profile' };
    const pool = new AnalysisPool(1, broken, { keys: new Map(), strict: false, summaries: false });
    const [batch] = await collect(readLineBatches(['{"a":1}\n']));
    await expect(pool.run(batch!)).rejects.toThrow(/no-such-profile/);
    await pool.close();
  });
});
