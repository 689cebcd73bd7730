/**
 * Fuzzing the export reader and verifier: random edits of a real signed
 * export never make the verifier throw, and an edit to anything a signature
 * covers (header, payload, hashes, signatures, metadata, checkpoints) or to
 * the lines' order never comes out PROVEN. Seeded, so a failure reproduces.
 */
import { describe, expect, it } from 'vitest';
import { readLines, Verifier } from '../../src/verify/index.ts';
import { prng as rng } from '../helpers/prng.ts';
import { makeSignedExport } from '../helpers/signed-export.ts';

const x = makeSignedExport({ n: 10, anchorEvery: 4 });
const opts = { publicKeys: [x.signer.publicKey], allowLocalAnchors: true };

async function verify(text: string) {
  const v = new Verifier(opts);
  await v.pushAll(readLines([text], 64 * 1024));
  return v.finish();
}

/** Character ranges of a line that a signature covers. */
function coveredSpans(line: string): [number, number][] {
  if (line.startsWith('{"vcp_export"') || line.startsWith('{"vcp_checkpoint"')) return [[0, line.length]];
  if (!line.startsWith('{"header"')) return [];
  const spans: [number, number][] = [];
  const payloadAt = line.indexOf(',"payload":');
  const securityAt = line.indexOf(',"security":');
  spans.push([0, payloadAt], [payloadAt, securityAt]); // header and payload, as written
  for (const key of ['event_hash', 'prev_hash', 'signature']) {
    const at = line.indexOf(`"${key}":"`);
    if (at >= 0) spans.push([at + key.length + 4, line.indexOf('"', at + key.length + 4)]);
  }
  return spans;
}

describe('export reader fuzz', () => {
  it('the honest export is PROVEN (the baseline the mutations start from)', async () => {
    expect((await verify(x.lines.join('\n'))).verdict).toBe('PROVEN');
  });

  it('300 single-character edits inside signed content: never thrown, never PROVEN', async () => {
    const rand = rng(0x5eed);
    const targets = x.lines.map((l, i) => ({ i, spans: coveredSpans(l) })).filter((t) => t.spans.length);
    for (let k = 0; k < 300; k++) {
      const t = targets[Math.floor(rand() * targets.length)]!;
      const [a, b] = t.spans[Math.floor(rand() * t.spans.length)]!;
      const pos = a + Math.floor(rand() * (b - a));
      const line = x.lines[t.i]!;
      const old = line[pos]!;
      let ch = String.fromCharCode(32 + Math.floor(rand() * 95));
      if (ch === old) ch = old === 'a' ? 'b' : 'a';
      const lines = [...x.lines];
      lines[t.i] = line.slice(0, pos) + ch + line.slice(pos + 1);
      const r = await verify(lines.join('\n'));
      expect(
        r.verdict,
        `line ${t.i + 1} pos ${pos}: ${JSON.stringify(old)} → ${JSON.stringify(ch)}`,
      ).not.toBe('PROVEN');
    }
  });

  it('200 structural edits (drop, duplicate, swap, truncate lines; random bytes): never thrown, never PROVEN', async () => {
    const rand = rng(0xbad);
    for (let k = 0; k < 200; k++) {
      const lines = [...x.lines];
      const i = Math.floor(rand() * lines.length);
      const j = Math.floor(rand() * lines.length);
      const op = k % 5;
      if (op === 0) lines.splice(i, 1);
      else if (op === 1) {
        // A verbatim copy of a signed statement (anchor, checkpoint) adds nothing; copies of events and metadata do.
        if (!/^\{"(header|vcp_export)/.test(lines[i]!)) continue;
        lines.splice(i, 0, lines[i]!);
      } else if (op === 2) {
        if (i === j || lines[i] === lines[j]) continue;
        [lines[i], lines[j]] = [lines[j]!, lines[i]!];
        // Anchor and checkpoint lines may come in any order: only swaps that move an event or metadata line matter.
        if (
          !lines[i]!.startsWith('{"header"') &&
          !lines[j]!.startsWith('{"header"') &&
          !lines[i]!.startsWith('{"vcp_export"') &&
          !lines[j]!.startsWith('{"vcp_export"')
        )
          continue;
      } else if (op === 3) lines[i] = lines[i]!.slice(0, Math.floor(rand() * lines[i]!.length));
      else
        lines.splice(
          i,
          0,
          Buffer.from(
            Array.from({ length: 1 + Math.floor(rand() * 200) }, () => Math.floor(rand() * 256)),
          ).toString('latin1'),
        );
      const r = await verify(lines.join('\n'));
      expect(r.verdict, `op ${op} at ${i}/${j}`).not.toBe('PROVEN');
    }
  });

  it('random JSON-ish lines never throw', async () => {
    const rand = rng(7);
    const atoms = [
      '{',
      '}',
      '[',
      ']',
      ':',
      ',',
      '"header"',
      '"__proto__"',
      '"constructor"',
      '"prototype"',
      '1e999',
      '-0',
      '2.0',
      'null',
      '"\\ud800"',
      '"x"',
      '123456789012345678901',
      '{"vcp_export":',
      '{"vcp_checkpoint":{"note":',
      '{"anchor_record":',
    ];
    for (let k = 0; k < 300; k++) {
      const line = Array.from(
        { length: 1 + Math.floor(rand() * 40) },
        () => atoms[Math.floor(rand() * atoms.length)],
      ).join('');
      const r = await verify([x.lines[0], line, ...x.lines.slice(1)].join('\n'));
      expect(r.verdict).not.toBe('PROVEN');
    }
  });
});
